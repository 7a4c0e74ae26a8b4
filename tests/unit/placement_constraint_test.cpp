// Placement constraints: parsing refuses what Marathon refuses, naming the
// problem, and each operator admits exactly the agents Marathon's does.
#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/placement_constraint.hpp"

using namespace dcos;

namespace {

placement_site site(std::string host, std::string rack = {},
                    std::string zone = {}) {
  placement_site s;
  s.hostname = std::move(host);
  s.zone = std::move(zone);
  if (!rack.empty()) {
    auto* a = s.attributes.Add();
    a->set_name("rack");
    a->set_type(v1::Value::TEXT);
    a->mutable_text()->set_value(rack);
  }
  return s;
}

placement_constraint parse(std::vector<std::string> parts) {
  auto c = parse_placement_constraint(parts);
  REQUIRE_MESSAGE(c, describe(c.error()));
  return std::move(*c);
}

bool admits(const placement_constraint& c, const placement_site& s,
            const std::vector<placement_site>& placed = {}) {
  return placement_violation(c, s, placed).empty();
}

} // namespace

TEST_CASE("bad constraints are refused with what is wrong") {
  auto error_of = [](std::vector<std::string> parts) {
    auto c = parse_placement_constraint(parts);
    REQUIRE_FALSE(c);
    return describe(c.error());
  };
  CHECK(error_of({"hostname", "SPREAD"}).find("unknown constraint operator "
                                              "'SPREAD'")
        != std::string::npos);
  CHECK(error_of({"hostname"}).find("[field, operator]") != std::string::npos);
  CHECK(error_of({"hostname", "UNIQUE", "x"}).find("UNIQUE takes no value")
        != std::string::npos);
  CHECK(error_of({"rack", "MAX_PER", "two"}).find("positive integer")
        != std::string::npos);
  CHECK(error_of({"rack", "MAX_PER", "0"}).find("positive integer")
        != std::string::npos);
  CHECK(error_of({"rack", "LIKE"}).find("regular expression")
        != std::string::npos);
  CHECK(error_of({"rack", "LIKE", "(a"}).find("not a valid regular")
        != std::string::npos);
  CHECK(error_of({"rack", "IS"}).find("IS needs a value") != std::string::npos);
}

TEST_CASE("UNIQUE, MAX_PER and CLUSTER count the instances already placed") {
  auto unique = parse({"hostname", "UNIQUE"});
  CHECK(admits(unique, site("a"), {site("b")}));
  auto why = placement_violation(unique, site("a"), {site("a")});
  CHECK(why == "constraint [\"hostname\", \"UNIQUE\"] not met: an instance "
               "runs where hostname is 'a'");
  auto max_per = parse({"rack", "MAX_PER", "2"});
  CHECK(admits(max_per, site("a", "r1"), {site("b", "r1")}));
  CHECK_FALSE(admits(max_per, site("a", "r1"),
                     {site("b", "r1"), site("c", "r1")}));
  CHECK_FALSE(admits(max_per, site("a"))); // no rack attribute
  auto follow = parse({"rack", "CLUSTER"});
  CHECK(admits(follow, site("a", "r1")));
  CHECK(admits(follow, site("a", "r1"), {site("b", "r1")}));
  CHECK_FALSE(admits(follow, site("a", "r2"), {site("b", "r1")}));
  auto fixed = parse({"rack", "CLUSTER", "r2"});
  CHECK(admits(fixed, site("a", "r2")));
  CHECK_FALSE(admits(fixed, site("a", "r1")));
}

TEST_CASE("GROUP_BY spreads evenly, over n values when n is given") {
  // Without n, only the values seen count (as Marathon): a value with the
  // fewest instances, or a new one, takes the next.
  auto spread = parse({"rack", "GROUP_BY"});
  CHECK(admits(spread, site("a", "r1"), {site("b", "r2")}));
  CHECK(admits(spread, site("a", "r1"), {site("b", "r1")}));
  CHECK(admits(spread, site("a", "r1"), {site("b", "r1"), site("c", "r2")}));
  CHECK_FALSE(admits(spread, site("a", "r1"),
                     {site("b", "r1"), site("c", "r1"), site("d", "r2")}));
  // With n = 3, a third rack is expected: r1 waits until one is used.
  auto three = parse({"rack", "GROUP_BY", "3"});
  CHECK_FALSE(admits(three, site("a", "r1"),
                     {site("b", "r1"), site("c", "r2")}));
  CHECK(admits(three, site("a", "r3"), {site("b", "r1"), site("c", "r2")}));
}

TEST_CASE("LIKE, UNLIKE and IS match the whole value; @zone is the fault "
          "domain") {
  auto like = parse({"rack", "LIKE", "r[12]"});
  CHECK(admits(like, site("a", "r1")));
  CHECK_FALSE(admits(like, site("a", "r10")));
  CHECK_FALSE(admits(like, site("a"))); // no such attribute
  auto unlike = parse({"hostname", "UNLIKE", "bad-.*"});
  CHECK(admits(unlike, site("good-1")));
  CHECK_FALSE(admits(unlike, site("bad-1")));
  CHECK(admits(parse({"rack", "UNLIKE", "r1"}), site("a")));
  auto zone = parse({"@zone", "IS", "z1"});
  CHECK(admits(zone, site("a", "", "z1")));
  CHECK_FALSE(admits(zone, site("a", "", "z2")));
  CHECK_FALSE(admits(zone, site("a")));
  CHECK(admits(parse({"@hostname", "IS", "a"}), site("a")));
}
