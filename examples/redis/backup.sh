# Snapshots the primary (BGSAVE, waiting for it to end) and copies the dump
# to BACKUP_DIR/BACKUP_NAME/dump.rdb, replacing it whole.
set -e
port=$(cat data/port)
cli() { redis-cli -h "$HOST" -p "$port" "$@"; }
persistence() { cli INFO persistence | tr -d '\r' | sed -n "s/^$1://p"; }
# A snapshot under way (save 60 1) refuses BGSAVE: wait, then ask again.
until cli BGSAVE | grep -q "started"; do sleep 0.2; done
while [ "$(persistence rdb_bgsave_in_progress)" != 0 ]; do sleep 0.2; done
if [ "$(persistence rdb_last_bgsave_status)" != ok ]; then
  echo "backup: BGSAVE failed" >&2
  exit 1
fi
dest="$BACKUP_DIR/$BACKUP_NAME"
mkdir -p "$dest"
cp data/dump.rdb "$dest/dump.rdb.partial"
mv "$dest/dump.rdb.partial" "$dest/dump.rdb"
echo "backup: $(persistence rdb_saves) snapshots so far; copied to $dest"
