# Snapshots the primary (BGSAVE, waiting for it to end) and copies the dump
# to BACKUP_DIR/BACKUP_NAME/dump.rdb, replacing it whole. Fails (and the
# plan's step is tried again after a backoff) if the primary does not
# answer within a minute.
set -e
port=$(cat data/port)
cli() { redis-cli -h "$HOST" -p "$port" "$@"; }
persistence() { cli INFO persistence | tr -d '\r' | sed -n "s/^$1://p"; }
# Runs the command "$@" until it succeeds, 300 times 0.2 s at most.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 300 ]; then
      echo "backup: the primary at $HOST:$port does not answer" >&2
      exit 1
    fi
    sleep 0.2
  done
}
started() { cli BGSAVE | grep -q "started"; }
saved() { [ "$(persistence rdb_bgsave_in_progress)" = 0 ]; }
# A snapshot under way (save 60 1) refuses BGSAVE: wait, then ask again.
retry started
retry saved
if [ "$(persistence rdb_last_bgsave_status)" != ok ]; then
  echo "backup: BGSAVE failed" >&2
  exit 1
fi
dest="$BACKUP_DIR/$BACKUP_NAME"
mkdir -p "$dest"
cp data/dump.rdb "$dest/dump.rdb.partial"
mv "$dest/dump.rdb.partial" "$dest/dump.rdb"
echo "backup: copied to $dest"
