// The service spec parser: a walk over the YAML tree that fills the
// protobuf spec field by field (yaml/reader.hpp names every error's path
// and line), then the checks that need the whole spec (phases name pods,
// steps name tasks, tasks have resources).
#include "dcos/service_spec.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "dcos/config_template.hpp"
#include "dcos/error.hpp"
#include "dcos/placement_constraint.hpp"
#include "../yaml/reader.hpp"

namespace dcos {

namespace {

using v1::ServiceSpec;
using yaml::bad_field;
using yaml::entries;
using yaml::fail;
using yaml::fields;
using yaml::scalar_of;

// A whole number in [min, max]; YAML's own parse would wrap "-1" into an
// unsigned.
int64_t integer_of(const YAML::Node& n, const std::string& path, int64_t min,
                   int64_t max) {
  auto v = scalar_of<int64_t>(n, path);
  if (v < min)
    fail(n, path,
         min == 0 ? "must not be negative" : fmt::format("must be at least {}",
                                                         min));
  if (v > max)
    fail(n, path, fmt::format("must be at most {}", max));
  return v;
}

double positive_of(const YAML::Node& n, const std::string& path) {
  auto v = scalar_of<double>(n, path);
  if (!(v > 0))
    fail(n, path, "must be positive");
  return v;
}

std::string name_of(const YAML::Node& n, const std::string& path) {
  auto v = scalar_of<std::string>(n, path);
  if (v.empty())
    fail(n, path, "must not be empty");
  return v;
}

// Names become parts of task names, DNS labels and store keys.
void check_name(const YAML::Node& n, const std::string& path,
                const std::string& name) {
  if (name.empty())
    fail(n, path, "a name must not be empty");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'
          || c == '_'))
      fail(n, path,
           fmt::format("'{}' is not a valid name (letters, digits, '-' and "
                       "'_' only)",
                       name));
}

// Placement as dcos-commons takes it: Marathon's JSON form
// '[["hostname", "UNIQUE"]]', or the colon form "hostname:UNIQUE,rack:
// GROUP_BY:3". Kept as the JSON form; every constraint is checked here.
std::string placement_of(const YAML::Node& n, const std::string& path) {
  auto text = scalar_of<std::string>(n, path);
  std::vector<std::vector<std::string>> parsed;
  auto first = text.find_first_not_of(" \t\n");
  if (first != std::string::npos && text[first] == '[') {
    YAML::Node doc;
    try {
      doc.reset(YAML::Load(text)); // JSON is YAML
    } catch (const YAML::Exception&) {
      fail(n, path, "is not valid JSON");
    }
    if (!doc.IsSequence())
      fail(n, path, "must be a list of constraints");
    for (const auto& c : doc) {
      if (!c.IsSequence())
        fail(n, path, "each constraint is a list: [\"field\", \"OP\", ...]");
      std::vector<std::string> parts;
      for (const auto& p : c) {
        if (!p.IsScalar())
          fail(n, path, "a constraint holds strings only");
        parts.push_back(p.as<std::string>());
      }
      parsed.push_back(std::move(parts));
    }
  } else {
    std::stringstream all{text};
    std::string one;
    while (std::getline(all, one, ',')) {
      std::vector<std::string> parts;
      std::stringstream fields_of{one};
      std::string part;
      while (std::getline(fields_of, part, ':'))
        parts.push_back(part);
      if (!parts.empty())
        parsed.push_back(std::move(parts));
    }
  }
  std::string json = "[";
  for (const auto& parts : parsed) {
    auto c = parse_placement_constraint(parts);
    if (!c)
      fail(n, path, describe_reason(c.error()));
    if (json.size() > 1)
      json += ", ";
    json += c->to_string();
  }
  return json + "]";
}

ServiceSpec::Volume volume_of(const YAML::Node& n, const std::string& path,
                              std::string name) {
  ServiceSpec::Volume v;
  v.set_name(std::move(name));
  bool has_path = false, has_size = false;
  fields(n, path, {"path", "type", "size"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "path") {
             v.set_path(name_of(x, at));
             has_path = true;
           } else if (k == "type") {
             auto type = scalar_of<std::string>(x, at);
             if (type == "ROOT")
               v.set_type(ServiceSpec::Volume::ROOT);
             else if (type == "MOUNT")
               v.set_type(ServiceSpec::Volume::MOUNT);
             else
               fail(x, at,
                    fmt::format("'{}' is not a volume type (ROOT, MOUNT)",
                                type));
           } else {
             v.set_size_mb(positive_of(x, at));
             has_size = true;
           }
         });
  if (!has_path)
    fail(n, yaml::child(path, "path"), "is required");
  if (!has_size)
    fail(n, yaml::child(path, "size"), "is required");
  return v;
}

// `volume:` (one) and `volumes:` (a map of named ones).
void volumes_of(const std::string& key, const YAML::Node& n,
                const std::string& path,
                google::protobuf::RepeatedPtrField<ServiceSpec::Volume>* out) {
  if (key == "volume") {
    *out->Add() = volume_of(n, path, "");
    return;
  }
  entries(n, path,
          [&](const std::string& name, const YAML::Node& x,
              const std::string& at) {
            check_name(x, at, name);
            *out->Add() = volume_of(x, at, name);
          });
}

std::string default_env_key(const std::string& port) {
  std::string key = "PORT_";
  for (char c : port)
    key += c == '-' ? '_'
                    : static_cast<char>(std::toupper(static_cast<unsigned char>(
                        c)));
  return key;
}

void ports_of(const YAML::Node& n, const std::string& path,
              google::protobuf::RepeatedPtrField<ServiceSpec::Port>* out) {
  entries(n, path, [&](const std::string& name, const YAML::Node& x,
                       const std::string& at) {
    check_name(x, at, name);
    auto& p = *out->Add();
    p.set_name(name);
    p.set_env_key(default_env_key(name));
    fields(x, at, {"port", "env-key", "advertise", "vip"},
           [&](const std::string& k, const YAML::Node& y,
               const std::string& where) {
             if (k == "port")
               p.set_port(static_cast<uint32_t>(integer_of(y, where, 0,
                                                           65535)));
             else if (k == "env-key")
               p.set_env_key(name_of(y, where));
             else if (k == "advertise")
               p.set_advertise(scalar_of<bool>(y, where));
             else {
               auto& vip = *p.mutable_vip();
               vip.set_prefix(name);
               bool has_port = false;
               fields(y, where, {"prefix", "port"},
                      [&](const std::string& v, const YAML::Node& z,
                          const std::string& w) {
                        if (v == "prefix") {
                          vip.set_prefix(name_of(z, w));
                        } else {
                          vip.set_port(static_cast<uint32_t>(
                            integer_of(z, w, 1, 65535)));
                          has_port = true;
                        }
                      });
               if (!has_port)
                 fail(y, yaml::child(where, "port"), "is required");
             }
           });
  });
}

ServiceSpec::Check check_of(const YAML::Node& n, const std::string& path,
                            bool health) {
  ServiceSpec::Check c;
  std::set<std::string> given;
  auto each = [&](const std::string& k, const YAML::Node& x,
                  const std::string& at) {
    given.insert(k);
    auto seconds = [&](int64_t min) {
      return static_cast<uint32_t>(integer_of(x, at, min, 86400));
    };
    if (k == "cmd")
      c.set_cmd(name_of(x, at));
    else if (k == "interval")
      c.set_interval_s(seconds(1));
    else if (k == "grace-period")
      c.set_grace_period_s(seconds(0));
    else if (k == "max-consecutive-failures")
      c.set_max_consecutive_failures(
        static_cast<uint32_t>(integer_of(x, at, 1, 1000000)));
    else if (k == "delay")
      c.set_delay_s(seconds(0));
    else
      c.set_timeout_s(seconds(1));
  };
  // What dcos-commons requires: every field of a health check; a readiness
  // check's delay defaults to 0.
  static const std::vector<std::string> health_fields{
    "cmd", "interval", "grace-period", "max-consecutive-failures", "delay",
    "timeout"};
  static const std::vector<std::string> readiness_required{"cmd", "interval",
                                                           "timeout"};
  if (health)
    fields(n, path,
           {"cmd", "interval", "grace-period", "max-consecutive-failures",
            "delay", "timeout"},
           each);
  else
    fields(n, path, {"cmd", "interval", "delay", "timeout"}, each);
  for (const auto& k : health ? health_fields : readiness_required)
    if (given.count(k) == 0)
      fail(n, yaml::child(path, k), "is required");
  return c;
}

void resource_set_of(const YAML::Node& n, const std::string& path,
                     ServiceSpec::ResourceSet* out) {
  fields(n, path, {"cpus", "memory", "ports", "volume", "volumes"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "cpus")
             out->set_cpus(positive_of(x, at));
           else if (k == "memory")
             out->set_memory_mb(positive_of(x, at));
           else if (k == "ports")
             ports_of(x, at, out->mutable_ports());
           else
             volumes_of(k, x, at, out->mutable_volumes());
         });
}

ServiceSpec::Task task_of(const YAML::Node& n, const std::string& path,
                          const std::string& name) {
  ServiceSpec::Task t;
  t.set_name(name);
  t.set_essential(true);
  bool has_goal = false;
  fields(n, path,
         {"goal", "essential", "cmd", "env", "cpus", "memory", "ports",
          "health-check", "readiness-check", "volume", "volumes", "configs",
          "resource-set", "discovery", "kill-grace-period"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "goal") {
             auto goal = scalar_of<std::string>(x, at);
             std::transform(goal.begin(), goal.end(), goal.begin(),
                            [](unsigned char c) { return std::toupper(c); });
             if (goal == "RUNNING")
               t.set_goal(ServiceSpec::Task::RUNNING);
             else if (goal == "FINISH")
               t.set_goal(ServiceSpec::Task::FINISH);
             else if (goal == "ONCE")
               t.set_goal(ServiceSpec::Task::ONCE);
             else
               fail(x, at,
                    fmt::format("'{}' is not a goal (RUNNING, FINISH, ONCE)",
                                goal));
             has_goal = true;
           } else if (k == "essential") {
             t.set_essential(scalar_of<bool>(x, at));
           } else if (k == "cmd") {
             t.set_cmd(name_of(x, at));
           } else if (k == "env") {
             entries(x, at, [&](const std::string& var, const YAML::Node& v,
                                const std::string& where) {
               auto& e = *t.mutable_env()->add_variables();
               e.set_name(var);
               e.set_value(v.IsNull() ? std::string{}
                                      : scalar_of<std::string>(v, where));
             });
           } else if (k == "cpus") {
             t.set_cpus(positive_of(x, at));
           } else if (k == "memory") {
             t.set_memory_mb(positive_of(x, at));
           } else if (k == "ports") {
             ports_of(x, at, t.mutable_ports());
           } else if (k == "health-check") {
             *t.mutable_health_check() = check_of(x, at, true);
           } else if (k == "readiness-check") {
             *t.mutable_readiness_check() = check_of(x, at, false);
           } else if (k == "volume" || k == "volumes") {
             volumes_of(k, x, at, t.mutable_volumes());
           } else if (k == "configs") {
             entries(x, at, [&](const std::string& cname, const YAML::Node& c,
                                const std::string& where) {
               check_name(c, where, cname);
               auto& cfg = *t.add_configs();
               cfg.set_name(cname);
               fields(c, where, {"template", "dest"},
                      [&](const std::string& f, const YAML::Node& y,
                          const std::string& w) {
                        if (f == "template")
                          cfg.set_template_(name_of(y, w));
                        else
                          cfg.set_dest(name_of(y, w));
                      });
               if (cfg.template_().empty())
                 fail(c, yaml::child(where, "template"), "is required");
               if (cfg.dest().empty())
                 fail(c, yaml::child(where, "dest"), "is required");
             });
           } else if (k == "resource-set") {
             t.set_resource_set(name_of(x, at));
           } else if (k == "discovery") {
             fields(x, at, {"prefix"},
                    [&](const std::string&, const YAML::Node& y,
                        const std::string& w) {
                      t.set_discovery_prefix(name_of(y, w));
                    });
           } else {
             t.set_kill_grace_period_s(
               static_cast<uint32_t>(integer_of(x, at, 0, 1209600)));
           }
         });
  if (!has_goal)
    fail(n, yaml::child(path, "goal"), "is required (RUNNING, FINISH, ONCE)");
  if (t.cmd().empty())
    fail(n, yaml::child(path, "cmd"), "is required");
  return t;
}

ServiceSpec::Pod pod_of(const YAML::Node& n, const std::string& path,
                        const std::string& name) {
  ServiceSpec::Pod pod;
  pod.set_name(name);
  bool has_count = false;
  fields(n, path,
         {"count", "placement", "uris", "volume", "volumes", "resource-sets",
          "tasks", "user", "image", "allow-decommission"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "count") {
             pod.set_count(static_cast<uint32_t>(integer_of(x, at, 0,
                                                            100000)));
             has_count = true;
           } else if (k == "placement") {
             pod.set_placement(placement_of(x, at));
           } else if (k == "uris") {
             if (!x.IsSequence())
               fail(x, at, "must be a list");
             for (size_t i = 0; i < x.size(); ++i)
               pod.add_uris(name_of(x[i], yaml::item(at, i)));
           } else if (k == "volume" || k == "volumes") {
             volumes_of(k, x, at, pod.mutable_volumes());
           } else if (k == "resource-sets") {
             entries(x, at, [&](const std::string& set, const YAML::Node& y,
                                const std::string& where) {
               check_name(y, where, set);
               auto& rs = *pod.add_resource_sets();
               rs.set_name(set);
               resource_set_of(y, where, &rs);
             });
           } else if (k == "tasks") {
             entries(x, at, [&](const std::string& task, const YAML::Node& y,
                                const std::string& where) {
               check_name(y, where, task);
               *pod.add_tasks() = task_of(y, where, task);
             });
           } else if (k == "user") {
             pod.set_user(name_of(x, at));
           } else if (k == "image") {
             pod.set_image(name_of(x, at));
           } else {
             pod.set_allow_decommission(scalar_of<bool>(x, at));
           }
         });
  if (!has_count)
    fail(n, yaml::child(path, "count"), "is required");
  if (pod.tasks_size() == 0)
    fail(n, yaml::child(path, "tasks"), "a pod needs at least one task");
  return pod;
}

const char* plan_strategies[] = {"serial", "parallel"};
const char* phase_strategies[] = {"serial", "parallel", "serial-canary",
                                  "canary", "parallel-canary"};

template <size_t N>
std::string strategy_of(const YAML::Node& n, const std::string& path,
                        const char* (&known)[N]) {
  auto s = scalar_of<std::string>(n, path);
  for (const char* k : known)
    if (s == k)
      return s == "canary" ? "serial-canary" : s;
  fail(n, path,
       fmt::format("'{}' is not a strategy ({})", s,
                   fmt::join(std::begin(known), std::end(known), ", ")));
}

// `steps:` is a list of one-entry maps: `- <index or default>: [[task, ...],
// ...]`, each inner list one step launching those tasks together.
void steps_of(const YAML::Node& n, const std::string& path,
              ServiceSpec::Phase* phase) {
  if (!n.IsSequence())
    fail(n, path, "must be a list of `- <index>: [[task, ...]]` entries");
  std::set<int32_t> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    auto at = yaml::item(path, i);
    const auto& entry = n[i];
    if (!entry.IsMap() || entry.size() != 1)
      fail(entry, at, "must be one `<index or default>: [[task, ...]]`");
    auto kv = *entry.begin();
    auto key = scalar_of<std::string>(kv.first, at);
    auto& tmpl = *phase->add_steps();
    if (key == "default") {
      tmpl.set_index(-1);
    } else {
      tmpl.set_index(static_cast<int32_t>(
        integer_of(kv.first, at, 0, 100000)));
    }
    if (!seen.insert(tmpl.index()).second)
      fail(kv.first, at, fmt::format("'{}' appears twice", key));
    auto where = yaml::child(at, key);
    const auto& groups = kv.second;
    if (!groups.IsSequence() || groups.size() == 0)
      fail(groups, where, "must be a list of task lists: [[task, ...]]");
    for (size_t g = 0; g < groups.size(); ++g) {
      auto gat = yaml::item(where, g);
      if (!groups[g].IsSequence() || groups[g].size() == 0)
        fail(groups[g], gat, "must be a non-empty list of task names");
      auto& group = *tmpl.add_groups();
      for (size_t t = 0; t < groups[g].size(); ++t)
        group.add_tasks(name_of(groups[g][t], yaml::item(gat, t)));
    }
  }
}

ServiceSpec::Plan plan_of(const YAML::Node& n, const std::string& path,
                          const std::string& name) {
  ServiceSpec::Plan plan;
  plan.set_name(name);
  plan.set_strategy("serial");
  fields(n, path, {"strategy", "phases"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "strategy") {
             plan.set_strategy(strategy_of(x, at, plan_strategies));
             return;
           }
           entries(x, at, [&](const std::string& pname, const YAML::Node& y,
                              const std::string& where) {
             check_name(y, where, pname);
             auto& phase = *plan.add_phases();
             phase.set_name(pname);
             phase.set_strategy("serial");
             fields(y, where, {"strategy", "pod", "steps"},
                    [&](const std::string& f, const YAML::Node& z,
                        const std::string& w) {
                      if (f == "strategy")
                        phase.set_strategy(strategy_of(z, w,
                                                       phase_strategies));
                      else if (f == "pod")
                        phase.set_pod(name_of(z, w));
                      else
                        steps_of(z, w, &phase);
                    });
             if (phase.pod().empty())
               fail(y, yaml::child(where, "pod"), "is required");
           });
         });
  if (plan.phases_size() == 0)
    fail(n, yaml::child(path, "phases"), "a plan needs at least one phase");
  return plan;
}

// The checks that need the whole spec. `root` gives lines.
void check_spec(const ServiceSpec& spec, const YAML::Node& root) {
  // The node at a path of keys (or the deepest one there is), for its
  // line. Node::operator= would assign through to the document: reset().
  auto node_at = [&](std::initializer_list<std::string> keys) {
    YAML::Node n;
    n.reset(root);
    for (const auto& k : keys) {
      const YAML::Node& here = n;
      YAML::Node next = here[k];
      if (!next.IsDefined())
        break;
      n.reset(next);
    }
    return n;
  };
  if (spec.pods_size() == 0)
    fail(root, "pods", "a service needs at least one pod");
  for (const auto& pod : spec.pods()) {
    auto pod_path = "pods." + pod.name();
    std::set<std::string> ports;
    auto claim_ports = [&](const auto& list, const std::string& at,
                           const YAML::Node& n) {
      for (const auto& p : list)
        if (!ports.insert(p.name()).second)
          fail(n, at + ".ports." + p.name(),
               "a port of that name is already in the pod");
    };
    std::set<std::string> volume_paths;
    for (const auto& v : pod.volumes())
      volume_paths.insert(v.path());
    for (const auto& rs : pod.resource_sets()) {
      auto at = pod_path + ".resource-sets." + rs.name();
      auto n = node_at({"pods", pod.name(), "resource-sets", rs.name()});
      if (!(rs.cpus() > 0) || !(rs.memory_mb() > 0))
        fail(n, at, "a resource set needs cpus and memory");
      claim_ports(rs.ports(), at, n);
    }
    for (const auto& t : pod.tasks()) {
      auto at = pod_path + ".tasks." + t.name();
      auto n = node_at({"pods", pod.name(), "tasks", t.name()});
      bool inline_resources = t.cpus() > 0 || t.memory_mb() > 0
                              || t.ports_size() > 0 || t.volumes_size() > 0;
      if (!t.resource_set().empty()) {
        if (inline_resources)
          fail(n, at,
               "a task takes its resources from its resource-set or "
               "states them itself, not both");
        bool found = false;
        for (const auto& rs : pod.resource_sets())
          found = found || rs.name() == t.resource_set();
        if (!found)
          fail(n, at + ".resource-set",
               fmt::format("pod '{}' has no resource set '{}'", pod.name(),
                           t.resource_set()));
        continue;
      }
      if (!(t.cpus() > 0) || !(t.memory_mb() > 0))
        fail(n, at,
             "a task needs resources: cpus and memory, or a resource-set");
      claim_ports(t.ports(), at, n);
      for (const auto& v : t.volumes())
        if (!volume_paths.insert(v.path()).second)
          fail(n, at + ".volume",
               fmt::format("another volume of the pod is at '{}'", v.path()));
    }
  }
  // Tasks that share a resource set take turns: never in one step.
  auto check_group = [&](const ServiceSpec::Pod& pod, const auto& tasks,
                         const YAML::Node& n, const std::string& at) {
    std::map<std::string, std::string> user; // resource set -> task
    for (const auto& name : tasks) {
      const auto* t = find_task(pod, name);
      if (t == nullptr || t->resource_set().empty())
        continue;
      auto [it, fresh] = user.emplace(t->resource_set(), name);
      if (!fresh)
        fail(n, at,
             fmt::format("tasks '{}' and '{}' share resource set '{}': they "
                         "cannot be launched in one step",
                         it->second, name, t->resource_set()));
    }
  };
  auto all_tasks = [](const ServiceSpec::Pod& pod) {
    std::vector<std::string> names;
    for (const auto& t : pod.tasks())
      names.push_back(t.name());
    return names;
  };
  bool has_deploy = false;
  for (const auto& plan : spec.plans())
    has_deploy = has_deploy || plan.name() == "deploy";
  if (!has_deploy) // the default deploy plan: a step with all of a pod
    for (const auto& pod : spec.pods())
      check_group(pod, all_tasks(pod), node_at({"pods", pod.name()}),
                  "pods." + pod.name() + ".tasks");
  for (const auto& plan : spec.plans()) {
    for (const auto& phase : plan.phases()) {
      auto at = fmt::format("plans.{}.phases.{}", plan.name(), phase.name());
      auto n = node_at({"plans", plan.name(), "phases", phase.name()});
      const auto* pod = find_pod(spec, phase.pod());
      if (pod == nullptr)
        fail(node_at({"plans", plan.name(), "phases", phase.name(), "pod"}),
             at + ".pod",
             fmt::format("the spec has no pod '{}'", phase.pod()));
      if (phase.steps_size() == 0)
        check_group(*pod, all_tasks(*pod), n, at);
      bool has_default = false;
      std::set<int32_t> indices;
      for (const auto& tmpl : phase.steps()) {
        has_default = has_default || tmpl.index() < 0;
        indices.insert(tmpl.index());
        for (const auto& group : tmpl.groups()) {
          for (const auto& task : group.tasks())
            if (find_task(*pod, task) == nullptr)
              fail(n, at + ".steps",
                   fmt::format("pod '{}' has no task '{}'", pod->name(),
                               task));
          check_group(*pod, group.tasks(), n, at + ".steps");
        }
      }
      if (phase.steps_size() > 0 && !has_default)
        for (uint32_t i = 0; i < pod->count(); ++i)
          if (indices.count(static_cast<int32_t>(i)) == 0)
            fail(n, at + ".steps",
                 fmt::format("no steps for {} (give `default` or `{}`)",
                             pod_instance_name(pod->name(), i), i));
    }
  }
}

ServiceSpec read(const YAML::Node& root) {
  ServiceSpec spec;
  if (!root.IsDefined() || root.IsNull())
    throw bad_field{"", 0, "the spec is empty"};
  fields(root, "",
         {"name", "web-url", "scheduler", "pods", "plans",
          "replacement-failure-policy"},
         [&](const std::string& k, const YAML::Node& x,
             const std::string& at) {
           if (k == "name") {
             spec.set_name(name_of(x, at));
           } else if (k == "web-url") {
             scalar_of<std::string>(x, at); // shown by the UI; not used
           } else if (k == "scheduler") {
             fields(x, at, {"principal", "user", "role", "zookeeper"},
                    [&](const std::string& f, const YAML::Node& y,
                        const std::string& w) {
                      auto& s = *spec.mutable_scheduler();
                      if (f == "principal")
                        s.set_principal(name_of(y, w));
                      else if (f == "user")
                        s.set_user(name_of(y, w));
                      else if (f == "role")
                        s.set_role(name_of(y, w));
                      else // the store is the scheduler's flag here
                        scalar_of<std::string>(y, w);
                    });
           } else if (k == "replacement-failure-policy") {
             auto& p = *spec.mutable_replacement_failure_policy();
             p.set_permanent_failure_timeout_s(1200);
             p.set_min_replace_delay_s(600);
             fields(x, at,
                    {"permanent-failure-timeout-secs",
                     "min-replace-delay-secs"},
                    [&](const std::string& f, const YAML::Node& y,
                        const std::string& w) {
                      auto secs = static_cast<uint32_t>(
                        integer_of(y, w, 0, 31536000));
                      if (f == "permanent-failure-timeout-secs")
                        p.set_permanent_failure_timeout_s(secs);
                      else
                        p.set_min_replace_delay_s(secs);
                    });
           } else if (k == "pods") {
             entries(x, at, [&](const std::string& name, const YAML::Node& y,
                                const std::string& where) {
               check_name(y, where, name);
               *spec.add_pods() = pod_of(y, where, name);
             });
           } else {
             entries(x, at, [&](const std::string& name, const YAML::Node& y,
                                const std::string& where) {
               check_name(y, where, name);
               *spec.add_plans() = plan_of(y, where, name);
             });
           }
         });
  if (spec.name().empty())
    fail(root, "name", "is required");
  auto& s = *spec.mutable_scheduler();
  if (s.principal().empty())
    s.set_principal(spec.name() + "-principal");
  if (s.user().empty())
    s.set_user("root");
  if (s.role().empty())
    s.set_role(spec.name() + "-role");
  check_spec(spec, root);
  return spec;
}

} // namespace

caf::expected<v1::ServiceSpec> parse_service_spec(const std::string& yaml) {
  try {
    return read(YAML::Load(yaml));
  } catch (const bad_field& e) {
    return make_error(errc::invalid_argument,
                      "service spec: " + yaml::describe(e));
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_argument,
                      fmt::format("service spec: not valid YAML: {}",
                                  e.what()));
  }
}

caf::expected<v1::ServiceSpec>
load_service_spec(const std::string& path,
                  const std::map<std::string, std::string>& env) {
  auto read_file = [](const std::filesystem::path& file,
                      std::string* out) {
    std::ifstream in{file};
    if (!in)
      return false;
    std::stringstream text;
    text << in.rdbuf();
    *out = text.str();
    return true;
  };
  std::string text;
  if (!read_file(path, &text))
    return make_error(errc::not_found,
                      fmt::format("service spec: cannot read {}", path));
  auto rendered = render_template(text, env, path);
  if (!rendered)
    return std::move(rendered.error());
  auto spec = parse_service_spec(*rendered);
  if (!spec)
    return make_error(errc::invalid_argument,
                      fmt::format("{}: {}", path,
                                  describe_reason(spec.error())));
  auto dir = std::filesystem::path{path}.parent_path();
  for (auto& pod : *spec->mutable_pods())
    for (auto& task : *pod.mutable_tasks())
      for (auto& cfg : *task.mutable_configs()) {
        auto file = dir / cfg.template_();
        if (!read_file(file, cfg.mutable_template_text()))
          return make_error(
            errc::invalid_argument,
            fmt::format("{}: pods.{}.tasks.{}.configs.{}.template: cannot "
                        "read {}",
                        path, pod.name(), task.name(), cfg.name(),
                        file.string()));
      }
  return spec;
}

const v1::ServiceSpec::Pod* find_pod(const v1::ServiceSpec& spec,
                                     const std::string& name) {
  for (const auto& pod : spec.pods())
    if (pod.name() == name)
      return &pod;
  return nullptr;
}

const v1::ServiceSpec::Task* find_task(const v1::ServiceSpec::Pod& pod,
                                       const std::string& name) {
  for (const auto& task : pod.tasks())
    if (task.name() == name)
      return &task;
  return nullptr;
}

caf::expected<std::vector<placement_constraint>>
pod_placement(const v1::ServiceSpec::Pod& pod) {
  std::vector<placement_constraint> out;
  if (pod.placement().empty())
    return out;
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      fmt::format("pods.{}.placement: {}", pod.name(), why));
  };
  YAML::Node doc;
  try {
    doc.reset(YAML::Load(pod.placement())); // JSON is YAML
  } catch (const YAML::Exception& e) {
    return bad(e.what());
  }
  if (!doc.IsSequence())
    return bad("must be a list of constraints");
  for (const auto& c : doc) {
    std::vector<std::string> parts;
    for (const auto& p : c)
      parts.push_back(p.as<std::string>());
    auto parsed = parse_placement_constraint(parts);
    if (!parsed)
      return bad(describe_reason(parsed.error()));
    out.push_back(std::move(*parsed));
  }
  return out;
}

std::string pod_instance_name(const std::string& pod, uint32_t index) {
  return fmt::format("{}-{}", pod, index);
}

std::string pod_task_name(const std::string& pod, uint32_t index,
                          const std::string& task) {
  return fmt::format("{}-{}-{}", pod, index, task);
}

} // namespace dcos
