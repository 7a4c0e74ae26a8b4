// The local image store: container images on this host's disk, no registry.
//
// --image_store_dir holds images in either of two forms, found by name:
//  - an OCI image layout: a directory `<dir>/<name>` (for "busybox:1.35",
//    `<dir>/busybox`) with oci-layout, index.json and blobs/sha256/...; the
//    tag is matched against the manifests' "org.opencontainers.image.ref.name"
//    annotation ("1.35" or "busybox:1.35"; a sole manifest without that
//    annotation matches any tag). An image index yields the manifest of this
//    host's platform (linux/amd64 on x86-64);
//  - a `docker save` tarball `<dir>/<name>.tar` (e.g. `<dir>/busybox.tar`),
//    whose manifest.json RepoTags name it ("busybox:latest"; a sole image
//    without RepoTags matches any tag). It is extracted once into
//    `<cache_dir>/archives/<sha256 hex of the tarball>/`.
// A reference without a tag means ":latest".
//
// Blobs are checked against their digests: in an OCI layout every blob (and
// its size); in a docker tarball the config when its file name is its digest,
// and each layer against its name ("blobs/sha256/<hex>", newer docker) or its
// rootfs.diff_ids entry (older docker's uncompressed "<id>/layer.tar").
// A layer is checked when it is unpacked, not again on a cache hit.
//
// Layers (tar, optionally compressed) are unpacked once into
// `<cache_dir>/layers/<sha256 hex>/rootfs`, keyed by the digest of the layer
// blob, atomically (unpacked into a temporary directory, then renamed), so
// that concurrent provisioners in several processes never see half a layer.
// OCI whiteouts are converted to overlayfs' form while unpacking:
// `.wh.NAME` becomes a 0/0 character device NAME, `.wh..wh..opq` sets the
// trusted.overlay.opaque xattr on its directory. Unpacking therefore needs
// root (CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs), GNU tar and
// sha256sum.
//
// Thread-safety: one image_store object is used by one thread at a time (it
// remembers the images it read); several objects, in several processes and
// threads, may share one cache directory (it is shared through atomic
// renames).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace dcos::isolation {

/// What the image says about running it (OCI config / docker config).
struct image_config {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env; // KEY=VALUE
  std::string working_dir;      // empty: "/"
  std::string user;             // as in the config; may be empty
};

struct provisioned_image {
  std::string reference;           // as asked for, e.g. "busybox:latest"
  std::string manifest_digest;     // "sha256:..."; docker: the config's
                                   // digest (docker's image id)
  std::vector<std::string> layers; // unpacked layer roots, lowest first
  image_config config;
};

class image_store {
public:
  /// REQUIRES: both paths are absolute. The cache directory is created on
  /// first use.
  image_store(std::string store_dir, std::string cache_dir);

  /// Finds `reference` in the store and unpacks its layers that are not
  /// cached yet. Errors: invalid_argument (a reference that is no name
  /// below the store, e.g. "../x"), not_found (naming the reference and the
  /// paths tried, or the tag and the index searched), corrupt_payload (a
  /// blob whose digest does not match, a bad manifest naming the field),
  /// io_error.
  caf::expected<provisioned_image> provision(const std::string& reference);

  const std::string& store_dir() const noexcept { return store_dir_; }

private:
  std::string store_dir_;
  std::string cache_dir_;
  // reference -> (store signature, image): an image whose index or tarball
  // did not change is not read again.
  std::map<std::string, std::pair<std::string, provisioned_image>> known_;
};

} // namespace dcos::isolation
