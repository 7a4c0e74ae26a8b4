# Starts the primary. Its port goes on the pod's volume for the backup and
# restore tasks, which share the volume but not the server's environment.
set -e
echo "$TASK_NAME" >> data/starts
echo "$PORT_REDIS" > data/port
exec redis-server redis.conf --bind "$HOST"
