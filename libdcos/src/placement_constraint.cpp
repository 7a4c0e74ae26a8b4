#include "dcos/placement_constraint.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos {

namespace {

caf::error bad(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

// Mesos' text for an attribute's value.
std::string attribute_text(const v1::Attribute& a) {
  if (a.has_text())
    return a.text().value();
  if (a.has_ranges()) {
    std::vector<std::string> parts;
    for (const auto& r : a.ranges().range())
      parts.push_back(fmt::format("{}-{}", r.begin(), r.end()));
    return fmt::format("[{}]", fmt::join(parts, ", "));
  }
  if (a.has_set())
    return fmt::format("{{{}}}", fmt::join(a.set().item(), ", "));
  return fmt::format("{}", a.scalar().value());
}

// How many of `placed` have each value of `field`.
std::map<std::string, int> count_by_value(const std::string& field,
                                          const std::vector<placement_site>& placed) {
  std::map<std::string, int> counts;
  std::string value;
  for (const auto& site : placed)
    if (site.value_of(field, &value))
      ++counts[value];
  return counts;
}

} // namespace

std::string placement_constraint::to_string() const {
  if (value.empty())
    return fmt::format("[\"{}\", \"{}\"]", field, op);
  return fmt::format("[\"{}\", \"{}\", \"{}\"]", field, op, value);
}

caf::expected<placement_constraint>
parse_placement_constraint(const std::vector<std::string>& parts) {
  if (parts.size() < 2 || parts.size() > 3)
    return bad("a constraint is [field, operator] or [field, operator, "
               "value]");
  placement_constraint c;
  c.field = parts[0];
  c.op = parts[1];
  if (parts.size() == 3)
    c.value = parts[2];
  if (c.field.empty())
    return bad("the constraint's field is empty");
  bool has_value = parts.size() == 3;
  if (c.op == "UNIQUE") {
    if (has_value)
      return bad("UNIQUE takes no value");
  } else if (c.op == "CLUSTER") {
    // The value is optional: without it, instances follow the first one.
  } else if (c.op == "IS") {
    if (!has_value)
      return bad("IS needs a value");
  } else if (c.op == "LIKE" || c.op == "UNLIKE") {
    if (!has_value)
      return bad(fmt::format("{} needs a regular expression", c.op));
    try {
      c.pattern = std::regex{c.value, std::regex::extended};
    } catch (const std::regex_error& e) {
      return bad(fmt::format("'{}' is not a valid regular expression: {}",
                             c.value, e.what()));
    }
  } else if (c.op == "MAX_PER" || c.op == "GROUP_BY") {
    if (c.op == "MAX_PER" && !has_value)
      return bad("MAX_PER needs a number");
    if (has_value) {
      size_t used = 0;
      try {
        c.limit = std::stoi(c.value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != c.value.size() || c.limit < 1)
        return bad(fmt::format("{} needs a positive integer, not '{}'", c.op,
                               c.value));
    }
  } else {
    return bad(fmt::format("unknown constraint operator '{}' (use UNIQUE, "
                           "CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)",
                           c.op));
  }
  return c;
}

placement_site placement_site::of(const v1::Offer& offer) {
  placement_site site;
  site.hostname = offer.hostname();
  site.region = offer.domain().fault_domain().region().name();
  site.zone = offer.domain().fault_domain().zone().name();
  site.attributes = offer.attributes();
  return site;
}

bool placement_site::value_of(const std::string& field,
                              std::string* out) const {
  if (field == "hostname" || field == "@hostname") {
    *out = hostname;
    return true;
  }
  if (field == "@region" || field == "@zone") {
    *out = field == "@region" ? region : zone;
    return !out->empty();
  }
  for (const auto& a : attributes)
    if (a.name() == field) {
      *out = attribute_text(a);
      return true;
    }
  return false;
}

std::string placement_violation(const placement_constraint& c,
                                const placement_site& candidate,
                                const std::vector<placement_site>& placed) {
  std::string value;
  bool has = candidate.value_of(c.field, &value);
  auto fails = [&](std::string_view why) {
    return fmt::format("constraint {} not met: {}", c.to_string(), why);
  };
  if (c.op == "LIKE" || c.op == "UNLIKE") {
    bool like = has && std::regex_match(value, c.pattern);
    if (like == (c.op == "LIKE"))
      return {};
    return fails(has ? fmt::format("{} is '{}'", c.field, value)
                     : fmt::format("the agent has no {}", c.field));
  }
  if (!has)
    return fails(fmt::format("the agent has no {}", c.field));
  if (c.op == "IS" || (c.op == "CLUSTER" && !c.value.empty()))
    return value == c.value ? std::string{}
                            : fails(fmt::format("{} is '{}'", c.field, value));
  if (c.op != "GROUP_BY") {
    // Only this value's count matters: a scan, not a map of every value
    // (a service's deploy asks once per pending instance and offer).
    int here = 0;
    bool others = false;
    std::string theirs;
    for (const auto& site : placed)
      if (site.value_of(c.field, &theirs)) {
        others = true;
        here += theirs == value ? 1 : 0;
      }
    if (c.op == "CLUSTER") // without a value: where the others are
      return !others || here > 0
               ? std::string{}
               : fails(fmt::format("the others are on another {}", c.field));
    if (c.op == "UNIQUE")
      return here == 0 ? std::string{}
                       : fails(fmt::format("an instance runs where {} is "
                                           "'{}'",
                                           c.field, value));
    return here < c.limit // MAX_PER
             ? std::string{}
             : fails(fmt::format("{} instances run where {} is '{}'", here,
                                 c.field, value));
  }
  auto counts = count_by_value(c.field, placed);
  auto here = counts.count(value) ? counts[value] : 0;
  // GROUP_BY: only the least used values take more; values not seen yet
  // count as 0 while fewer than n were seen.
  int least = here;
  bool unseen_groups = c.limit > 0 && static_cast<int>(counts.size()) < c.limit;
  if (unseen_groups || counts.count(value) == 0)
    least = std::min(least, 0);
  for (const auto& [other, n] : counts)
    least = std::min(least, n);
  return here <= least
           ? std::string{}
           : fails(fmt::format("{} already has {} of the instances, others "
                               "fewer",
                               value, here));
}

} // namespace dcos
