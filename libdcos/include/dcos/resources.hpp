// dcos::resources: a bag of resources and the algebra Mesos defines on it.
//
// Invariants kept by every operation:
//  - no entry is empty (zero scalars, empty range lists and sets vanish);
//  - entries with the same identity (resource::same_identity) are merged into
//    one, except persistent volumes, which are atomic;
//  - subtraction saturates: taking away more than is there leaves nothing of
//    that entry, never a negative amount.
// So for all a, b: (a + b) - b == a, (a + b).contains(a), a.contains(a - b).
//
// Text format (Mesos): `cpus:4;mem:1024;disk(role1):100;ports:[31000-32000]`,
// `name(role):value` where value is a number, `[a-b,c-d]` or `{x,y}`. JSON
// format: an array of Mesos Resource objects. Errors name the bad token.
//
// Thread-safety: a const resources may be read from several threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <google/protobuf/repeated_field.h>

#include <dcos/resource.hpp>

namespace dcos {

class resources {
public:
  using const_iterator = std::vector<resource>::const_iterator;

  resources() = default;

  // -- parsing and conversion -----------------------------------------------

  /// Parses the text or JSON format (JSON when `text` starts with '[').
  /// Entries without a role in the text are reserved to `default_role`
  /// (statically) unless it is "*".
  static caf::expected<resources> parse(std::string_view text,
                                        std::string_view default_role = "*");

  /// Validates and converts wire resources. Accepts the deprecated
  /// role/reservation fields and turns them into the reservation stack.
  /// The error names the offending index and field.
  static caf::expected<resources>
  from_proto(const google::protobuf::RepeatedPtrField<v1::Resource>& xs);

  /// Validates and converts one wire resource.
  static caf::expected<resource> entry_from_proto(const v1::Resource& x);

  /// Appends the wire form of every entry to `out`.
  void to_proto(google::protobuf::RepeatedPtrField<v1::Resource>* out) const;

  /// The wire form of one entry.
  static v1::Resource entry_to_proto(const resource& x);

  /// Mesos text format. Unreserved and statically reserved entries print in
  /// the parseable form; richer entries print Mesos' descriptive form.
  std::string to_string() const;

  /// JSON array of Mesos Resource objects (snake_case field names).
  std::string to_json() const;

  // -- queries --------------------------------------------------------------

  bool empty() const noexcept { return entries_.empty(); }
  size_t size() const noexcept { return entries_.size(); }
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }

  /// Sum of all scalar entries named `name` across reservations, or nullopt
  /// if there is none.
  std::optional<double> scalar(std::string_view name) const;

  /// Union of all range entries named `name`, or nullopt if there is none.
  std::optional<std::vector<value_range>> ranges(std::string_view name) const;

  /// True if every amount in `that` is available here under the same
  /// identity (same reservations, disk, allocation).
  bool contains(const resources& that) const;
  bool contains(const resource& that) const;

  /// Same multiset of amounts (order of entries is irrelevant).
  friend bool operator==(const resources& a, const resources& b);

  // -- filters --------------------------------------------------------------

  template <class Predicate>
  resources filter(Predicate pred) const {
    resources result;
    for (const auto& r : entries_)
      if (pred(r))
        result.entries_.push_back(r);
    return result;
  }

  resources unreserved() const;
  /// Everything reserved, to any role.
  resources reserved() const;
  /// Entries whose innermost reservation is to exactly `role`.
  resources reserved(std::string_view role) const;
  /// Unreserved entries and those reserved to `role` or one of its ancestors.
  resources allocatable_to(std::string_view role) const;
  resources persistent_volumes() const;

  // -- transformations ------------------------------------------------------

  /// Plain quantities: reservations, allocation and disk identity dropped,
  /// entries of one name merged. Used for shares and quota accounting.
  resources flatten() const;

  /// Every entry marked as allocated to `role` (as offers carry them).
  resources allocate(std::string_view role) const&;
  /// The same, reusing this object's storage.
  resources allocate(std::string_view role) &&;
  resources unallocate() const&;
  resources unallocate() &&;

  /// Every entry with one more reservation level pushed (RESERVE).
  resources push_reservation(const reservation& level) const;
  /// Every entry with its innermost reservation popped (UNRESERVE).
  resources pop_reservation() const;

  // -- arithmetic -----------------------------------------------------------

  resources& operator+=(const resource& x);
  resources& operator+=(resource&& x);
  resources& operator+=(const resources& x);
  resources& operator-=(const resource& x);
  resources& operator-=(const resources& x);

  friend resources operator+(resources a, const resources& b) {
    return a += b;
  }

  friend resources operator-(resources a, const resources& b) {
    return a -= b;
  }

private:
  // The entry `x` would merge into, or null.
  resource* mergeable_entry(const resource& x);

  std::vector<resource> entries_;
};

/// Parses one range list "[a-b,c-d]" (also used for attributes).
caf::expected<std::vector<value_range>> parse_ranges(std::string_view text);

/// Formats thousandths as Mesos prints scalars ("4", "0.5", "1.234").
std::string format_milli(int64_t milli);

/// Converts a double to thousandths, rounding as Mesos does.
int64_t to_milli(double value) noexcept;

} // namespace dcos
