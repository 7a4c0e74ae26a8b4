#include "dcos/resources.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/role.hpp"

namespace dcos {

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

caf::error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Sorts and coalesces overlapping or adjacent ranges in place.
void normalize(std::vector<value_range>& xs) {
  std::sort(xs.begin(), xs.end(), [](const value_range& a, const value_range& b) {
    return a.begin < b.begin;
  });
  size_t out = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (out > 0 && (xs[out - 1].end == max_u64
                    || xs[i].begin <= xs[out - 1].end + 1)) {
      xs[out - 1].end = std::max(xs[out - 1].end, xs[i].end);
    } else {
      xs[out++] = xs[i];
    }
  }
  xs.resize(out);
}

// Removes every point of `sub` from `from` (both normalized).
void subtract_ranges(std::vector<value_range>& from,
                     const std::vector<value_range>& sub) {
  std::vector<value_range> result;
  result.reserve(from.size() + sub.size());
  auto s = sub.begin();
  for (auto r : from) {
    while (s != sub.end() && s->end < r.begin)
      ++s;
    auto t = s;
    bool alive = true;
    while (t != sub.end() && t->begin <= r.end) {
      if (t->begin > r.begin)
        result.push_back({r.begin, t->begin - 1});
      if (t->end >= r.end) {
        alive = false;
        break;
      }
      r.begin = t->end + 1;
      ++t;
    }
    if (alive)
      result.push_back(r);
  }
  from = std::move(result);
}

void add_amount(resource& into, const resource& x) {
  switch (into.type) {
    case resource::kind::scalar:
      into.milli += x.milli;
      break;
    case resource::kind::ranges:
      into.ranges.insert(into.ranges.end(), x.ranges.begin(), x.ranges.end());
      normalize(into.ranges);
      break;
    case resource::kind::set: {
      std::vector<std::string> merged;
      merged.reserve(into.items.size() + x.items.size());
      std::set_union(into.items.begin(), into.items.end(), x.items.begin(),
                     x.items.end(), std::back_inserter(merged));
      into.items = std::move(merged);
      break;
    }
  }
}

void subtract_amount(resource& from, const resource& x) {
  switch (from.type) {
    case resource::kind::scalar:
      from.milli = std::max<int64_t>(0, from.milli - x.milli);
      break;
    case resource::kind::ranges:
      subtract_ranges(from.ranges, x.ranges);
      break;
    case resource::kind::set: {
      std::vector<std::string> rest;
      std::set_difference(from.items.begin(), from.items.end(),
                          x.items.begin(), x.items.end(),
                          std::back_inserter(rest));
      from.items = std::move(rest);
      break;
    }
  }
}

caf::error parse_number(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()
      || !std::isfinite(out))
    return invalid("not a number");
  return {};
}

caf::error parse_u64(std::string_view text, uint64_t& out) {
  text = trim(text);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return invalid(fmt::format("'{}' is not a non-negative integer", text));
  return {};
}

// Parses one `name(role):value` token of the text format.
caf::expected<resource> parse_token(std::string_view token,
                                    std::string_view default_role) {
  auto fail = [&](std::string why) {
    return invalid(fmt::format("resources: '{}': {}", token, why));
  };
  auto colon = token.find(':');
  if (colon == std::string_view::npos)
    return fail("expected name:value");
  auto head = trim(token.substr(0, colon));
  auto value = trim(token.substr(colon + 1));
  resource r;
  std::string_view role = default_role;
  if (auto open = head.find('('); open != std::string_view::npos) {
    if (head.back() != ')')
      return fail("expected name(role)");
    role = trim(head.substr(open + 1, head.size() - open - 2));
    head = trim(head.substr(0, open));
  }
  if (head.empty())
    return fail("the resource name is empty");
  r.name.assign(head);
  if (role != "*") {
    if (auto err = validate_role(role))
      return fail(describe_reason(err));
    r.reservations.push_back({reservation::kind::static_reservation,
                              std::string{role}, {}, {}});
  }
  if (value.empty())
    return fail("the value is empty");
  if (value.front() == '[') {
    auto rs = parse_ranges(value);
    if (!rs)
      return fail(describe_reason(rs.error()));
    r.type = resource::kind::ranges;
    r.ranges = std::move(*rs);
  } else if (value.front() == '{') {
    if (value.back() != '}')
      return fail(fmt::format("'{}' is not a set {{a,b,...}}", value));
    r.type = resource::kind::set;
    auto body = value.substr(1, value.size() - 2);
    while (!trim(body).empty()) {
      auto comma = body.find(',');
      auto item = trim(body.substr(0, comma));
      if (item.empty())
        return fail(fmt::format("'{}' has an empty set item", value));
      r.items.emplace_back(item);
      if (comma == std::string_view::npos)
        break;
      body.remove_prefix(comma + 1);
    }
    std::sort(r.items.begin(), r.items.end());
    r.items.erase(std::unique(r.items.begin(), r.items.end()), r.items.end());
  } else {
    double x = 0;
    if (parse_number(value, x))
      return fail(fmt::format("'{}' is not a number, a range list [a-b,...] "
                              "or a set {{a,...}}",
                              value));
    if (x < 0)
      return fail(fmt::format("'{}' is negative", value));
    r.type = resource::kind::scalar;
    r.milli = to_milli(x);
  }
  return r;
}

void reservation_to_proto(const reservation& x,
                          v1::Resource::ReservationInfo* out) {
  out->set_type(x.type == reservation::kind::static_reservation
                  ? v1::Resource::ReservationInfo::STATIC
                  : v1::Resource::ReservationInfo::DYNAMIC);
  out->set_role(x.role);
  if (!x.principal.empty())
    out->set_principal(x.principal);
  for (auto& [key, value] : x.labels) {
    auto* label = out->mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
}

caf::error reservation_from_proto(const v1::Resource::ReservationInfo& x,
                                  reservation& out) {
  switch (x.type()) {
    case v1::Resource::ReservationInfo::STATIC:
      out.type = reservation::kind::static_reservation;
      break;
    case v1::Resource::ReservationInfo::DYNAMIC:
      out.type = reservation::kind::dynamic_reservation;
      break;
    default:
      return invalid("type must be STATIC or DYNAMIC");
  }
  if (!x.has_role())
    return invalid("role is missing");
  if (x.role() == "*")
    return invalid("role '*' cannot hold a reservation");
  if (auto err = validate_role(x.role()))
    return err;
  out.role = x.role();
  out.principal = x.principal();
  for (const auto& label : x.labels().labels())
    out.labels.emplace_back(label.key(), label.value());
  return {};
}

std::string describe_reservations(const resource& r) {
  std::string out = "(reservations: [";
  for (size_t i = 0; i < r.reservations.size(); ++i) {
    const auto& level = r.reservations[i];
    if (i > 0)
      out += ',';
    out += level.type == reservation::kind::static_reservation ? "(STATIC,"
                                                               : "(DYNAMIC,";
    out += level.role;
    if (!level.principal.empty())
      out += ',' + level.principal;
    out += ')';
  }
  out += "])";
  return out;
}

// Reads the pre-refinement format (Resource.role plus Resource.reservation)
// into the reservation stack. The only reader of those deprecated fields.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
caf::error legacy_reservation(const v1::Resource& x, resource& r) {
  if (!x.has_role() && !x.has_reservation())
    return {};
  if (x.reservations_size() > 0)
    return invalid(fmt::format("role/reservation and reservations are both "
                               "set ({})",
                               x.name()));
  if (!x.has_role() || x.role().empty())
    return invalid(fmt::format("reservation needs a role ({})", x.name()));
  if (x.role() == "*")
    return x.has_reservation()
             ? invalid(fmt::format("role '*' cannot hold a reservation ({})",
                                   x.name()))
             : caf::error{};
  reservation level;
  level.role = x.role();
  if (auto err = validate_role(level.role))
    return invalid(fmt::format("role: {}", describe_reason(err)));
  if (x.has_reservation()) {
    level.type = reservation::kind::dynamic_reservation;
    level.principal = x.reservation().principal();
    for (const auto& label : x.reservation().labels().labels())
      level.labels.emplace_back(label.key(), label.value());
  }
  r.reservations.push_back(std::move(level));
  return {};
}
#pragma GCC diagnostic pop

// True if every entry has the same allocation role: then entries differ in
// something else, and giving them all one role merges none of them.
bool one_allocation_role(const std::vector<resource>& entries) {
  for (const auto& r : entries)
    if (r.allocation_role != entries.front().allocation_role)
      return false;
  return true;
}

} // namespace

int64_t to_milli(double value) noexcept {
  return static_cast<int64_t>(std::llround(value * 1000.0));
}

std::string format_milli(int64_t milli) {
  auto whole = milli / 1000;
  auto frac = std::abs(milli % 1000);
  if (frac == 0)
    return std::to_string(whole);
  auto text = fmt::format("{}{}.{:03}", milli < 0 && whole == 0 ? "-" : "",
                          whole, frac);
  while (text.back() == '0')
    text.pop_back();
  return text;
}

caf::expected<std::vector<value_range>> parse_ranges(std::string_view text) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']')
    return invalid(fmt::format("'{}' is not a range list [a-b,...]", text));
  std::vector<value_range> result;
  auto body = text.substr(1, text.size() - 2);
  while (!trim(body).empty()) {
    auto comma = body.find(',');
    auto item = trim(body.substr(0, comma));
    auto dash = item.find('-');
    value_range r;
    if (dash == std::string_view::npos
        || parse_u64(item.substr(0, dash), r.begin)
        || parse_u64(item.substr(dash + 1), r.end))
      return invalid(fmt::format("'{}' is not a range a-b", item));
    if (r.begin > r.end)
      return invalid(fmt::format("range '{}' begins after it ends", item));
    result.push_back(r);
    if (comma == std::string_view::npos)
      break;
    body.remove_prefix(comma + 1);
  }
  normalize(result);
  return result;
}

caf::expected<resources> resources::parse(std::string_view text,
                                          std::string_view default_role) {
  if (default_role != "*") {
    if (auto err = validate_role(default_role))
      return invalid(fmt::format("default role: {}", describe_reason(err)));
  }
  auto trimmed = trim(text);
  resources result;
  if (!trimmed.empty() && trimmed.front() == '[') {
    v1::ResourceList list;
    std::string wrapped = "{\"resources\":";
    wrapped.append(trimmed);
    wrapped += '}';
    if (auto err = from_json(wrapped, &list, "resources JSON"))
      return err;
    return from_proto(list.resources());
  }
  while (!trim(text).empty()) {
    auto semi = text.find(';');
    auto token = trim(text.substr(0, semi));
    if (!token.empty()) {
      auto r = parse_token(token, default_role);
      if (!r)
        return r.error();
      result += *r;
    }
    if (semi == std::string_view::npos)
      break;
    text.remove_prefix(semi + 1);
  }
  return result;
}

caf::expected<resource> resources::entry_from_proto(const v1::Resource& x) {
  resource r;
  if (x.name().empty())
    return invalid("name is empty");
  r.name = x.name();
  auto amount_error = [&](std::string why) {
    return invalid(fmt::format("{} ({})", why, x.name()));
  };
  switch (x.type()) {
    case v1::Value::SCALAR: {
      if (!x.has_scalar())
        return amount_error("type SCALAR needs scalar.value");
      double v = x.scalar().value();
      if (!std::isfinite(v) || v < 0)
        return amount_error(fmt::format("scalar.value {} is not a "
                                        "non-negative number",
                                        v));
      r.type = resource::kind::scalar;
      r.milli = to_milli(v);
      break;
    }
    case v1::Value::RANGES:
      r.type = resource::kind::ranges;
      for (const auto& range : x.ranges().range()) {
        if (range.begin() > range.end())
          return amount_error(fmt::format("range {}-{} begins after it ends",
                                          range.begin(), range.end()));
        r.ranges.push_back({range.begin(), range.end()});
      }
      normalize(r.ranges);
      break;
    case v1::Value::SET:
      r.type = resource::kind::set;
      r.items.assign(x.set().item().begin(), x.set().item().end());
      std::sort(r.items.begin(), r.items.end());
      r.items.erase(std::unique(r.items.begin(), r.items.end()),
                    r.items.end());
      break;
    default:
      return amount_error("type must be SCALAR, RANGES or SET");
  }
  // Reservations: the stack, or the deprecated role/reservation pair.
  if (auto err = legacy_reservation(x, r))
    return err;
  for (int i = 0; i < x.reservations_size(); ++i) {
    reservation level;
    if (auto err = reservation_from_proto(x.reservations(i), level))
      return invalid(fmt::format("reservations[{}]: {}", i,
                                 describe_reason(err)));
    if (i > 0) {
      if (level.type == reservation::kind::static_reservation)
        return invalid(fmt::format("reservations[{}]: only the outermost "
                                   "reservation may be STATIC",
                                   i));
      const auto& parent = r.reservations.back().role;
      if (level.role == parent || !is_subrole_or_same(level.role, parent))
        return invalid(fmt::format("reservations[{}]: role '{}' does not "
                                   "refine '{}'",
                                   i, level.role, parent));
    }
    r.reservations.push_back(std::move(level));
  }
  if (x.has_allocation_info() && x.allocation_info().has_role())
    r.allocation_role = x.allocation_info().role();
  if (x.has_disk()) {
    if (x.name() != "disk")
      return invalid(fmt::format("disk info on a non-disk resource ({})",
                                 x.name()));
    if (x.disk().has_persistence() && x.disk().persistence().id().empty())
      return invalid("disk.persistence.id is empty (disk)");
    r.disk = std::make_shared<v1::Resource::DiskInfo>(x.disk());
  }
  r.revocable = x.has_revocable();
  r.shared = x.has_shared();
  return r;
}

caf::expected<resources> resources::from_proto(
  const google::protobuf::RepeatedPtrField<v1::Resource>& xs) {
  resources result;
  for (int i = 0; i < xs.size(); ++i) {
    auto r = entry_from_proto(xs.Get(i));
    if (!r)
      return invalid(fmt::format("resources[{}]: {}", i,
                                 describe_reason(r.error())));
    result += *r;
  }
  return result;
}

v1::Resource resources::entry_to_proto(const resource& x) {
  v1::Resource out;
  out.set_name(x.name);
  switch (x.type) {
    case resource::kind::scalar:
      out.set_type(v1::Value::SCALAR);
      out.mutable_scalar()->set_value(x.scalar());
      break;
    case resource::kind::ranges:
      out.set_type(v1::Value::RANGES);
      for (const auto& r : x.ranges) {
        auto* range = out.mutable_ranges()->add_range();
        range->set_begin(r.begin);
        range->set_end(r.end);
      }
      break;
    case resource::kind::set:
      out.set_type(v1::Value::SET);
      for (const auto& item : x.items)
        out.mutable_set()->add_item(item);
      break;
  }
  for (const auto& level : x.reservations)
    reservation_to_proto(level, out.add_reservations());
  if (!x.allocation_role.empty())
    out.mutable_allocation_info()->set_role(x.allocation_role);
  if (x.disk)
    *out.mutable_disk() = *x.disk;
  if (x.revocable)
    out.mutable_revocable();
  if (x.shared)
    out.mutable_shared();
  return out;
}

void resources::to_proto(
  google::protobuf::RepeatedPtrField<v1::Resource>* out) const {
  out->Reserve(out->size() + static_cast<int>(entries_.size()));
  for (const auto& r : entries_)
    *out->Add() = entry_to_proto(r);
}

std::string resources::to_string() const {
  std::string out;
  for (const auto& r : entries_) {
    if (!out.empty())
      out += ';';
    out += r.name;
    bool plain_static = r.reservations.size() == 1
                        && r.reservations[0].type
                             == reservation::kind::static_reservation
                        && r.reservations[0].principal.empty()
                        && r.reservations[0].labels.empty();
    if (plain_static)
      out += '(' + r.reservations[0].role + ')';
    else if (r.is_reserved())
      out += describe_reservations(r);
    if (!r.allocation_role.empty())
      out += "(allocated: " + r.allocation_role + ')';
    if (r.is_persistent_volume())
      out += "[" + r.disk->persistence().id() + ':'
             + r.disk->volume().container_path() + ']';
    out += ':';
    switch (r.type) {
      case resource::kind::scalar:
        out += format_milli(r.milli);
        break;
      case resource::kind::ranges: {
        out += '[';
        for (size_t i = 0; i < r.ranges.size(); ++i)
          out += fmt::format("{}{}-{}", i > 0 ? "," : "", r.ranges[i].begin,
                             r.ranges[i].end);
        out += ']';
        break;
      }
      case resource::kind::set:
        out += fmt::format("{{{}}}", fmt::join(r.items, ","));
        break;
    }
  }
  return out;
}

std::string resources::to_json() const {
  v1::ResourceList list;
  to_proto(list.mutable_resources());
  auto wrapped = dcos::to_json(list);
  // {"resources":[...]} -> [...]; an empty list prints as {}.
  if (wrapped == "{}")
    return "[]";
  return wrapped.substr(13, wrapped.size() - 14);
}

std::optional<double> resources::scalar(std::string_view name) const {
  std::optional<int64_t> total;
  for (const auto& r : entries_)
    if (r.type == resource::kind::scalar && r.name == name)
      total = total.value_or(0) + r.milli;
  if (!total)
    return std::nullopt;
  return static_cast<double>(*total) / 1000.0;
}

std::optional<std::vector<value_range>>
resources::ranges(std::string_view name) const {
  std::optional<std::vector<value_range>> total;
  for (const auto& r : entries_) {
    if (r.type == resource::kind::ranges && r.name == name) {
      if (!total)
        total.emplace();
      total->insert(total->end(), r.ranges.begin(), r.ranges.end());
    }
  }
  if (total)
    normalize(*total);
  return total;
}

bool resources::contains(const resource& that) const {
  if (that.is_empty())
    return true;
  for (const auto& r : entries_) {
    if (!r.same_identity(that))
      continue;
    // Same identity includes the same persistence id. A volume is atomic,
    // as in Mesos: only the whole of it is held, never a part.
    if (r.is_persistent_volume() && !r.shared) {
      if (r.milli == that.milli)
        return true;
      continue;
    }
    if (r.is_persistent_volume())
      return true;
    return r.covers(that);
  }
  return false;
}

bool resources::contains(const resources& that) const {
  // Entries of a bag have distinct identities, except for atomic volumes
  // that may repeat; only then must each match consume what it matched.
  bool repeats = std::any_of(that.entries_.begin(), that.entries_.end(),
                             [](const resource& r) {
                               return r.is_persistent_volume() && !r.shared;
                             });
  if (!repeats) {
    return std::all_of(that.entries_.begin(), that.entries_.end(),
                       [this](const resource& r) { return contains(r); });
  }
  resources remaining = *this;
  for (const auto& r : that.entries_) {
    if (!remaining.contains(r))
      return false;
    remaining -= r;
  }
  return true;
}

bool operator==(const resources& a, const resources& b) {
  return a.size() == b.size() && a.contains(b) && b.contains(a);
}

resources resources::unreserved() const {
  return filter([](const resource& r) { return !r.is_reserved(); });
}

resources resources::reserved() const {
  return filter([](const resource& r) { return r.is_reserved(); });
}

resources resources::reserved(std::string_view role) const {
  return filter([role](const resource& r) {
    return r.is_reserved() && r.role() == role;
  });
}

resources resources::allocatable_to(std::string_view role) const {
  return filter(
    [role](const resource& r) { return is_allocatable_to(r, role); });
}

resources resources::persistent_volumes() const {
  return filter([](const resource& r) { return r.is_persistent_volume(); });
}

resources resources::flatten() const {
  resources result;
  for (auto r : entries_) {
    r.reservations.clear();
    r.allocation_role.clear();
    r.disk.reset();
    r.revocable = false;
    r.shared = false;
    result += r;
  }
  return result;
}

resources resources::allocate(std::string_view role) const& {
  return resources{*this}.allocate(role);
}

resources resources::allocate(std::string_view role) && {
  if (one_allocation_role(entries_)) { // the common case: in place
    for (auto& r : entries_)
      r.allocation_role.assign(role);
    return std::move(*this);
  }
  // Entries that differed only in their allocation role become one.
  std::vector<resource> entries = std::move(entries_);
  entries_.clear();
  entries_.reserve(entries.size());
  for (auto& r : entries) {
    r.allocation_role.assign(role);
    *this += std::move(r);
  }
  return std::move(*this);
}

resources resources::unallocate() const& {
  return resources{*this}.unallocate();
}

resources resources::unallocate() && {
  if (one_allocation_role(entries_)) {
    for (auto& r : entries_)
      r.allocation_role.clear();
    return std::move(*this);
  }
  std::vector<resource> entries = std::move(entries_);
  entries_.clear();
  entries_.reserve(entries.size());
  for (auto& r : entries) {
    r.allocation_role.clear();
    *this += std::move(r);
  }
  return std::move(*this);
}

resources resources::push_reservation(const reservation& level) const {
  resources result;
  for (auto r : entries_) {
    r.reservations.push_back(level);
    result += r;
  }
  return result;
}

resources resources::pop_reservation() const {
  resources result;
  for (auto r : entries_) {
    if (!r.reservations.empty())
      r.reservations.pop_back();
    result += r;
  }
  return result;
}

resource* resources::mergeable_entry(const resource& x) {
  if (x.is_persistent_volume() && !x.shared)
    return nullptr; // atomic: never merged
  for (auto& r : entries_)
    if (r.same_identity(x))
      return &r;
  return nullptr;
}

resources& resources::operator+=(const resource& x) {
  if (x.is_empty())
    return *this;
  if (auto* r = mergeable_entry(x))
    add_amount(*r, x);
  else
    entries_.push_back(x);
  return *this;
}

resources& resources::operator+=(resource&& x) {
  if (x.is_empty())
    return *this;
  if (auto* r = mergeable_entry(x))
    add_amount(*r, x);
  else
    entries_.push_back(std::move(x));
  return *this;
}

resources& resources::operator+=(const resources& x) {
  for (const auto& r : x.entries_)
    *this += r;
  return *this;
}

resources& resources::operator-=(const resource& x) {
  if (x.is_empty())
    return *this;
  for (auto i = entries_.begin(); i != entries_.end(); ++i) {
    if (!i->same_identity(x))
      continue;
    if (i->is_persistent_volume() && !i->shared) {
      // Atomic: the whole volume goes, and a part of it takes nothing away.
      if (i->milli != x.milli)
        continue;
      entries_.erase(i);
      return *this;
    }
    subtract_amount(*i, x);
    if (i->is_empty())
      entries_.erase(i);
    return *this;
  }
  return *this;
}

resources& resources::operator-=(const resources& x) {
  for (const auto& r : x.entries_)
    *this -= r;
  return *this;
}

} // namespace dcos
