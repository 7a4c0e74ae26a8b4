// What the services' simulation suites share: the scenario they run (faults
// on every link and node while two workload frameworks start, fail and end
// tasks) and how a service's view is compared with the master's state.
#pragma once

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/resources.hpp"
#include "dcos/sim.hpp"

namespace dcos::test {

/// Odd seeds run three masters in an election (a service follows the
/// leader through its detector), even seeds one; eight agents; frameworks
/// "web0" and "web1" of 250 tasks each, relaunched when they fail; lost and
/// delayed messages, agent, node and master crashes and partitions from 5 s
/// to 90 s.
inline sim::scenario service_fault_scenario(uint64_t seed, std::string name) {
  using namespace std::chrono_literals;
  sim::scenario sc;
  sc.name = std::move(name);
  sc.masters = seed % 2 == 1 ? 3 : 1;
  sim::agent_group g;
  g.count = 8;
  g.total = *resources::parse("cpus:4;mem:8192;disk:10000;ports:[31000-31099]");
  sc.agents.push_back(g);
  for (int i = 0; i < 2; ++i) {
    sim::framework_spec f;
    f.name = fmt::format("web{}", i);
    f.tasks = 250;
    f.task_resources = *resources::parse("cpus:0.2;mem:64");
    f.task_duration = {20s, 120s};
    f.task_failure = 0.05;
    f.relaunch = true;
    f.start_at = std::chrono::seconds(i);
    sc.frameworks.push_back(f);
  }
  sc.links.delay = {100us, 5ms};
  sc.links.drop = 0.0005;
  sc.faults_from = 5s;
  sc.faults_until = 90s;
  sc.random.agent_crashes = 2;
  sc.random.node_crashes = 1;
  sc.random.partitions = 2;
  sc.random.master_crashes = 1;
  sc.random.down_time = {3s, 15s};
  sc.random.partition_time = {5s, 30s};
  sc.agent_ping_timeout = 5s;
  sc.max_agent_ping_timeouts = 3;
  sc.time_limit = std::chrono::minutes(20);
  return sc;
}

/// Empty if the sorted `served` and `expected` are equal; else "<service>
/// has N line(s) the master's state does not make (a few) and lacks M (a
/// few)".
inline std::string line_differences(const std::string& service,
                                    const std::vector<std::string>& served,
                                    const std::vector<std::string>& expected) {
  std::vector<std::string> extra, missing;
  std::set_difference(served.begin(), served.end(), expected.begin(),
                      expected.end(), std::back_inserter(extra));
  std::set_difference(expected.begin(), expected.end(), served.begin(),
                      served.end(), std::back_inserter(missing));
  if (extra.empty() && missing.empty())
    return "";
  auto some = [](const std::vector<std::string>& v) {
    std::vector<std::string> head(v.begin(),
                                  v.begin() + std::min<size_t>(v.size(), 3));
    return fmt::format("{}{}", fmt::join(head, "; "),
                       v.size() > 3 ? "; ..." : "");
  };
  return fmt::format("{} has {} line(s) the master's state does not make "
                     "({}) and lacks {} ({})",
                     service, extra.size(), some(extra), missing.size(),
                     some(missing));
}

/// Fails the test case unless `report` passed, with its violation, its
/// last events and how to replay `seed` alone with `program`.
inline void require_passed(const sim::report& report, uint64_t seed,
                           const char* program) {
  std::string trace;
  for (const auto& line : report.trace)
    trace += line + "\n";
  INFO("seed ", seed, ": ", report.violation, "\nlast events:\n", trace);
  REQUIRE_MESSAGE(report.passed,
                  "replay: DCOS_SIM_SEED=" << seed << " " << program);
}

} // namespace dcos::test
