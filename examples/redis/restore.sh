# Loads BACKUP_DIR/BACKUP_NAME/dump.rdb into the primary: puts it on the
# pod's volume and stops the server without saving; the scheduler starts
# the server again in place (its recovery), on the restored dump, and the
# replicas resynchronise from it. Fails if there is no such backup or the
# primary does not answer within a minute.
set -e
src="$BACKUP_DIR/$BACKUP_NAME/dump.rdb"
if [ ! -f "$src" ]; then
  echo "restore: no backup at $src" >&2
  exit 1
fi
port=$(cat data/port)
cli() { redis-cli -h "$HOST" -p "$port" "$@"; }
idle() {
  [ "$(cli INFO persistence | tr -d '\r' |
       sed -n 's/^rdb_bgsave_in_progress://p')" = 0 ]
}
# No snapshot may overwrite the restored dump before the server stops.
cli CONFIG SET save "" | grep -q OK || {
  echo "restore: the primary at $HOST:$port does not answer" >&2
  exit 1
}
tries=0
until idle; do
  tries=$((tries + 1))
  if [ "$tries" -ge 300 ]; then
    echo "restore: the primary's snapshot does not end" >&2
    exit 1
  fi
  sleep 0.2
done
cp "$src" data/dump.rdb.restoring
mv data/dump.rdb.restoring data/dump.rdb
cli SHUTDOWN NOSAVE > /dev/null 2>&1 || true
echo "restore: $src loaded"
