// The local image store: finds an image in an OCI layout or a docker-save
// tarball, checks its blobs, and unpacks its layers into the shared cache.
#include "linux/image_store.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/subprocess.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation {

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr std::string_view ref_name_annotation =
  "org.opencontainers.image.ref.name";
constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_whiteout = ".wh..wh..opq";

// index.json, manifests and configs are a few KiB; a bigger "JSON" file is
// not one of them and is not read into memory.
constexpr uintmax_t max_json_size = 4 << 20;

// Hashing a multi-GiB layer on a slow disk takes minutes, not hours.
constexpr auto hash_timeout = std::chrono::minutes(30);

// An image index lists one manifest per platform: take the one this host
// runs (OCI's names for the architectures).
#if defined(__x86_64__)
constexpr std::string_view host_architecture = "amd64";
#elif defined(__aarch64__)
constexpr std::string_view host_architecture = "arm64";
#else
#error "image_store: add the OCI name of this architecture"
#endif

// -- errors and files -------------------------------------------------------

caf::error io_failure(const std::string& what, int error_number) {
  return make_error(errc::io_error,
                    fmt::format("{}: {}", what, std::strerror(error_number)));
}

caf::error io_failure(const std::string& what, const std::error_code& ec) {
  return make_error(errc::io_error, fmt::format("{}: {}", what, ec.message()));
}

caf::error corrupt(std::string message) {
  return make_error(errc::corrupt_payload, std::move(message));
}

caf::error run(std::vector<std::string> argv) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  auto child = subprocess::spawn(opts);
  if (!child)
    return child.error();
  if (int status = child->wait(); status != 0)
    return make_error(errc::io_error,
                      fmt::format("{} exited with {}", fmt::join(opts.argv, " "),
                                  status));
  return {};
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64
         && std::all_of(text.begin(), text.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
}

// libdcos does not link libcrypto, and adding OpenSSL for one hash is not
// worth it: sha256sum (coreutils) is on every host that has the GNU tar we
// unpack with, and a process per blob costs little next to reading the blob.
caf::expected<std::string> sha256_of(const fs::path& path) {
  subprocess_options opts;
  opts.argv = {"sha256sum", "--", path.string()};
  opts.capture_stdout = true;
  auto child = subprocess::spawn(opts);
  if (!child)
    return child.error();
  auto out = child->read_all(hash_timeout);
  if (!out)
    return out.error();
  if (int status = child->wait(); status != 0)
    return make_error(errc::io_error,
                      fmt::format("sha256sum '{}' exited with {}",
                                  path.string(), status));
  // sha256sum starts the line with '\' when it escapes the file name.
  std::string_view line = *out;
  if (line.starts_with('\\'))
    line.remove_prefix(1);
  auto hex = line.substr(0, 64);
  if (!is_sha256_hex(hex))
    return make_error(errc::io_error,
                      fmt::format("sha256sum '{}': unexpected output '{}'",
                                  path.string(), line));
  return std::string{hex};
}

// `what` names the file in the message, e.g. "blob sha256:...".
caf::error verify_sha256(const fs::path& path, const std::string& hex,
                         const std::string& what) {
  auto actual = sha256_of(path);
  if (!actual)
    return actual.error();
  if (*actual != hex)
    return corrupt(fmt::format("{} ('{}'): content has digest sha256:{}, "
                               "expected sha256:{}",
                               what, path.string(), *actual, hex));
  return {};
}

caf::expected<std::string> read_small_file(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec)
    return io_failure(fmt::format("cannot read '{}'", path.string()), ec);
  if (size > max_json_size)
    return corrupt(fmt::format("'{}' is too large for a JSON document ({} "
                               "bytes)",
                               path.string(), size));
  std::string text(size, '\0');
  std::ifstream in{path, std::ios::binary};
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in)
    return make_error(errc::io_error,
                      fmt::format("cannot read '{}'", path.string()));
  return text;
}

// `Document` is Struct for objects, ListValue for docker's manifest.json.
template <class Document>
caf::expected<Document> parse_json_file(const fs::path& path,
                                        const std::string& what) {
  auto text = read_small_file(path);
  if (!text)
    return text.error();
  Document doc;
  if (auto err = from_json(*text, &doc, what))
    return corrupt(describe_reason(err));
  return doc;
}

// -- JSON fields --------------------------------------------------------------
// `where` names the object in messages, e.g. "manifest.json[0]"; a message
// then reads "manifest.json[0].Layers: missing".

const Value* find_field(const Struct& obj, std::string_view key) {
  auto i = obj.fields().find(std::string{key});
  return i == obj.fields().end() ? nullptr : &i->second;
}

caf::error bad_field(const std::string& where, std::string_view key,
                     std::string_view problem) {
  return corrupt(fmt::format("{}.{}: {}", where, key, problem));
}

caf::expected<std::string> string_field(const Struct& obj,
                                        const std::string& where,
                                        std::string_view key) {
  auto v = find_field(obj, key);
  if (v == nullptr)
    return bad_field(where, key, "missing");
  if (v->kind_case() != Value::kStringValue)
    return bad_field(where, key, "not a string");
  return v->string_value();
}

caf::expected<const Struct*> object_field(const Struct& obj,
                                          const std::string& where,
                                          std::string_view key) {
  auto v = find_field(obj, key);
  if (v == nullptr)
    return bad_field(where, key, "missing");
  if (v->kind_case() != Value::kStructValue)
    return bad_field(where, key, "not an object");
  return &v->struct_value();
}

caf::expected<const ListValue*> list_field(const Struct& obj,
                                           const std::string& where,
                                           std::string_view key) {
  auto v = find_field(obj, key);
  if (v == nullptr)
    return bad_field(where, key, "missing");
  if (v->kind_case() != Value::kListValue)
    return bad_field(where, key, "not a list");
  return &v->list_value();
}

caf::expected<const Struct*> as_object(const Value& v,
                                       const std::string& where) {
  if (v.kind_case() != Value::kStructValue)
    return corrupt(fmt::format("{}: not an object", where));
  return &v.struct_value();
}

// A missing or null field is the empty string.
caf::expected<std::string> optional_string(const Struct& obj,
                                           const std::string& where,
                                           std::string_view key) {
  auto v = find_field(obj, key);
  if (v == nullptr || v->kind_case() == Value::kNullValue)
    return std::string{};
  return string_field(obj, where, key);
}

// A missing or null field is the empty list.
caf::expected<std::vector<std::string>>
optional_strings(const Struct& obj, const std::string& where,
                 std::string_view key) {
  std::vector<std::string> result;
  auto v = find_field(obj, key);
  if (v == nullptr || v->kind_case() == Value::kNullValue)
    return result;
  if (v->kind_case() != Value::kListValue)
    return bad_field(where, key, "not a list of strings");
  for (const auto& item : v->list_value().values()) {
    if (item.kind_case() != Value::kStringValue)
      return bad_field(where, key, "not a list of strings");
    result.push_back(item.string_value());
  }
  return result;
}

// -- image config -------------------------------------------------------------

caf::expected<image_config> read_config(const Struct& doc,
                                        const std::string& where) {
  image_config result;
  // OCI makes "config" optional: an image may say nothing about running it.
  auto v = find_field(doc, "config");
  if (v == nullptr || v->kind_case() == Value::kNullValue)
    return result;
  auto config = object_field(doc, where, "config");
  if (!config)
    return config.error();
  auto at = where + ".config";
  auto entrypoint = optional_strings(**config, at, "Entrypoint");
  if (!entrypoint)
    return entrypoint.error();
  auto cmd = optional_strings(**config, at, "Cmd");
  if (!cmd)
    return cmd.error();
  auto env = optional_strings(**config, at, "Env");
  if (!env)
    return env.error();
  auto working_dir = optional_string(**config, at, "WorkingDir");
  if (!working_dir)
    return working_dir.error();
  auto user = optional_string(**config, at, "User");
  if (!user)
    return user.error();
  result.entrypoint = std::move(*entrypoint);
  result.cmd = std::move(*cmd);
  result.env = std::move(*env);
  result.working_dir = std::move(*working_dir);
  result.user = std::move(*user);
  return result;
}

// -- the cache ------------------------------------------------------------------

// A directory made next to its final place and renamed there when complete,
// so that other provisioners see all of it or nothing. Removed unless it was
// published.
class staging_dir {
public:
  static caf::expected<staging_dir> make(const fs::path& parent,
                                         const std::string& hex) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
      return io_failure(fmt::format("cannot create '{}'", parent.string()),
                        ec);
    // Dot names: a listing of the cache shows only complete entries.
    auto pattern = (parent / (".tmp-" + hex + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return io_failure(fmt::format("cannot create a directory in '{}'",
                                    parent.string()),
                        errno);
    staging_dir dir;
    dir.path_ = pattern;
    // mkdtemp's 0700 would make the cache unreadable to anyone but root.
    if (::chmod(pattern.c_str(), 0755) != 0)
      return io_failure(fmt::format("cannot chmod '{}'", pattern), errno);
    return dir;
  }

  staging_dir(staging_dir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {
  }
  staging_dir& operator=(staging_dir&&) = delete;

  ~staging_dir() {
    std::error_code ec;
    if (!path_.empty())
      fs::remove_all(path_, ec);
  }

  const fs::path& path() const noexcept { return path_; }

  // Renames the directory to `target`. If another provisioner published
  // `target` first, theirs stays (it has the same content: the name is its
  // digest) and ours is removed.
  caf::error publish(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) == 0) {
      path_.clear();
      return {};
    }
    if (errno == EEXIST || errno == ENOTEMPTY)
      return {};
    return io_failure(fmt::format("cannot rename '{}' to '{}'",
                                  path_.string(), target.string()),
                      errno);
  }

private:
  staging_dir() = default;

  fs::path path_;
};

// Replaces one OCI whiteout with its overlayfs form.
caf::error convert_whiteout(const fs::path& whiteout) {
  auto dir = whiteout.parent_path();
  auto name = whiteout.filename().string();
  std::error_code ec;
  fs::remove_all(whiteout, ec);
  if (ec)
    return io_failure(fmt::format("cannot remove '{}'", whiteout.string()),
                      ec);
  if (name == opaque_whiteout) {
    if (::lsetxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0)
      return io_failure(fmt::format("cannot mark '{}' opaque", dir.string()),
                        errno);
    return {};
  }
  auto hidden = name.substr(whiteout_prefix.size());
  // Other ".wh..wh." names are aufs' bookkeeping, meaningless to overlayfs.
  if (hidden.starts_with(whiteout_prefix))
    return {};
  auto target = dir / hidden;
  // An entry of the same layer hides the lower one by itself.
  struct stat st;
  if (::lstat(target.c_str(), &st) == 0)
    return {};
  if (::mknod(target.c_str(), S_IFCHR, ::makedev(0, 0)) != 0)
    return io_failure(fmt::format("cannot make the whiteout '{}'",
                                  target.string()),
                      errno);
  return {};
}

caf::error convert_whiteouts(const fs::path& rootfs) {
  // Collected first: converting them changes the tree being walked.
  std::vector<fs::path> whiteouts;
  std::error_code ec;
  for (fs::recursive_directory_iterator i{rootfs, ec}, end; !ec && i != end;
       i.increment(ec)) {
    if (i->path().filename().string().starts_with(whiteout_prefix)) {
      whiteouts.push_back(i->path());
      i.disable_recursion_pending(); // removed whole, content and all
    }
  }
  if (ec)
    return io_failure(fmt::format("cannot walk '{}'", rootfs.string()), ec);
  for (const auto& whiteout : whiteouts)
    if (auto err = convert_whiteout(whiteout))
      return err;
  return {};
}

// A layer blob to unpack.
struct layer_blob {
  fs::path path;
  std::string hex;  // the sha256 of its bytes: its name in the cache
  std::string what; // names it in messages
};

// Returns the layer's unpacked root, unpacking it first if it is not cached.
caf::expected<std::string> unpack_layer(const fs::path& cache_dir,
                                        const layer_blob& blob) {
  auto layers = cache_dir / "layers";
  auto root = layers / blob.hex;
  auto rootfs = root / "rootfs";
  std::error_code ec;
  // A cached layer is complete (it appeared by rename) and its digest was
  // checked before it was unpacked: no need to hash the blob again.
  if (fs::is_directory(rootfs, ec))
    return rootfs.string();
  if (auto err = verify_sha256(blob.path, blob.hex, blob.what))
    return err;
  auto staging = staging_dir::make(layers, blob.hex);
  if (!staging)
    return staging.error();
  auto staged_rootfs = staging->path() / "rootfs";
  if (::mkdir(staged_rootfs.c_str(), 0755) != 0)
    return io_failure(fmt::format("cannot create '{}'",
                                  staged_rootfs.string()),
                      errno);
  // GNU tar detects the compression itself. Owners by number, as the image
  // means them, not as this host's passwd names them. File capabilities are
  // part of an image (ping needs cap_net_raw); other xattrs are not restored,
  // trusted.overlay.* least of all: overlayfs would obey them.
  if (auto err = run({"tar", "-x", "--numeric-owner", "-p", "--xattrs",
                      "--xattrs-include=security.capability", "-f",
                      blob.path.string(), "-C", staged_rootfs.string()}))
    return err;
  if (auto err = convert_whiteouts(staged_rootfs))
    return err;
  if (auto err = staging->publish(root))
    return err;
  return rootfs.string();
}

// -- references -----------------------------------------------------------------

struct image_name {
  std::string name; // a path below the store, e.g. "busybox"
  std::string tag;
};

caf::expected<image_name> parse_reference(const std::string& reference) {
  image_name result{reference, "latest"};
  // A colon before the last slash is a registry's port, not a tag.
  auto colon = reference.rfind(':');
  auto slash = reference.rfind('/');
  if (colon != std::string::npos
      && (slash == std::string::npos || colon > slash)) {
    result.name = reference.substr(0, colon);
    result.tag = reference.substr(colon + 1);
  }
  if (result.tag.empty())
    return make_error(errc::invalid_argument, "empty tag");
  // The name becomes a path below the store and must stay there.
  bool bad = result.name.empty() || result.name.front() == '/';
  for (const auto& part : fs::path{result.name})
    bad = bad || part.empty() || part == "." || part == "..";
  if (bad)
    return make_error(errc::invalid_argument,
                      fmt::format("'{}' is not an image name", result.name));
  return result;
}

// -- OCI image layouts ------------------------------------------------------------

struct descriptor {
  std::string digest; // "sha256:<hex>"
  std::string hex;
  int64_t size = 0;
};

caf::expected<descriptor> read_descriptor(const Struct& obj,
                                          const std::string& where) {
  descriptor result;
  auto digest = string_field(obj, where, "digest");
  if (!digest)
    return digest.error();
  result.digest = *digest;
  std::string_view text = result.digest;
  if (!text.starts_with("sha256:") || !is_sha256_hex(text.substr(7)))
    return bad_field(where, "digest",
                     fmt::format("'{}' is not a sha256 digest", text));
  result.hex = text.substr(7);
  auto size = find_field(obj, "size");
  if (size == nullptr)
    return bad_field(where, "size", "missing");
  if (size->kind_case() != Value::kNumberValue || size->number_value() < 0)
    return bad_field(where, "size", "not a size");
  result.size = static_cast<int64_t>(size->number_value());
  return result;
}

// The blob's path, once its size matches the descriptor (its digest is
// checked by whoever reads it: layers only when they are not cached).
caf::expected<fs::path> blob_path(const fs::path& layout,
                                  const descriptor& d) {
  auto path = layout / "blobs" / "sha256" / d.hex;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec == std::errc::no_such_file_or_directory)
    return corrupt(fmt::format("blob {} is missing ('{}')", d.digest,
                               path.string()));
  if (ec)
    return io_failure(fmt::format("cannot read '{}'", path.string()), ec);
  if (size != static_cast<uintmax_t>(d.size))
    return corrupt(fmt::format("blob {} ('{}') has {} bytes, its descriptor "
                               "says {}",
                               d.digest, path.string(), size, d.size));
  return path;
}

caf::expected<Struct> read_json_blob(const fs::path& layout,
                                     const descriptor& d) {
  auto path = blob_path(layout, d);
  if (!path)
    return path.error();
  auto what = "blob " + d.digest;
  if (auto err = verify_sha256(*path, d.hex, what))
    return err;
  return parse_json_file<Struct>(*path, what);
}

// One entry of an index's "manifests", with its name for messages.
struct index_entry {
  const Struct* desc;
  std::string where;
};

caf::expected<std::vector<index_entry>> index_entries(const Struct& index,
                                                      const std::string& where) {
  auto manifests = list_field(index, where, "manifests");
  if (!manifests)
    return manifests.error();
  std::vector<index_entry> result;
  for (int i = 0; i < (*manifests)->values_size(); ++i) {
    auto entry_where = fmt::format("{}.manifests[{}]", where, i);
    auto desc = as_object((*manifests)->values(i), entry_where);
    if (!desc)
      return desc.error();
    result.push_back({*desc, std::move(entry_where)});
  }
  return result;
}

// The annotation `key` of a descriptor, or "".
std::string annotation(const Struct& desc, std::string_view key) {
  auto annotations = find_field(desc, "annotations");
  if (annotations == nullptr
      || annotations->kind_case() != Value::kStructValue)
    return {};
  auto value = find_field(annotations->struct_value(), key);
  return value != nullptr && value->kind_case() == Value::kStringValue
           ? value->string_value()
           : std::string{};
}

bool for_this_host(const Struct& desc) {
  auto platform = find_field(desc, "platform");
  if (platform == nullptr || platform->kind_case() != Value::kStructValue)
    return false;
  auto field = [&](std::string_view key) {
    auto v = find_field(platform->struct_value(), key);
    return v != nullptr ? v->string_value() : std::string{};
  };
  return field("os") == "linux" && field("architecture") == host_architecture;
}

// A sole entry is taken whatever its platform (single-platform layouts
// rarely say it); among several, the one for this host.
caf::expected<index_entry> pick_platform(std::vector<index_entry> entries,
                                         const std::string& where) {
  if (entries.size() == 1)
    return std::move(entries.front());
  for (auto& entry : entries)
    if (for_this_host(*entry.desc))
      return std::move(entry);
  return make_error(errc::not_found,
                    fmt::format("{}: no manifest for linux/{}", where,
                                host_architecture));
}

caf::expected<index_entry> pick_tagged(const Struct& index,
                                       const fs::path& index_path,
                                       const image_name& ref) {
  auto entries = index_entries(index, "index.json");
  if (!entries)
    return entries.error();
  auto full = ref.name + ":" + ref.tag;
  std::vector<index_entry> tagged;
  for (const auto& entry : *entries) {
    auto name = annotation(*entry.desc, ref_name_annotation);
    if (name == ref.tag || name == full)
      tagged.push_back(entry);
  }
  if (tagged.empty() && entries->size() == 1
      && annotation(*entries->front().desc, ref_name_annotation).empty())
    tagged = std::move(*entries);
  if (tagged.empty())
    return make_error(errc::not_found,
                      fmt::format("no manifest tagged '{}' in '{}'", ref.tag,
                                  index_path.string()));
  return pick_platform(std::move(tagged), "index.json");
}

caf::expected<provisioned_image> provision_oci(const fs::path& layout,
                                               const image_name& ref,
                                               const fs::path& cache_dir) {
  auto index_path = layout / "index.json";
  auto index = parse_json_file<Struct>(index_path, "index.json");
  if (!index)
    return index.error();
  auto entry = pick_tagged(*index, index_path, ref);
  if (!entry)
    return entry.error();
  auto desc = read_descriptor(*entry->desc, entry->where);
  if (!desc)
    return desc.error();
  auto manifest = read_json_blob(layout, *desc);
  if (!manifest)
    return manifest.error();
  // Nested image indexes end: a blob cannot name its own digest.
  while (find_field(*manifest, "manifests") != nullptr) {
    auto where = "blob " + desc->digest;
    auto entries = index_entries(*manifest, where);
    if (!entries)
      return entries.error();
    auto picked = pick_platform(std::move(*entries), where);
    if (!picked)
      return picked.error();
    desc = read_descriptor(*picked->desc, picked->where);
    if (!desc)
      return desc.error();
    manifest = read_json_blob(layout, *desc);
    if (!manifest)
      return manifest.error();
  }
  provisioned_image result;
  result.manifest_digest = desc->digest;
  auto where = "blob " + desc->digest;
  auto config_desc_obj = object_field(*manifest, where, "config");
  if (!config_desc_obj)
    return config_desc_obj.error();
  auto config_desc = read_descriptor(**config_desc_obj, where + ".config");
  if (!config_desc)
    return config_desc.error();
  auto config_doc = read_json_blob(layout, *config_desc);
  if (!config_doc)
    return config_doc.error();
  auto config = read_config(*config_doc, "blob " + config_desc->digest);
  if (!config)
    return config.error();
  result.config = std::move(*config);
  auto layers = list_field(*manifest, where, "layers");
  if (!layers)
    return layers.error();
  for (int i = 0; i < (*layers)->values_size(); ++i) {
    auto layer_where = fmt::format("{}.layers[{}]", where, i);
    auto layer_obj = as_object((*layers)->values(i), layer_where);
    if (!layer_obj)
      return layer_obj.error();
    auto layer = read_descriptor(**layer_obj, layer_where);
    if (!layer)
      return layer.error();
    auto path = blob_path(layout, *layer);
    if (!path)
      return path.error();
    auto rootfs = unpack_layer(cache_dir,
                               {*path, layer->hex, "blob " + layer->digest});
    if (!rootfs)
      return rootfs.error();
    result.layers.push_back(std::move(*rootfs));
  }
  return result;
}

// -- docker-save tarballs ----------------------------------------------------------

// Returns the tarball's files, extracted once into the cache (keyed by the
// tarball's digest, so that a replaced tarball is extracted anew).
caf::expected<fs::path> extract_archive(const fs::path& cache_dir,
                                        const fs::path& tarball) {
  auto hex = sha256_of(tarball);
  if (!hex)
    return hex.error();
  auto archives = cache_dir / "archives";
  auto dir = archives / *hex;
  std::error_code ec;
  if (fs::is_directory(dir, ec))
    return dir;
  auto staging = staging_dir::make(archives, *hex);
  if (!staging)
    return staging.error();
  if (auto err = run({"tar", "-x", "--no-same-owner", "-f", tarball.string(),
                      "-C", staging->path().string()}))
    return err;
  if (auto err = staging->publish(dir))
    return err;
  return dir;
}

// The file `name` of an extracted archive. manifest.json is data: neither its
// names nor the archive's symlinks (docker links repeated layers) may lead
// outside the archive.
caf::expected<fs::path> archive_file(const fs::path& root,
                                     const std::string& name,
                                     const std::string& where) {
  fs::path relative{name};
  bool outside = relative.empty() || relative.is_absolute();
  for (const auto& part : relative)
    outside = outside || part == "..";
  std::error_code ec;
  auto base = fs::canonical(root, ec);
  if (ec)
    return io_failure(fmt::format("cannot resolve '{}'", root.string()), ec);
  auto resolved = fs::canonical(root / relative, ec);
  if (!outside && ec)
    return corrupt(fmt::format("{}: '{}' is not in the archive", where,
                               name));
  outside = outside
            || std::mismatch(base.begin(), base.end(), resolved.begin(),
                             resolved.end())
                   .first
                 != base.end();
  if (outside)
    return corrupt(fmt::format("{}: '{}' leads outside the archive", where,
                               name));
  if (!fs::is_regular_file(resolved, ec))
    return corrupt(fmt::format("{}: '{}' is not a file", where, name));
  return resolved;
}

// The digest a file's name states, or "": newer docker names blobs
// "blobs/sha256/<hex>", older docker names the config "<hex>.json".
std::string digest_in_name(const std::string& name) {
  auto base = fs::path{name}.filename().string();
  if (base.ends_with(".json"))
    base.resize(base.size() - 5);
  return is_sha256_hex(base) ? base : std::string{};
}

caf::expected<index_entry> pick_image(const ListValue& manifest,
                                      const fs::path& tarball,
                                      const image_name& ref) {
  auto full = ref.name + ":" + ref.tag;
  for (int i = 0; i < manifest.values_size(); ++i) {
    auto where = fmt::format("manifest.json[{}]", i);
    auto image = as_object(manifest.values(i), where);
    if (!image)
      return image.error();
    auto tags = optional_strings(**image, where, "RepoTags");
    if (!tags)
      return tags.error();
    if (std::find(tags->begin(), tags->end(), full) != tags->end())
      return index_entry{*image, where};
    if (manifest.values_size() == 1 && tags->empty())
      return index_entry{*image, where};
  }
  return make_error(errc::not_found,
                    fmt::format("no image tagged '{}' in '{}'", full,
                                tarball.string()));
}

// Docker's config lists the layers' diff ids: the digests of the
// uncompressed layer tars, which is what docker save writes.
caf::expected<std::vector<std::string>> diff_ids(const Struct& config,
                                                 const std::string& where) {
  auto rootfs = object_field(config, where, "rootfs");
  if (!rootfs)
    return rootfs.error();
  auto ids = optional_strings(**rootfs, where + ".rootfs", "diff_ids");
  if (!ids)
    return ids.error();
  for (auto& id : *ids) {
    if (!id.starts_with("sha256:") || !is_sha256_hex(id.substr(7)))
      return bad_field(where + ".rootfs", "diff_ids",
                       fmt::format("'{}' is not a sha256 digest", id));
    id.erase(0, 7);
  }
  return ids;
}

caf::expected<provisioned_image> provision_docker(const fs::path& tarball,
                                                  const image_name& ref,
                                                  const fs::path& cache_dir) {
  auto root = extract_archive(cache_dir, tarball);
  if (!root)
    return root.error();
  auto manifest = parse_json_file<ListValue>(*root / "manifest.json",
                                             "manifest.json");
  if (!manifest)
    return manifest.error();
  auto image = pick_image(*manifest, tarball, ref);
  if (!image)
    return image.error();
  const auto& where = image->where;
  auto config_name = string_field(*image->desc, where, "Config");
  if (!config_name)
    return config_name.error();
  auto config_path = archive_file(*root, *config_name, where + ".Config");
  if (!config_path)
    return config_path.error();
  // The config's digest is docker's image id, our manifest digest.
  auto config_hex = sha256_of(*config_path);
  if (!config_hex)
    return config_hex.error();
  if (auto named = digest_in_name(*config_name);
      !named.empty() && named != *config_hex)
    return corrupt(fmt::format("{} ('{}'): content has digest sha256:{}, "
                               "expected sha256:{}",
                               *config_name, config_path->string(),
                               *config_hex, named));
  auto config_doc = parse_json_file<Struct>(*config_path, *config_name);
  if (!config_doc)
    return config_doc.error();
  auto config = read_config(*config_doc, *config_name);
  if (!config)
    return config.error();
  auto ids = diff_ids(*config_doc, *config_name);
  if (!ids)
    return ids.error();
  provisioned_image result;
  result.manifest_digest = "sha256:" + *config_hex;
  result.config = std::move(*config);
  auto layers = list_field(*image->desc, where, "Layers");
  if (!layers)
    return layers.error();
  for (int i = 0; i < (*layers)->values_size(); ++i) {
    auto layer_where = fmt::format("{}.Layers[{}]", where, i);
    const auto& name = (*layers)->values(i);
    if (name.kind_case() != Value::kStringValue)
      return corrupt(fmt::format("{}: not a string", layer_where));
    auto path = archive_file(*root, name.string_value(), layer_where);
    if (!path)
      return path.error();
    // "blobs/sha256/<hex>" (maybe compressed) names its digest; an older
    // "<id>/layer.tar" is the uncompressed tar its diff id is the digest of.
    auto hex = digest_in_name(name.string_value());
    if (hex.empty() && static_cast<size_t>(i) >= ids->size())
      return bad_field(*config_name + ".rootfs", "diff_ids",
                       fmt::format("no entry for layer {}", i));
    if (hex.empty())
      hex = (*ids)[static_cast<size_t>(i)];
    auto rootfs = unpack_layer(
      cache_dir,
      {*path, hex, fmt::format("{} '{}'", layer_where, name.string_value())});
    if (!rootfs)
      return rootfs.error();
    result.layers.push_back(std::move(*rootfs));
  }
  return result;
}

caf::expected<provisioned_image> find_and_provision(const fs::path& store_dir,
                                                    const fs::path& cache_dir,
                                                    const std::string& ref) {
  auto name = parse_reference(ref);
  if (!name)
    return name.error();
  auto layout = store_dir / name->name;
  auto tarball = store_dir / (name->name + ".tar");
  std::error_code ec;
  if (fs::is_regular_file(layout / "index.json", ec))
    return provision_oci(layout, *name, cache_dir);
  if (fs::is_regular_file(tarball, ec))
    return provision_docker(tarball, *name, cache_dir);
  return make_error(errc::not_found,
                    fmt::format("not found (tried the OCI layout '{}' and the "
                                "docker-save tarball '{}')",
                                layout.string(), tarball.string()));
}

// What identifies the image's current version in the store: its index or
// tarball, by path, modification time and size.
std::string store_signature(const fs::path& store_dir,
                            const std::string& reference) {
  auto name = parse_reference(reference);
  if (!name)
    return {};
  for (auto path : {store_dir / name->name / "index.json",
                    store_dir / (name->name + ".tar")}) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0)
      return fmt::format("{}:{}.{}:{}", path.string(), st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec, st.st_size);
  }
  return {};
}

bool layers_present(const provisioned_image& image) {
  std::error_code ec;
  return std::all_of(image.layers.begin(), image.layers.end(),
                     [&](auto& l) { return fs::is_directory(l, ec); });
}

} // namespace

image_store::image_store(std::string store_dir, std::string cache_dir)
  : store_dir_(std::move(store_dir)), cache_dir_(std::move(cache_dir)) {
}

caf::expected<provisioned_image>
image_store::provision(const std::string& reference) {
  // Reading the manifest and checking its digests costs milliseconds, which
  // every launch would pay: an unchanged image is not read again.
  auto signature = store_signature(store_dir_, reference);
  if (auto i = known_.find(reference);
      i != known_.end() && !signature.empty() && i->second.first == signature
      && layers_present(i->second.second))
    return i->second.second;
  auto result = find_and_provision(store_dir_, cache_dir_, reference);
  if (!result) {
    auto code = code_of(result.error());
    return make_error(static_cast<int>(code) == 0 ? errc::io_error : code,
                      fmt::format("image '{}': {}", reference,
                                  describe_reason(result.error())));
  }
  result->reference = reference;
  if (!signature.empty())
    known_[reference] = {signature, *result};
  return result;
}

} // namespace dcos::isolation
