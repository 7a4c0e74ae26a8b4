// The local image store against a real two-layer busybox image, made at test
// time by make_busybox_image.sh as an OCI layout and as a docker-save
// tarball: layers, config, whiteouts, the cache, corrupt and missing images,
// and the layers assembled by a real overlayfs mount.
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/subprocess.hpp"
#include "linux/image_store.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/skip.hpp"

using namespace dcos;
using namespace dcos::test;
using dcos::isolation::image_store;
using dcos::isolation::provisioned_image;
namespace fs = std::filesystem;

namespace {

const std::string path_env = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

// Runs `argv` and returns its status (and its stdout in `out`, if given).
int run(std::vector<std::string> argv, std::string* out = nullptr) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.capture_stdout = out != nullptr;
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  if (out != nullptr) {
    auto text = p->read_all(std::chrono::minutes(1));
    DCOS_REQUIRE_OK(text);
    *out = *text;
  }
  return p->wait();
}

std::string sha256_of(const std::string& path) {
  std::string out;
  REQUIRE(run({"sha256sum", path}, &out) == 0);
  return out.substr(0, 64);
}

google::protobuf::Struct parse(const std::string& path) {
  google::protobuf::Struct doc;
  auto err = from_json(read_file(path), &doc, path);
  REQUIRE_MESSAGE(!err, describe(err));
  return doc;
}

// "sha256:<hex>" → "<hex>".
std::string hex_of(const std::string& digest) {
  REQUIRE(digest.starts_with("sha256:"));
  return digest.substr(7);
}

std::string host_architecture() {
  utsname u;
  REQUIRE(::uname(&u) == 0);
  std::string machine = u.machine;
  return machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64"
                                                              : machine;
}

ino_t inode_of(const std::string& path) {
  struct stat st;
  REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path);
  return st.st_ino;
}

std::string opaque_xattr(const std::string& dir) {
  char value[8] = {};
  auto n = ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", value,
                       sizeof value);
  return n < 0 ? std::string{} : std::string(value, static_cast<size_t>(n));
}

// The image of make_busybox_image.sh, one store per form: `oci` holds the
// layout `busybox`, `docker` the tarball `busybox.tar`.
struct images {
  scratch_dir tmp;
  std::string oci = tmp / "oci";
  std::string docker = tmp / "docker";

  images() {
    const char* script = std::getenv("DCOS_MAKE_IMAGE");
    REQUIRE_MESSAGE(script != nullptr, "DCOS_MAKE_IMAGE is not set");
    auto out = tmp / "out";
    std::string printed;
    REQUIRE_MESSAGE(run({script, out}, &printed) == 0,
                    script << " failed (is busybox-static installed?)");
    fs::create_directories(oci);
    fs::create_directories(docker);
    fs::rename(out + "/busybox", oci + "/busybox");
    fs::rename(out + "/busybox.tar", docker + "/busybox.tar");
  }

  std::string layout() const { return oci + "/busybox"; }

  // The digest of the layout's sole manifest.
  std::string manifest_digest() const {
    auto index = parse(layout() + "/index.json");
    return index.fields()
      .at("manifests")
      .list_value()
      .values(0)
      .struct_value()
      .fields()
      .at("digest")
      .string_value();
  }

  // The layout's sole manifest, parsed.
  google::protobuf::Struct manifest() const {
    return parse(layout() + "/blobs/sha256/" + hex_of(manifest_digest()));
  }

  // A copy of the OCI store, for tests that break or rearrange it.
  std::string copy_oci(const std::string& name) const {
    auto dir = tmp / name;
    fs::copy(oci, dir, fs::copy_options::recursive);
    return dir;
  }
};

provisioned_image provision(image_store& store, const std::string& ref) {
  auto image = store.provision(ref);
  DCOS_REQUIRE_OK(image);
  return std::move(*image);
}

caf::error provision_error(image_store& store, const std::string& ref) {
  auto image = store.provision(ref);
  REQUIRE_FALSE_MESSAGE(image, ref << " was provisioned");
  return image.error();
}

// What make_busybox_image.sh put into its two layers.
void check_busybox(const provisioned_image& image, const std::string& cache) {
  REQUIRE(image.layers.size() == 2);
  for (const auto& layer : image.layers) {
    CHECK(layer.starts_with(cache + "/layers/"));
    CHECK(layer.ends_with("/rootfs"));
    CHECK(fs::is_directory(layer));
  }
  const auto& bottom = image.layers[0];
  const auto& top = image.layers[1];
  CHECK(fs::is_regular_file(bottom + "/bin/busybox"));
  CHECK(fs::is_symlink(bottom + "/bin/sh"));
  CHECK(fs::is_regular_file(bottom + "/etc/motd"));
  CHECK(fs::is_directory(bottom + "/proc"));
  CHECK(read_file(top + "/etc/image-release") == "busybox-test\n");

  // .wh.motd became a 0/0 character device motd.
  CHECK_FALSE(fs::exists(fs::symlink_status(top + "/etc/.wh.motd")));
  struct stat st;
  REQUIRE(::lstat((top + "/etc/motd").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(::major(st.st_rdev) == 0);
  CHECK(::minor(st.st_rdev) == 0);

  // .wh..wh..opq became the opaque xattr of its directory.
  CHECK_FALSE(fs::exists(fs::symlink_status(top + "/var/cache/.wh..wh..opq")));
  CHECK(opaque_xattr(top + "/var/cache") == "y");
  CHECK(opaque_xattr(top + "/etc").empty());

  CHECK(image.config.cmd == std::vector<std::string>{"/bin/sh"});
  CHECK(image.config.env == std::vector<std::string>{path_env});
  CHECK(image.config.working_dir == "/");
  CHECK(image.config.entrypoint.empty());
  CHECK(image.config.user.empty());
  CHECK(image.manifest_digest.starts_with("sha256:"));
}

// A second provision unpacks nothing: same paths, same directories.
void check_cache_hit(image_store& store, const provisioned_image& first) {
  std::vector<ino_t> inodes;
  std::vector<fs::file_time_type> mtimes;
  for (const auto& layer : first.layers) {
    inodes.push_back(inode_of(layer));
    mtimes.push_back(fs::last_write_time(layer));
  }
  auto again = provision(store, first.reference);
  CHECK(again.layers == first.layers);
  CHECK(again.manifest_digest == first.manifest_digest);
  for (size_t i = 0; i < again.layers.size(); ++i) {
    CHECK(inode_of(again.layers[i]) == inodes[i]);
    CHECK(fs::last_write_time(again.layers[i]) == mtimes[i]);
  }
}

// Flips one byte in the middle of `path`.
void corrupt_file(const std::string& path) {
  auto bytes = read_file(path);
  REQUIRE_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 0x5a;
  write_file(path, bytes);
}

// An overlayfs mount of an image's layers, undone on scope exit.
struct overlay_mount {
  std::string merged;

  overlay_mount(const provisioned_image& image, const scratch_dir& tmp) {
    merged = tmp / "merged";
    auto upper = tmp / "upper";
    auto work = tmp / "work";
    for (const auto& dir : {merged, upper, work})
      fs::create_directories(dir);
    // overlayfs lists the lower directories top first.
    std::string lower;
    for (auto i = image.layers.rbegin(); i != image.layers.rend(); ++i)
      lower += (lower.empty() ? "" : ":") + *i;
    auto options = fmt::format("lowerdir={},upperdir={},workdir={}", lower,
                               upper, work);
    REQUIRE_MESSAGE(::mount("overlay", merged.c_str(), "overlay", 0,
                            options.c_str())
                      == 0,
                    "mount -t overlay " << options << ": "
                                        << std::strerror(errno));
  }

  ~overlay_mount() { ::umount2(merged.c_str(), MNT_DETACH); }

  std::string operator/(const std::string& name) const {
    return merged + "/" + name;
  }
};

} // namespace

TEST_CASE("an OCI layout provisions its layers, lowest first, and config") {
  images img;
  scratch_dir cache;
  image_store store{img.oci, cache.path};
  CHECK(store.store_dir() == img.oci);

  auto image = provision(store, "busybox:latest");
  check_busybox(image, cache.path);
  CHECK(image.reference == "busybox:latest");
  CHECK(image.manifest_digest == img.manifest_digest());
  // Layers are named by their blobs' digests.
  auto manifest = img.manifest();
  const auto& layers = manifest.fields().at("layers").list_value();
  for (int i = 0; i < layers.values_size(); ++i) {
    auto digest =
      layers.values(i).struct_value().fields().at("digest").string_value();
    CHECK(image.layers[static_cast<size_t>(i)]
          == cache / ("layers/" + hex_of(digest) + "/rootfs"));
  }

  SUBCASE("a reference without a tag means :latest") {
    auto untagged = provision(store, "busybox");
    CHECK(untagged.reference == "busybox");
    CHECK(untagged.layers == image.layers);
  }
  SUBCASE("a second provision is a cache hit") {
    check_cache_hit(store, image);
  }
}

TEST_CASE("a docker-save tarball provisions the same image") {
  images img;
  scratch_dir cache;
  image_store store{img.docker, cache.path};

  auto image = provision(store, "busybox:latest");
  check_busybox(image, cache.path);
  // The tarball was extracted once into archives/<its digest>, and the
  // manifest digest is docker's image id, the digest of the config.
  auto archive =
    cache / ("archives/" + sha256_of(img.docker + "/busybox.tar"));
  CHECK(fs::is_regular_file(archive + "/manifest.json"));
  auto config_digest = img.manifest()
                         .fields()
                         .at("config")
                         .struct_value()
                         .fields()
                         .at("digest")
                         .string_value();
  CHECK(image.manifest_digest == config_digest);

  SUBCASE("a reference without a tag means :latest") {
    CHECK(provision(store, "busybox").layers == image.layers);
  }
  SUBCASE("a second provision is a cache hit") {
    auto archive_inode = inode_of(archive);
    check_cache_hit(store, image);
    CHECK(inode_of(archive) == archive_inode);
  }
}

TEST_CASE("a newer docker-save tarball names its blobs by digest") {
  // Docker 25 and later write an OCI layout with a manifest.json beside it
  // that names blobs/sha256/... (compressed layers, with containerd's store).
  images img;
  auto dir = img.copy_oci("newer") + "/busybox";
  auto manifest = img.manifest();
  auto digest_of = [](const google::protobuf::Value& desc) {
    return hex_of(desc.struct_value().fields().at("digest").string_value());
  };
  const auto& layers = manifest.fields().at("layers").list_value();
  write_file(dir + "/manifest.json",
             fmt::format("[{{\"Config\":\"blobs/sha256/{}\","
                         "\"RepoTags\":[\"busybox:latest\"],\"Layers\":"
                         "[\"blobs/sha256/{}\",\"blobs/sha256/{}\"]}}]",
                         digest_of(manifest.fields().at("config")),
                         digest_of(layers.values(0)),
                         digest_of(layers.values(1))));
  auto store_dir = img.tmp / "newer-store";
  fs::create_directories(store_dir);
  REQUIRE(run({"tar", "-C", dir, "-cf", store_dir + "/busybox.tar", "."})
          == 0);

  scratch_dir cache;
  image_store store{store_dir, cache.path};
  auto image = provision(store, "busybox:latest");
  check_busybox(image, cache.path);
  CHECK(image.layers[0]
        == cache / ("layers/" + digest_of(layers.values(0)) + "/rootfs"));
}

TEST_CASE("an image index yields the manifest of this host's platform") {
  images img;
  auto store_dir = img.copy_oci("indexed");
  auto dir = store_dir + "/busybox";
  auto manifest_digest = img.manifest_digest();
  auto manifest_size = fs::file_size(dir + "/blobs/sha256/"
                                     + hex_of(manifest_digest));
  // The other platform's manifest is never read: its blob need not exist.
  auto index = fmt::format(
    "{{\"schemaVersion\":2,\"manifests\":["
    "{{\"digest\":\"sha256:{}\",\"size\":1,"
    "\"platform\":{{\"os\":\"linux\",\"architecture\":\"s390x\"}}}},"
    "{{\"digest\":\"{}\",\"size\":{},"
    "\"platform\":{{\"os\":\"linux\",\"architecture\":\"{}\"}}}}]}}",
    std::string(64, '0'), manifest_digest, manifest_size,
    host_architecture());
  auto index_blob = img.tmp / "index-blob";
  write_file(index_blob, index);
  auto index_hex = sha256_of(index_blob);
  fs::copy_file(index_blob, dir + "/blobs/sha256/" + index_hex);
  write_file(dir + "/index.json",
             fmt::format("{{\"schemaVersion\":2,\"manifests\":[{{"
                         "\"digest\":\"sha256:{}\",\"size\":{},"
                         "\"annotations\":{{\"{}\":\"1.0\"}}}}]}}",
                         index_hex, index.size(),
                         "org.opencontainers.image.ref.name"));

  scratch_dir cache;
  image_store store{store_dir, cache.path};
  auto image = provision(store, "busybox:1.0");
  check_busybox(image, cache.path);
  CHECK(image.manifest_digest == manifest_digest);
  CHECK(code_of(provision_error(store, "busybox:latest")) == errc::not_found);
}

TEST_CASE("concurrent provisioners share one unpacked copy of each layer") {
  images img;
  scratch_dir cache;
  std::vector<caf::expected<provisioned_image>> results(
    4, make_error(errc::unavailable, "not run"));
  std::vector<std::thread> threads;
  for (auto& result : results)
    threads.emplace_back([&] {
      image_store store{img.oci, cache.path};
      result = store.provision("busybox:latest");
    });
  for (auto& t : threads)
    t.join();
  for (const auto& result : results) {
    DCOS_REQUIRE_OK(result);
    CHECK(result->layers == results.front()->layers);
  }
  check_busybox(*results.front(), cache.path);
  // Losers of the rename race removed their staging directories.
  for (const auto& entry : fs::directory_iterator(cache / "layers"))
    CHECK_FALSE(entry.path().filename().string().starts_with("."));
}

TEST_CASE("a corrupt image is corrupt_payload naming what is wrong") {
  images img;
  scratch_dir cache;

  SUBCASE("a layer blob whose content does not match its digest") {
    auto store_dir = img.copy_oci("corrupt");
    auto digest = img.manifest()
                    .fields()
                    .at("layers")
                    .list_value()
                    .values(0)
                    .struct_value()
                    .fields()
                    .at("digest")
                    .string_value();
    corrupt_file(store_dir + "/busybox/blobs/sha256/" + hex_of(digest));
    image_store store{store_dir, cache.path};
    auto err = provision_error(store, "busybox:latest");
    CHECK(code_of(err) == errc::corrupt_payload);
    auto text = describe(err);
    CHECK_MESSAGE(text.find("image 'busybox:latest'") != std::string::npos,
                  text);
    CHECK_MESSAGE(text.find(digest) != std::string::npos, text);
    // Nothing half-unpacked was left behind.
    CHECK_FALSE(fs::exists(cache / ("layers/" + hex_of(digest))));
  }
  SUBCASE("an index entry without a digest") {
    auto store_dir = img.copy_oci("nodigest");
    write_file(store_dir + "/busybox/index.json",
               "{\"schemaVersion\":2,\"manifests\":[{\"size\":1}]}");
    image_store store{store_dir, cache.path};
    auto err = provision_error(store, "busybox");
    CHECK(code_of(err) == errc::corrupt_payload);
    CHECK(describe_reason(err)
          == "image 'busybox': index.json.manifests[0].digest: missing");
  }
  SUBCASE("a docker manifest.json without Layers") {
    auto extracted = img.tmp / "extracted";
    fs::create_directories(extracted);
    REQUIRE(run({"tar", "-xf", img.docker + "/busybox.tar", "-C", extracted})
            == 0);
    auto doc = read_file(extracted + "/manifest.json");
    auto at = doc.find(",\"Layers\"");
    REQUIRE(at != std::string::npos);
    write_file(extracted + "/manifest.json", doc.substr(0, at) + "}]");
    auto store_dir = img.tmp / "nolayers";
    fs::create_directories(store_dir);
    REQUIRE(run({"tar", "-C", extracted, "-cf", store_dir + "/busybox.tar",
                 "."})
            == 0);
    image_store store{store_dir, cache.path};
    auto err = provision_error(store, "busybox:latest");
    CHECK(code_of(err) == errc::corrupt_payload);
    CHECK(describe_reason(err)
          == "image 'busybox:latest': manifest.json[0].Layers: missing");
  }
}

TEST_CASE("a missing image or tag is not_found") {
  images img;
  scratch_dir cache;
  image_store oci{img.oci, cache.path};
  image_store docker{img.docker, cache.path};

  auto err = provision_error(oci, "nosuch:1.0");
  CHECK(code_of(err) == errc::not_found);
  auto text = describe(err);
  CHECK_MESSAGE(text.find("image 'nosuch:1.0'") != std::string::npos, text);
  CHECK_MESSAGE(text.find("'" + img.oci + "/nosuch'") != std::string::npos,
                text);
  CHECK_MESSAGE(text.find("'" + img.oci + "/nosuch.tar'") != std::string::npos,
                text);

  for (auto* store : {&oci, &docker}) {
    auto tag = provision_error(*store, "busybox:nosuch");
    CHECK(code_of(tag) == errc::not_found);
    CHECK_MESSAGE(describe(tag).find("nosuch") != std::string::npos,
                  describe(tag));
  }

  for (const auto* bad : {"../busybox", "/busybox", "busybox:", "busybox/.."})
    CHECK_MESSAGE(code_of(provision_error(oci, bad)) == errc::invalid_argument,
                  bad);
}

TEST_CASE("overlayfs assembles the layers into the image's root") {
  if (::geteuid() != 0)
    return skip("mounting overlayfs needs root");
  images img;
  scratch_dir cache;
  image_store store{img.oci, cache.path};
  auto image = provision(store, "busybox:latest");
  scratch_dir mnt;
  {
    overlay_mount root{image, mnt};
    CHECK(fs::exists(root / "bin/sh"));
    CHECK(fs::is_regular_file(root / "etc/passwd"));
    CHECK(read_file(root / "etc/image-release") == "busybox-test\n");
    CHECK_FALSE(fs::exists(fs::symlink_status(root / "etc/motd")));
    CHECK(fs::is_regular_file(root / "var/cache/fresh"));
    CHECK_FALSE(fs::exists(fs::symlink_status(root / "var/cache/stale")));
    // The image runs: its own shell sees the same tree.
    CHECK(run({"chroot", root.merged, "/bin/sh", "-c",
               "test -f /etc/image-release && ! test -e /etc/motd"})
          == 0);
  }
  CHECK(fs::is_empty(mnt / "merged"));
}
