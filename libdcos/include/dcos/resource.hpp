// One resource entry in the compact form libdcos computes with.
//
// The wire form is v1::Resource; this struct is what dcos::resources (and
// the allocator) hold: scalars as integer thousandths (Mesos keeps three
// decimal digits), ranges sorted and coalesced, sets sorted and unique.
// Conversion happens once at the edge (resources::from_proto / to_proto).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <dcos/v1/resources.pb.h>

namespace dcos {

/// An inclusive range [begin, end].
struct value_range {
  uint64_t begin = 0;
  uint64_t end = 0;

  friend bool operator==(const value_range&, const value_range&) = default;
};

/// One level of a resource's reservation stack.
struct reservation {
  enum class kind : uint8_t {
    static_reservation,  // configured on the agent
    dynamic_reservation, // made by a framework or operator (RESERVE)
  };

  kind type = kind::static_reservation;
  std::string role;
  std::string principal; // empty: none
  std::vector<std::pair<std::string, std::string>> labels;

  friend bool operator==(const reservation&, const reservation&) = default;
};

struct resource {
  enum class kind : uint8_t { scalar, ranges, set };

  std::string name;
  kind type = kind::scalar;
  int64_t milli = 0;               // kind::scalar: value * 1000
  std::vector<value_range> ranges; // kind::ranges: sorted, disjoint, gapped
  std::vector<std::string> items;  // kind::set: sorted, unique
  std::vector<reservation> reservations; // outermost first; empty: "*"
  std::string allocation_role;     // empty: not allocated
  // Disk identity (persistent volume, mount source); shared because copies
  // of resources are frequent and disk infos are immutable once made.
  std::shared_ptr<const v1::Resource::DiskInfo> disk;
  bool revocable = false;
  bool shared = false;

  /// The scalar value as a double (three decimals).
  double scalar() const noexcept {
    return static_cast<double>(milli) / 1000.0;
  }

  /// The role this resource is reserved to ("*" when unreserved).
  const std::string& role() const noexcept;

  bool is_reserved() const noexcept {
    return !reservations.empty();
  }

  bool is_dynamically_reserved() const noexcept {
    return !reservations.empty()
           && reservations.back().type == reservation::kind::dynamic_reservation;
  }

  /// True for disk carrying a persistence id: such entries are atomic (never
  /// merged with or split from another entry).
  bool is_persistent_volume() const noexcept;

  /// The disk a persistent volume is made of: this entry without its
  /// persistence and volume, its disk source (a mount or path disk) kept.
  /// A copy of this entry if it is not a volume.
  resource volume_source() const;

  /// True if the entry holds no amount (zero scalar, no ranges, no items).
  bool is_empty() const noexcept;

  /// True if `other` differs at most in amount, so the two can be added or
  /// subtracted as one entry.
  bool same_identity(const resource& other) const noexcept;

  /// True if this entry's amount covers `other`'s (same identity assumed).
  bool covers(const resource& other) const noexcept;
};

/// True if `role` may use resources reserved to `reserved_role`: the same
/// role or a sub-role of it ("a/b" may use what is reserved to "a").
bool is_allocatable_to(const resource& r, std::string_view role) noexcept;

} // namespace dcos
