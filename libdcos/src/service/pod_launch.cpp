// Planning a pod instance's launch on one offer: match each task (and a new
// executor) against what the offer holds of the instance's reservation and
// its unreserved resources, reserve what came from the unreserved pool,
// create the volumes that do not exist yet, and build the task group.
#include "dcos/pod_launch.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "dcos/config_template.hpp"
#include "dcos/error.hpp"
#include "dcos/offer_match.hpp"
#include "dcos/persistent_volume.hpp"
#include "dcos/service_spec.hpp"

namespace dcos {

namespace {

using v1::ServiceSpec;

// The default executor's own share, as dcos-commons gives it.
constexpr double executor_cpus = 0.1;
constexpr double executor_mem = 32;

// What a task's resources are: its own, or a resource set's, which every
// task naming the set shares (they take turns on the same reservation).
// `owner` prefixes the instance's port and volume keys.
struct needs {
  std::string owner;
  double cpus = 0;
  double mem = 0;
  std::vector<const ServiceSpec::Port*> ports;
  std::vector<const ServiceSpec::Volume*> volumes;
};

needs needs_of(const ServiceSpec::Pod& pod, const ServiceSpec::Task& task) {
  needs n;
  auto add = [&n](const auto& ports, const auto& volumes) {
    for (const auto& p : ports)
      n.ports.push_back(&p);
    for (const auto& v : volumes)
      n.volumes.push_back(&v);
  };
  if (task.resource_set().empty()) {
    n.owner = task.name() + "-resource-set"; // dcos-commons' default name
    n.cpus = task.cpus();
    n.mem = task.memory_mb();
    add(task.ports(), task.volumes());
    return n;
  }
  for (const auto& set : pod.resource_sets())
    if (set.name() == task.resource_set()) {
      n.owner = set.name();
      n.cpus = set.cpus();
      n.mem = set.memory_mb();
      add(set.ports(), set.volumes());
    }
  return n;
}

std::string key_of(const std::string& owner, const std::string& what) {
  return owner + ":" + what;
}

// The task's name in DNS: its discovery prefix and index, else its name.
std::string discovery_name(const ServiceSpec::Pod& pod,
                           const ServiceSpec::Task& t, uint32_t index) {
  return t.discovery_prefix().empty()
           ? pod_task_name(pod.name(), index, t.name())
           : fmt::format("{}-{}", t.discovery_prefix(), index);
}

bool is_ours(const resource& r, const std::string& reservation_id) {
  return !reservation_id.empty() && reservation_id_of(r) == reservation_id;
}

// Single-quoted for sh.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string{c};
  return out + "'";
}

void add_env(v1::Environment* env, const std::string& name,
             const std::string& value) {
  auto* var = env->add_variables();
  var->set_name(name);
  var->set_value(value);
}

// Builds the launch step by step; `fail` records the first reason.
class planner {
public:
  planner(const pod_launch_request& req, const v1::Offer& offer,
          const resources& available)
    : req_(req),
      spec_(*req.spec),
      pod_(*find_pod(spec_, req.instance.pod())),
      offer_(offer) {
    out_.instance = req.instance;
    const auto& rid = req.instance.reservation_id();
    left_ = available.filter([&rid](const resource& r) {
      return (!r.is_reserved() && !r.revocable) || is_ours(r, rid);
    });
    level_.type = reservation::kind::dynamic_reservation;
    level_.role = spec_.scheduler().role();
    level_.principal = spec_.scheduler().principal();
  }

  pod_launch run() {
    auto& inst = out_.instance;
    auto name = pod_instance_name(pod_.name(), inst.index());
    if (!inst.reservation_id().empty()) {
      if (inst.agent_id() != offer_.agent_id().value())
        return fail(fmt::format("{} is pinned to agent {}, where its "
                                "reservations and volumes are",
                                name, inst.agent_id()));
    } else {
      auto rules = pod_placement(pod_);
      if (!rules) {
        out_.hopeless = true;
        return fail(describe_reason(rules.error()));
      }
      auto site = placement_site::of(offer_);
      for (const auto& rule : *rules)
        if (auto why = placement_violation(rule, site, req_.placed);
            !why.empty())
          return fail(why);
      inst.set_reservation_id(req_.new_id());
      inst.set_agent_id(offer_.agent_id().value());
      inst.set_hostname(offer_.hostname());
      inst.set_region(site.region);
      inst.set_zone(site.zone);
      *inst.mutable_attributes() = site.attributes;
    }
    level_.labels = {{resource_id_label, inst.reservation_id()}};
    v1::ExecutorInfo executor;
    executor.set_type(v1::ExecutorInfo::DEFAULT);
    executor.set_name(name);
    *executor.mutable_framework_id() = offer_.framework_id();
    if (!req_.executor_running || inst.executor_id().empty()) {
      inst.set_executor_id(name + "__" + req_.new_id());
      executor.mutable_executor_id()->set_value(inst.executor_id());
      task_demand demand;
      demand.cpus = executor_cpus;
      demand.mem = executor_mem;
      resources used;
      if (!take(demand, "the pod's executor", &used))
        return out_;
      for (const auto& v : pod_.volumes())
        if (!take_volume_of("", v, &used))
          return out_;
      used.to_proto(executor.mutable_resources());
    } else {
      executor.mutable_executor_id()->set_value(inst.executor_id());
    }
    launch_.set_type(v1::Offer::Operation::LAUNCH_GROUP);
    auto* group = launch_.mutable_launch_group();
    *group->mutable_executor() = std::move(executor);
    for (const auto& task_name : req_.tasks) {
      auto task = task_info(*find_task(pod_, task_name));
      if (!task)
        return out_;
      (*inst.mutable_task_infos())[task_name] = *task;
      *group->mutable_task_group()->add_tasks() = std::move(*task);
    }
    // UNRESERVE what is no longer needed, then RESERVE, then CREATE, then
    // the launch, as they depend.
    std::vector<v1::Offer::Operation> ops;
    if (auto excess = excess_reservation(); !excess.empty()) {
      ops.emplace_back().set_type(v1::Offer::Operation::UNRESERVE);
      excess.to_proto(ops.back().mutable_unreserve()->mutable_resources());
    }
    if (!reserve_.empty()) {
      ops.emplace_back().set_type(v1::Offer::Operation::RESERVE);
      reserve_.to_proto(ops.back().mutable_reserve()->mutable_resources());
    }
    if (!create_.empty()) {
      ops.emplace_back().set_type(v1::Offer::Operation::CREATE);
      create_.to_proto(ops.back().mutable_create()->mutable_volumes());
    }
    ops.push_back(std::move(launch_));
    out_.operations = std::move(ops);
    out_.fits = true;
    return out_;
  }

  resources used() const {
    return used_;
  }

private:
  pod_launch fail(std::string why) {
    if (out_.reason.empty())
      out_.reason = std::move(why);
    out_.fits = false;
    return out_;
  }

  // The CPU and memory of the instance's reservation that the offer holds
  // beyond what its other tasks may need, once this launch took its
  // share: what a shrunk spec (or a removed task) no longer uses, given
  // back as dcos-commons unreserves a task's shrunk resources. The other
  // tasks' needs are kept whether or not they run now (running ones hold
  // theirs outside the offer), so this never takes what a later launch of
  // the instance needs; ports and volumes are never given back here.
  resources excess_reservation() const {
    const auto& rid = out_.instance.reservation_id();
    std::set<std::string> launching_owners;
    for (const auto& name : req_.tasks)
      if (const auto* t = find_task(pod_, name))
        launching_owners.insert(needs_of(pod_, *t).owner);
    std::map<std::string, int64_t> keep; // milli, by resource name
    // A reused executor's share is its own even when the offer holds it
    // (it ended since the scheduler last heard).
    if (req_.executor_running && !out_.instance.executor_id().empty()) {
      keep["cpus"] += std::llround(executor_cpus * 1000);
      keep["mem"] += std::llround(executor_mem * 1000);
    }
    std::set<std::string> counted;
    for (const auto& t : pod_.tasks()) {
      auto n = needs_of(pod_, t);
      if (launching_owners.count(n.owner) > 0
          || !counted.insert(n.owner).second)
        continue;
      keep["cpus"] += std::llround(n.cpus * 1000);
      keep["mem"] += std::llround(n.mem * 1000);
    }
    resources excess;
    for (const auto& r : left_) {
      if (!is_ours(r, rid) || r.type != resource::kind::scalar
          || (r.name != "cpus" && r.name != "mem") || r.is_persistent_volume())
        continue;
      auto& kept = keep[r.name];
      auto kept_here = std::min(kept, r.milli);
      kept -= kept_here;
      if (r.milli > kept_here) {
        auto give = r;
        give.milli = r.milli - kept_here;
        excess += give;
      }
    }
    return excess;
  }

  // Reserves what `taken` holds of the unreserved pool; adds the result to
  // `*used`.
  void reserve_into(const resources& taken, resources* used) {
    used_ += taken;
    auto pool = taken.unreserved();
    *used += taken.reserved();
    if (!pool.empty()) {
      auto reserved = pool.push_reservation(level_);
      reserve_ += reserved;
      *used += reserved;
    }
  }

  bool take(const task_demand& demand, const std::string& what,
            resources* used) {
    auto m = match_offer(demand, {}, offer_, left_, {});
    if (!m.fits) {
      fail(fmt::format("{}: {}", what, m.reason));
      return false;
    }
    left_ -= m.used;
    host_ports_ = std::move(m.host_ports);
    reserve_into(m.used, used);
    return true;
  }

  bool take_volume_of(const std::string& owner, const ServiceSpec::Volume& v,
                      resources* used) {
    auto& volumes = *out_.instance.mutable_volumes();
    auto key = key_of(owner, v.path());
    if (auto known = volumes.find(key); known != volumes.end()) {
      auto volume = take_volume(left_, known->second);
      if (!volume) {
        fail(fmt::format("volume '{}' ({}) is not in the offer",
                         v.path(), known->second));
        return false;
      }
      used_ += *volume;
      *used += *volume;
      return true;
    }
    auto disk = take_new_volume_disk(left_, v.size_mb(),
                                     v.type() == ServiceSpec::Volume::MOUNT
                                       ? volume_disk::mount
                                       : volume_disk::root);
    if (!disk) {
      fail(fmt::format("volume '{}': no {} disk of {} MB in the offer",
                       v.path(),
                       v.type() == ServiceSpec::Volume::MOUNT ? "mount"
                                                              : "root",
                       v.size_mb()));
      return false;
    }
    used_ += *disk;
    auto reserved = *disk;
    reserved.reservations.push_back(level_);
    reserve_ += reserved;
    auto id = req_.new_id();
    auto volume = with_volume(reserved, id, level_.principal, v.path());
    create_ += volume;
    *used += volume;
    volumes[key] = id;
    return true;
  }

  std::optional<v1::TaskInfo> task_info(const ServiceSpec::Task& t) {
    auto& inst = out_.instance;
    auto n = needs_of(pod_, t);
    auto name = pod_task_name(pod_.name(), inst.index(), t.name());
    auto& ports = *inst.mutable_ports();
    task_demand demand;
    demand.cpus = n.cpus;
    demand.mem = n.mem;
    for (const auto* p : n.ports) {
      host_port_request request;
      auto known = ports.find(key_of(n.owner, p->name()));
      request.fixed = p->port() != 0          ? static_cast<int>(p->port())
                      : known != ports.end() ? static_cast<int>(known->second)
                                              : 0;
      request.fixed_by = fmt::format("pods.{}.tasks.{}.ports.{}", pod_.name(),
                                     t.name(), p->name());
      demand.host_ports.push_back(std::move(request));
    }
    resources used;
    if (!take(demand, "task " + name, &used))
      return std::nullopt;
    for (size_t i = 0; i < n.ports.size(); ++i)
      ports[key_of(n.owner, n.ports[i]->name())]
        = static_cast<uint32_t>(host_ports_[i]);
    for (const auto* v : n.volumes)
      if (!take_volume_of(n.owner, *v, &used))
        return std::nullopt;

    v1::TaskInfo task;
    task.set_name(name);
    auto id = name + "__" + req_.new_id();
    task.mutable_task_id()->set_value(id);
    (*inst.mutable_task_ids())[t.name()] = id;
    *task.mutable_agent_id() = offer_.agent_id();
    used.to_proto(task.mutable_resources());

    // The environment, then the command that writes the configs first.
    auto* command = task.mutable_command();
    auto* env = command->mutable_environment();
    std::map<std::string, std::string> values;
    // One variable per name: a later value replaces an earlier one.
    auto set = [&](const std::string& k, const std::string& v) {
      if (values.count(k) > 0) {
        for (auto& var : *env->mutable_variables())
          if (var.name() == k)
            var.set_value(v);
      } else {
        add_env(env, k, v);
      }
      values[k] = v;
    };
    for (const auto& var : t.env().variables())
      set(var.name(), var.value());
    auto host = req_.framework_host.empty()
                  ? spec_.name() + ".autoip.dcos.thisdcos.directory"
                  : req_.framework_host;
    set("POD_INSTANCE_INDEX", std::to_string(inst.index()));
    set("TASK_NAME", name);
    set(name, "true");
    set("FRAMEWORK_NAME", spec_.name());
    set("FRAMEWORK_HOST", host);
    set("FRAMEWORK_VIP_HOST", spec_.name() + ".l4lb.thisdcos.directory");
    if (req_.api_port != 0) {
      set("SCHEDULER_API_HOSTNAME", req_.api_hostname);
      set("SCHEDULER_API_PORT", std::to_string(req_.api_port));
    }
    for (size_t i = 0; i < n.ports.size(); ++i)
      set(n.ports[i]->env_key(), std::to_string(host_ports_[i]));
    for (const auto& var : req_.parameters.variables())
      set(var.name(), var.value());
    std::string script;
    for (const auto& cfg : t.configs()) {
      auto text = render_template(
        cfg.template_text(), values,
        fmt::format("pods.{}.tasks.{}.configs.{}", pod_.name(), t.name(),
                    cfg.name()));
      if (!text) {
        out_.hopeless = true;
        fail(describe_reason(text.error()));
        return std::nullopt;
      }
      auto dir = std::string{cfg.dest()};
      auto slash = dir.rfind('/');
      if (slash != std::string::npos)
        script += "mkdir -p " + quoted(dir.substr(0, slash)) + " && ";
      script += fmt::format("printf '%s' {} > {} && ", quoted(*text),
                            quoted(cfg.dest()));
    }
    command->set_shell(true);
    command->set_value(script + t.cmd());
    if (!pod_.user().empty())
      command->set_user(pod_.user());
    for (const auto& uri : pod_.uris())
      command->add_uris()->set_value(uri);

    if (t.has_health_check()) {
      const auto& c = t.health_check();
      auto* hc = task.mutable_health_check();
      hc->set_type(v1::HealthCheck::COMMAND);
      hc->mutable_command()->set_shell(true);
      hc->mutable_command()->set_value(c.cmd());
      *hc->mutable_command()->mutable_environment() = *env;
      hc->set_delay_seconds(c.delay_s());
      hc->set_interval_seconds(c.interval_s());
      hc->set_timeout_seconds(c.timeout_s());
      hc->set_grace_period_seconds(c.grace_period_s());
      hc->set_consecutive_failures(c.max_consecutive_failures());
    }
    // dcos-commons' readiness check is a Mesos check: the step waits for
    // its command to exit 0 (service_scheduler).
    if (t.has_readiness_check()) {
      const auto& c = t.readiness_check();
      auto* check = task.mutable_check();
      check->set_type(v1::CheckInfo::COMMAND);
      auto* cmd = check->mutable_command()->mutable_command();
      cmd->set_shell(true);
      cmd->set_value(c.cmd());
      *cmd->mutable_environment() = *env;
      check->set_delay_seconds(c.delay_s());
      check->set_interval_seconds(c.interval_s());
      check->set_timeout_seconds(c.timeout_s());
    }
    if (t.kill_grace_period_s() > 0)
      task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
        int64_t{t.kill_grace_period_s()} * 1'000'000'000);
    if (!pod_.image().empty()) {
      auto* c = task.mutable_container();
      c->set_type(v1::ContainerInfo::MESOS);
      auto* image = c->mutable_mesos()->mutable_image();
      image->set_type(v1::Image::DOCKER);
      image->mutable_docker()->set_name(pod_.image());
    }
    // Names for Mesos-DNS, VIPs for Minuteman (dcos/vip_table.hpp).
    auto* d = task.mutable_discovery();
    d->set_visibility(v1::DiscoveryInfo::CLUSTER);
    d->set_name(discovery_name(pod_, t, inst.index()));
    for (size_t i = 0; i < n.ports.size(); ++i) {
      const auto& p = *n.ports[i];
      auto* port = d->mutable_ports()->add_ports();
      port->set_number(static_cast<uint32_t>(host_ports_[i]));
      port->set_name(p.name());
      port->set_protocol("tcp");
      if (p.has_vip()) {
        auto* label = port->mutable_labels()->add_labels();
        label->set_key(fmt::format("VIP_{}", p.name()));
        label->set_value(fmt::format("/{}:{}", p.vip().prefix(),
                                     p.vip().port()));
      }
    }
    auto* goal = task.mutable_labels()->add_labels();
    goal->set_key("goal_state");
    goal->set_value(ServiceSpec::Task::Goal_Name(t.goal()));
    return task;
  }

  const pod_launch_request& req_;
  const ServiceSpec& spec_;
  const ServiceSpec::Pod& pod_;
  const v1::Offer& offer_;
  pod_launch out_;
  resources left_;     // what the launch may still use
  resources used_;     // what it took out of the offer, as offered
  resources reserve_;  // what it RESERVEs
  resources create_;   // the volumes it CREATEs
  reservation level_;  // the reservation it pushes
  v1::Offer::Operation launch_;
  std::vector<int> host_ports_; // of the latest take()
};

} // namespace

std::vector<pod_endpoint> pod_endpoints(const v1::ServiceSpec& spec,
                                        const v1::PodInstance& instance) {
  std::vector<pod_endpoint> out;
  const auto* pod = find_pod(spec, instance.pod());
  if (pod == nullptr)
    return out;
  auto without_slashes = [](std::string s) {
    std::erase(s, '/');
    return s;
  };
  auto service = without_slashes(spec.name());
  auto autoip = service;
  std::replace(autoip.begin(), autoip.end(), '.', '-');
  for (const auto& t : pod->tasks()) {
    if (instance.task_ids().count(t.name()) == 0)
      continue;
    auto n = needs_of(*pod, t);
    for (const auto* p : n.ports) {
      auto port = instance.ports().find(key_of(n.owner, p->name()));
      if (!p->advertise() || port == instance.ports().end())
        continue;
      pod_endpoint e;
      e.name = p->name();
      e.address = fmt::format("{}:{}", instance.hostname(), port->second);
      auto host = discovery_name(*pod, t, instance.index());
      std::replace(host.begin(), host.end(), '.', '-');
      e.dns = fmt::format("{}.{}.autoip.dcos.thisdcos.directory:{}", host,
                          autoip, port->second);
      if (p->has_vip())
        e.vip = fmt::format("{}.{}.l4lb.thisdcos.directory:{}",
                            without_slashes(p->vip().prefix()), service,
                            p->vip().port());
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string reservation_id_of(const resource& r) {
  return reservation_label(r, resource_id_label);
}

pod_launch plan_pod_launch(const pod_launch_request& request,
                           const v1::Offer& offer, const resources& available,
                           resources* used) {
  planner p{request, offer, available};
  auto out = p.run();
  if (out.fits && used != nullptr)
    *used = p.used();
  return out;
}

std::vector<v1::Offer::Operation>
release_pod_instance(const v1::PodInstance& instance, const v1::Offer& offer) {
  auto offered = resources::from_proto(offer.resources());
  if (!offered || instance.reservation_id().empty())
    return {};
  return release_operations(offered->filter([&](const resource& r) {
    return is_ours(r, instance.reservation_id());
  }));
}

} // namespace dcos
