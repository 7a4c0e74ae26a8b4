// Placement constraints, as Marathon spells them: ["hostname", "UNIQUE"],
// ["rack", "GROUP_BY", "3"], ["@zone", "LIKE", "us-east-.*"]. Part of the
// launch machinery every scheduler of the user space shares (DESIGN.md):
// the offer matcher asks whether one more instance may go where an offer
// is, given where the other instances of the same app already are.
//
// A constraint names a field of the agent: "hostname" (or "@hostname"),
// "@region", "@zone" (the agent's fault domain), or an attribute (text,
// or a scalar printed as Mesos prints it). Operators, as in Marathon:
//  - UNIQUE: no other instance on an agent with the same value;
//  - CLUSTER v: only where the value is v (without v: where the first
//    instance went);
//  - GROUP_BY [n]: spread evenly over the values (over n of them when n is
//    given, even before n were seen; without n, over the values seen);
//  - LIKE re / UNLIKE re: the value matches (does not match) the regular
//    expression in full; an agent without the field is unlike everything;
//  - MAX_PER n: at most n instances per value;
//  - IS v: the value is v.
//
// Thread-safety: plain values and functions.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <google/protobuf/repeated_field.h>

#include <dcos/v1/offer.pb.h>

namespace dcos {

struct placement_constraint {
  std::string field;
  std::string op;   // UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS
  std::string value; // "" when the operator takes none
  std::regex pattern; // LIKE and UNLIKE
  int limit = 0;      // MAX_PER; GROUP_BY's n (0: not given)

  /// The constraint as Marathon prints it: ["field", "OP", "value"].
  std::string to_string() const;
};

/// Parses ["field", "OP"] or ["field", "OP", "value"]. Fails with
/// errc::invalid_argument saying what is wrong (an unknown operator, a
/// missing or extra value, a value that is not a number or not a regular
/// expression).
caf::expected<placement_constraint>
parse_placement_constraint(const std::vector<std::string>& parts);

/// Where an instance is, or might go: the agent's fields.
struct placement_site {
  std::string hostname;
  std::string region;
  std::string zone;
  google::protobuf::RepeatedPtrField<v1::Attribute> attributes;

  static placement_site of(const v1::Offer& offer);

  /// The value of `field` here, or false if this agent has no such field.
  bool value_of(const std::string& field, std::string* out) const;
};

/// Empty if one more instance may go to `candidate` while the app's other
/// instances are at `placed`; else why not, naming the constraint.
std::string placement_violation(const placement_constraint& c,
                                const placement_site& candidate,
                                const std::vector<placement_site>& placed);

} // namespace dcos
