// Scenarios from YAML. Every field is optional; unknown fields are errors
// (a typo must not silently run a different scenario). Durations are
// "250ms", "30s", "5m", "1h" or "100us"; a span is one duration or a pair
// [min, max].
#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dcos/buggify.hpp"
#include "dcos/error.hpp"
#include "dcos/sim.hpp"
#include "../yaml/reader.hpp"

namespace dcos::sim {

namespace {

using yaml::bad_field;
using yaml::duration_of;
using yaml::fail;
using yaml::fields;
using yaml::scalar_of;

span span_of(const YAML::Node& n, const std::string& path) {
  if (n.IsSequence()) {
    if (n.size() != 2)
      fail(n, path, "a span is [min, max]");
    span s{duration_of(n[0], path + "[0]"), duration_of(n[1], path + "[1]")};
    if (s.max < s.min)
      fail(n, path, "max is below min");
    return s;
  }
  auto d = duration_of(n, path);
  return span{d, d};
}

double probability_of(const YAML::Node& n, const std::string& path) {
  auto p = scalar_of<double>(n, path);
  if (p < 0 || p > 1)
    fail(n, path, "a probability is between 0 and 1");
  return p;
}

resources resources_of(const YAML::Node& n, const std::string& path) {
  auto r = resources::parse(scalar_of<std::string>(n, path));
  if (!r)
    fail(n, path, describe_reason(r.error()));
  return *r;
}

fault_event::kind kind_of(const YAML::Node& n, const std::string& path) {
  auto text = scalar_of<std::string>(n, path);
  if (text == "crash_agent")
    return fault_event::kind::crash_agent;
  if (text == "crash_executors")
    return fault_event::kind::crash_executors;
  if (text == "crash_node")
    return fault_event::kind::crash_node;
  if (text == "lose_node")
    return fault_event::kind::lose_node;
  if (text == "crash_master")
    return fault_event::kind::crash_master;
  if (text == "crash_framework")
    return fault_event::kind::crash_framework;
  if (text == "partition")
    return fault_event::kind::partition;
  if (text == "drain_agent")
    return fault_event::kind::drain_agent;
  if (text == "maintenance")
    return fault_event::kind::maintenance;
  fail(n, path, fmt::format("'{}' is not a fault (crash_agent, "
                            "crash_executors, crash_node, lose_node, "
                            "crash_master, "
                            "crash_framework, partition, drain_agent, "
                            "maintenance)",
                            text));
}

scenario read(const YAML::Node& root) {
  scenario sc;
  fields(root, "",
         {"name", "description", "agents", "frameworks", "quota",
          "guarantees", "guarantee_within", "fairness",
          "links", "executor_link_delay", "faults",
          "random_faults", "disk", "clock_skew", "buggify", "faults_from",
          "faults_until", "time_limit", "converge_within", "agent_ping_timeout",
          "max_agent_ping_timeouts", "allocation_interval", "masters",
          "zk_session_timeout", "mutation"},
         [&](const std::string& key, const YAML::Node& v,
             const std::string& at) {
           if (key == "name")
             sc.name = scalar_of<std::string>(v, at);
           else if (key == "description")
             sc.description = scalar_of<std::string>(v, at);
           else if (key == "agents") {
             for (size_t i = 0; i < v.size(); ++i) {
               agent_group g;
               fields(v[i], fmt::format("{}[{}]", at, i),
                      {"count", "resources", "zone"},
                      [&](const std::string& k, const YAML::Node& x,
                          const std::string& p) {
                        if (k == "count")
                          g.count = scalar_of<size_t>(x, p);
                        else if (k == "resources")
                          g.total = resources_of(x, p);
                        else
                          g.zone = scalar_of<std::string>(x, p);
                      });
               sc.agents.push_back(std::move(g));
             }
           } else if (key == "frameworks") {
             for (size_t i = 0; i < v.size(); ++i) {
               framework_spec f;
               f.name = fmt::format("framework-{}", i);
               fields(v[i], fmt::format("{}[{}]", at, i),
                      {"name", "role", "weight", "tasks", "task_resources",
                       "task_duration", "task_failure", "task_oom",
                       "group_size", "start_at", "relaunch", "kill_at",
                       "vip", "partition_aware"},
                      [&](const std::string& k, const YAML::Node& x,
                          const std::string& p) {
                        if (k == "name")
                          f.name = scalar_of<std::string>(x, p);
                        else if (k == "role")
                          f.role = scalar_of<std::string>(x, p);
                        else if (k == "weight")
                          f.weight = scalar_of<double>(x, p);
                        else if (k == "tasks")
                          f.tasks = scalar_of<size_t>(x, p);
                        else if (k == "task_resources")
                          f.task_resources = resources_of(x, p);
                        else if (k == "task_duration")
                          f.task_duration = span_of(x, p);
                        else if (k == "task_failure")
                          f.task_failure = probability_of(x, p);
                        else if (k == "task_oom")
                          f.task_oom = probability_of(x, p);
                        else if (k == "group_size")
                          f.group_size = scalar_of<size_t>(x, p);
                        else if (k == "start_at")
                          f.start_at = duration_of(x, p);
                        else if (k == "relaunch")
                          f.relaunch = scalar_of<bool>(x, p);
                        else if (k == "vip")
                          f.vip = scalar_of<std::string>(x, p);
                        else if (k == "partition_aware")
                          f.partition_aware = scalar_of<bool>(x, p);
                        else
                          f.kill_at = duration_of(x, p);
                      });
               if (f.weight <= 0)
                 fail(v[i], fmt::format("{}[{}].weight", at, i),
                      "must be positive");
               sc.frameworks.push_back(std::move(f));
             }
           } else if (key == "executor_link_delay") {
             sc.executor_link_delay = span_of(v, at);
           } else if (key == "fairness") {
             sc.fairness = probability_of(v, at);
           } else if (key == "quota" || key == "guarantees") {
             if (!v.IsMap())
               fail(v, at, key == "quota"
                                     ? "must be a map from role to limits"
                                     : "must be a map from role to "
                                       "guarantees");
             auto& by_role = key == "quota" ? sc.quota : sc.guarantees;
             for (const auto& kv : v) {
               auto role = scalar_of<std::string>(kv.first, at);
               by_role[role] = resources_of(kv.second, at + "." + role);
             }
           } else if (key == "links") {
             fields(v, at, {"drop", "duplicate", "delay", "reorder"},
                    [&](const std::string& k, const YAML::Node& x,
                        const std::string& p) {
                      if (k == "drop")
                        sc.links.drop = probability_of(x, p);
                      else if (k == "duplicate")
                        sc.links.duplicate = probability_of(x, p);
                      else if (k == "delay")
                        sc.links.delay = span_of(x, p);
                      else
                        sc.links.reorder = scalar_of<bool>(x, p);
                    });
           } else if (key == "faults") {
             for (size_t i = 0; i < v.size(); ++i) {
               fault_event f;
               fields(v[i], fmt::format("{}[{}]", at, i),
                      {"kind", "at", "targets", "duration"},
                      [&](const std::string& k, const YAML::Node& x,
                          const std::string& p) {
                        if (k == "kind")
                          f.what = kind_of(x, p);
                        else if (k == "at")
                          f.at = duration_of(x, p);
                        else if (k == "duration")
                          f.duration = duration_of(x, p);
                        else
                          for (size_t j = 0; j < x.size(); ++j)
                            f.targets.push_back(scalar_of<std::string>(
                              x[j], fmt::format("{}[{}]", p, j)));
                      });
               sc.faults.push_back(std::move(f));
             }
           } else if (key == "random_faults") {
             auto& r = sc.random;
             fields(v, at,
                    {"agent_crashes", "executor_crashes", "node_crashes", "node_losses",
                     "partitions",
                     "master_crashes", "framework_crashes", "agent_drains",
                     "maintenance_windows",
                     "down_time", "partition_time"},
                    [&](const std::string& k, const YAML::Node& x,
                        const std::string& p) {
                      if (k == "agent_crashes")
                        r.agent_crashes = scalar_of<size_t>(x, p);
                      else if (k == "executor_crashes")
                        r.executor_crashes = scalar_of<size_t>(x, p);
                      else if (k == "node_crashes")
                        r.node_crashes = scalar_of<size_t>(x, p);
                      else if (k == "node_losses")
                        r.node_losses = scalar_of<size_t>(x, p);
                      else if (k == "partitions")
                        r.partitions = scalar_of<size_t>(x, p);
                      else if (k == "master_crashes")
                        r.master_crashes = scalar_of<size_t>(x, p);
                      else if (k == "framework_crashes")
                        r.framework_crashes = scalar_of<size_t>(x, p);
                      else if (k == "agent_drains")
                        r.agent_drains = scalar_of<size_t>(x, p);
                      else if (k == "maintenance_windows")
                        r.maintenance_windows = scalar_of<size_t>(x, p);
                      else if (k == "down_time")
                        r.down_time = span_of(x, p);
                      else
                        r.partition_time = span_of(x, p);
                    });
           } else if (key == "disk") {
             fields(v, at, {"write_latency", "write_failure", "lose_unsynced"},
                    [&](const std::string& k, const YAML::Node& x,
                        const std::string& p) {
                      if (k == "write_latency")
                        sc.disk.write_latency = span_of(x, p);
                      else if (k == "write_failure")
                        sc.disk.write_failure = probability_of(x, p);
                      else
                        sc.disk.lose_unsynced = scalar_of<bool>(x, p);
                    });
           } else if (key == "clock_skew")
             sc.clock_skew = duration_of(v, at);
           else if (key == "buggify")
             sc.buggify = probability_of(v, at);
           else if (key == "faults_from")
             sc.faults_from = duration_of(v, at);
           else if (key == "faults_until")
             sc.faults_until = duration_of(v, at);
           else if (key == "time_limit")
             sc.time_limit = duration_of(v, at);
           else if (key == "converge_within")
             sc.converge_within = duration_of(v, at);
           else if (key == "guarantee_within")
             sc.guarantee_within = duration_of(v, at);
           else if (key == "agent_ping_timeout")
             sc.agent_ping_timeout = duration_of(v, at);
           else if (key == "max_agent_ping_timeouts")
             sc.max_agent_ping_timeouts = scalar_of<uint32_t>(v, at);
           else if (key == "allocation_interval")
             sc.allocation_interval = duration_of(v, at);
           else if (key == "masters")
             sc.masters = scalar_of<size_t>(v, at);
           else if (key == "zk_session_timeout")
             sc.zk_session_timeout = duration_of(v, at);
           else
             sc.mutation = scalar_of<std::string>(v, at);
         });
  if (auto err = check_mutation(sc.mutation))
    throw bad_field{"mutation", 0, describe_reason(err)};
  if (sc.agents.empty())
    throw bad_field{"agents", 0, "a scenario needs at least one agent"};
  for (size_t i = 0; i < sc.agents.size(); ++i)
    if (sc.agents[i].total.empty())
      throw bad_field{fmt::format("agents[{}].resources", i), 0,
                      "an agent needs resources"};
  for (size_t i = 0; i < sc.frameworks.size(); ++i)
    if (sc.frameworks[i].tasks > 0 && sc.frameworks[i].task_resources.empty())
      throw bad_field{fmt::format("frameworks[{}].task_resources", i), 0,
                      "tasks need resources"};
  if (sc.masters == 0)
    throw bad_field{"masters", 0, "a cluster needs at least one master"};
  if (sc.masters > 1 && sc.zk_session_timeout < std::chrono::milliseconds(300))
    throw bad_field{"zk_session_timeout", 0, "must be at least 300ms"};
  if (sc.faults_until < sc.faults_from)
    throw bad_field{"faults_until", 0, "is before faults_from"};
  return sc;
}

} // namespace

caf::error check_mutation(std::string_view name) {
  const auto& known = known_mutants();
  if (name.empty() || std::find(known.begin(), known.end(), name)
                        != known.end())
    return {};
  return make_error(errc::invalid_argument,
                    fmt::format("unknown mutant '{}' (known: {})", name,
                                fmt::join(known, ", ")));
}

caf::expected<scenario> parse_scenario(const std::string& yaml) {
  try {
    return read(YAML::Load(yaml));
  } catch (const bad_field& e) {
    return make_error(errc::invalid_argument,
                      "scenario: " + yaml::describe(e));
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_argument,
                      fmt::format("scenario: not valid YAML: {}", e.what()));
  }
}

caf::expected<scenario> load_scenario(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found,
                      fmt::format("scenario: cannot read {}", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str());
}

} // namespace dcos::sim
