#include "dcos/persistent_volume.hpp"

namespace dcos {

namespace {

v1::Resource::DiskInfo::Source::Type source_type(const resource& r) {
  if (!r.disk || !r.disk->has_source())
    return v1::Resource::DiskInfo::Source::UNKNOWN;
  return r.disk->source().type();
}

} // namespace

std::optional<resource>
take_new_volume_disk(resources& left, double size_mb, volume_disk kind,
                     double max_size_mb,
                     const std::function<bool(const resource&)>& accept) {
  auto milli = static_cast<int64_t>(size_mb * 1000);
  auto max_milli = static_cast<int64_t>(max_size_mb * 1000);
  for (const auto& r : left) {
    if (r.name != "disk" || r.is_reserved() || r.is_persistent_volume()
        || r.milli < milli)
      continue;
    auto source = source_type(r);
    bool fits = false;
    switch (kind) {
      case volume_disk::root:
        fits = r.disk == nullptr;
        break;
      case volume_disk::path:
        fits = source == v1::Resource::DiskInfo::Source::PATH;
        break;
      case volume_disk::mount:
        fits = source == v1::Resource::DiskInfo::Source::MOUNT
               && (max_milli == 0 || r.milli <= max_milli);
        break;
    }
    if (!fits || (accept && !accept(r)))
      continue;
    auto part = r;
    if (kind != volume_disk::mount) // a mount disk is taken whole
      part.milli = milli;
    left -= part;
    return part;
  }
  return std::nullopt;
}

std::string disk_path(const resource& disk) {
  switch (source_type(disk)) {
    case v1::Resource::DiskInfo::Source::PATH:
      return disk.disk->source().path().root();
    case v1::Resource::DiskInfo::Source::MOUNT:
      return disk.disk->source().mount().root();
    default:
      return {};
  }
}

std::optional<resource> take_volume(resources& left, const std::string& id) {
  for (const auto& r : left)
    if (r.is_persistent_volume() && r.disk->persistence().id() == id) {
      auto v = r;
      left -= v;
      return v;
    }
  return std::nullopt;
}

// Through the wire form: disk identities are immutable in the compact one.
resource with_volume(const resource& disk, const std::string& id,
                     const std::string& principal,
                     const std::string& container_path) {
  auto wire = resources::entry_to_proto(disk);
  auto* d = wire.mutable_disk();
  d->mutable_persistence()->set_id(id);
  d->mutable_persistence()->set_principal(principal);
  d->mutable_volume()->set_container_path(container_path);
  d->mutable_volume()->set_mode(v1::Volume::RW);
  return *resources::entry_from_proto(wire);
}

std::string reservation_label(const resource& r, std::string_view key) {
  if (r.reservations.empty())
    return {};
  for (const auto& [k, value] : r.reservations.back().labels)
    if (k == key)
      return value;
  return {};
}

std::vector<v1::Offer::Operation>
release_operations(const resources& reserved) {
  std::vector<v1::Offer::Operation> ops;
  if (reserved.empty())
    return ops;
  auto volumes = reserved.persistent_volumes();
  if (!volumes.empty()) {
    ops.emplace_back().set_type(v1::Offer::Operation::DESTROY);
    volumes.to_proto(ops.back().mutable_destroy()->mutable_volumes());
  }
  // What the volumes were made of is plain reserved disk again.
  auto plain = reserved - volumes;
  for (const auto& v : volumes)
    plain += v.volume_source();
  ops.emplace_back().set_type(v1::Offer::Operation::UNRESERVE);
  plain.to_proto(ops.back().mutable_unreserve()->mutable_resources());
  return ops;
}

} // namespace dcos
