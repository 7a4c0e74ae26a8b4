#!/bin/sh
# Builds a tiny two-layer busybox image from the host's /bin/busybox (Debian's
# busybox-static), with no downloads, in both forms the image store reads:
#
#   OUT_DIR/busybox      an OCI image layout (oci-layout, index.json tagged
#                        "latest", blobs/sha256/: gzip layers, config,
#                        manifest)
#   OUT_DIR/busybox.tar  a `docker save` tarball (manifest.json tagged
#                        "busybox:latest", <config digest>.json,
#                        <diff id>/layer.tar uncompressed, repositories)
#
# Layer 1: /bin/busybox and applet symlinks, empty /proc /sys /dev /tmp /etc
#          /root /mnt, /etc/passwd and /etc/group with root, /etc/motd, and
#          /var/cache/stale.
# Layer 2: deletes /etc/motd (a `.wh.motd` whiteout), makes /var/cache opaque
#          (`.wh..wh..opq`, hiding stale) with a new /var/cache/fresh, and adds
#          /etc/image-release containing "busybox-test".
#
# Usage: make_busybox_image.sh OUT_DIR
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1
busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
  echo "$0: $busybox is missing (apt-get install busybox-static)" >&2
  exit 1
fi

# Modes in the layers must not depend on the caller's umask.
umask 022
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/make-busybox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Same bytes on every run (GNU tar): sorted, owned by root, time zero.
det_tar() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "$@"
}

sha256() {
  sha256sum "$1" | cut -d' ' -f1
}

size() {
  stat -c %s "$1"
}

# -- layer contents ---------------------------------------------------------

l1=$work/layer1
mkdir -p "$l1/bin" "$l1/proc" "$l1/sys" "$l1/dev" "$l1/tmp" "$l1/etc" \
  "$l1/root" "$l1/mnt" "$l1/var/cache"
chmod 1777 "$l1/tmp"
chmod 700 "$l1/root"
cp "$busybox" "$l1/bin/busybox"
applets=$("$busybox" --list)
for applet in sh ls cat echo ps hostname id sleep true false mount ip wget \
              nc ping head grep mkdir touch env dd yes; do
  if printf '%s\n' "$applets" | grep -qx "$applet"; then
    ln -s busybox "$l1/bin/$applet"
  fi
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$l1/etc/passwd"
echo 'root:x:0:' > "$l1/etc/group"
echo 'deleted by layer 2' > "$l1/etc/motd"
echo 'hidden by layer 2' > "$l1/var/cache/stale"

l2=$work/layer2
mkdir -p "$l2/etc" "$l2/var/cache"
: > "$l2/etc/.wh.motd"
: > "$l2/var/cache/.wh..wh..opq"
echo 'busybox-test' > "$l2/etc/image-release"
echo 'added by layer 2' > "$l2/var/cache/fresh"

# -- layer blobs ------------------------------------------------------------

for n in 1 2; do
  det_tar -C "$work/layer$n" -cf "$work/layer$n.tar" .
  gzip -n -9 -c "$work/layer$n.tar" > "$work/layer$n.tar.gz"
done
diff1=$(sha256 "$work/layer1.tar")
diff2=$(sha256 "$work/layer2.tar")

case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

# Docker and OCI configs share these fields; the diff ids are the digests of
# the uncompressed layers in both.
config=$work/config.json
cat > "$config" <<EOF
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$diff1","sha256:$diff2"]},"history":[{"created_by":"make_busybox_image.sh: busybox"},{"created_by":"make_busybox_image.sh: whiteouts"}]}
EOF
config_digest=$(sha256 "$config")

# -- OCI image layout -------------------------------------------------------

oci=$out/busybox
rm -rf "$oci"
mkdir -p "$oci/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"

# Copies $1 into the blobs and prints its descriptor with media type $2.
add_blob() {
  digest=$(sha256 "$1")
  cp "$1" "$oci/blobs/sha256/$digest"
  printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' \
    "$2" "$digest" "$(size "$1")"
}

layer_type=application/vnd.oci.image.layer.v1.tar+gzip
manifest=$work/manifest.json
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s,%s]}\n' \
  "$(add_blob "$config" application/vnd.oci.image.config.v1+json)" \
  "$(add_blob "$work/layer1.tar.gz" $layer_type)" \
  "$(add_blob "$work/layer2.tar.gz" $layer_type)" > "$manifest"
manifest_digest=$(sha256 "$manifest")
cp "$manifest" "$oci/blobs/sha256/$manifest_digest"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}\n' \
  "$manifest_digest" "$(size "$manifest")" > "$oci/index.json"

# -- docker save tarball ----------------------------------------------------

docker=$work/docker
mkdir -p "$docker/$diff1" "$docker/$diff2"
cp "$config" "$docker/$config_digest.json"
cp "$work/layer1.tar" "$docker/$diff1/layer.tar"
cp "$work/layer2.tar" "$docker/$diff2/layer.tar"
printf '[{"Config":"%s.json","RepoTags":["busybox:latest"],"Layers":["%s/layer.tar","%s/layer.tar"]}]\n' \
  "$config_digest" "$diff1" "$diff2" > "$docker/manifest.json"
printf '{"busybox":{"latest":"%s"}}\n' "$diff2" > "$docker/repositories"
# Members without a "./" prefix, as docker writes them.
(cd "$docker" && det_tar -cf "$work/busybox.tar" -- *)
mv "$work/busybox.tar" "$out/busybox.tar"

echo "$oci"
echo "$out/busybox.tar"
