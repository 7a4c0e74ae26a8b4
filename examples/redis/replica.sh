# Starts a replica of the primary, whose address the scheduler's API gives
# (/v1/endpoints/redis), once the primary has one.
set -e
: "${SCHEDULER_API_HOSTNAME:?the scheduler did not say where its API is}"
: "${SCHEDULER_API_PORT:?the scheduler did not say where its API is}"
echo "$TASK_NAME" >> data/starts
echo "$PORT_REDIS" > data/port
api="http://$SCHEDULER_API_HOSTNAME:$SCHEDULER_API_PORT/v1/endpoints/redis"
primary=""
while [ -z "$primary" ]; do
  primary=$(curl -sf "$api" | sed -n 's/.*"address":\["\([^"]*\)".*/\1/p') || true
  [ -n "$primary" ] || sleep 1
done
exec redis-server redis.conf --bind "$HOST" \
  --replicaof "${primary%:*}" "${primary##*:}"
