#include "dcos/resource.hpp"

#include <algorithm>

#include <google/protobuf/util/message_differencer.h>

#include "dcos/role.hpp"

namespace dcos {

namespace {

const std::string star = "*";

bool same_disk(const resource& a, const resource& b) {
  if (a.disk == b.disk)
    return true;
  if (!a.disk || !b.disk)
    return false;
  return google::protobuf::util::MessageDifferencer::Equals(*a.disk, *b.disk);
}

// True if every element of the sorted, coalesced list `needles` lies inside
// some range of the sorted, coalesced list `hay`.
bool ranges_cover(const std::vector<value_range>& hay,
                  const std::vector<value_range>& needles) {
  auto h = hay.begin();
  for (const auto& n : needles) {
    while (h != hay.end() && h->end < n.begin)
      ++h;
    if (h == hay.end() || h->begin > n.begin || h->end < n.end)
      return false;
  }
  return true;
}

} // namespace

const std::string& resource::role() const noexcept {
  return reservations.empty() ? star : reservations.back().role;
}

bool resource::is_persistent_volume() const noexcept {
  return disk && disk->has_persistence();
}

resource resource::volume_source() const {
  resource out = *this;
  if (!is_persistent_volume())
    return out;
  if (disk->has_source()) {
    auto source_only = std::make_shared<v1::Resource::DiskInfo>();
    *source_only->mutable_source() = disk->source();
    out.disk = std::move(source_only);
  } else {
    out.disk.reset();
  }
  return out;
}

bool resource::is_empty() const noexcept {
  switch (type) {
    case kind::scalar: return milli == 0;
    case kind::ranges: return ranges.empty();
    case kind::set: return items.empty();
  }
  return true;
}

bool resource::same_identity(const resource& other) const noexcept {
  return name == other.name && type == other.type
         && revocable == other.revocable && shared == other.shared
         && allocation_role == other.allocation_role
         && reservations == other.reservations && same_disk(*this, other);
}

bool resource::covers(const resource& other) const noexcept {
  switch (type) {
    case kind::scalar:
      return milli >= other.milli;
    case kind::ranges:
      return ranges_cover(ranges, other.ranges);
    case kind::set:
      return std::includes(items.begin(), items.end(), other.items.begin(),
                           other.items.end());
  }
  return false;
}

bool is_allocatable_to(const resource& r, std::string_view role) noexcept {
  return !r.is_reserved() || is_subrole_or_same(role, r.role());
}

} // namespace dcos
