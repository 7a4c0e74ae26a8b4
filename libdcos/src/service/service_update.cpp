// A service's configuration update (see dcos/service_update.hpp).
#include "dcos/service_update.hpp"

#include <map>
#include <utility>

#include <fmt/format.h>

#include "dcos/plan.hpp"
#include "dcos/service_spec.hpp"

namespace dcos {

namespace {

using Spec = v1::ServiceSpec;

// Every volume of a pod by the spec field that declares it.
std::map<std::string, Spec::Volume> volumes_of(const Spec::Pod& pod) {
  std::map<std::string, Spec::Volume> out;
  auto add = [&](const std::string& at, const auto& list) {
    for (const auto& v : list)
      out[v.name().empty() ? at + ".volume" : at + ".volumes." + v.name()]
        = v;
  };
  auto base = "pods." + pod.name();
  add(base, pod.volumes());
  for (const auto& rs : pod.resource_sets())
    add(base + ".resource-sets." + rs.name(), rs.volumes());
  for (const auto& t : pod.tasks())
    add(base + ".tasks." + t.name(), t.volumes());
  return out;
}

std::string volume_text(const Spec::Volume& v) {
  return fmt::format("{} {} MB at {}", Spec::Volume::Type_Name(v.type()),
                     v.size_mb(), v.path());
}

void compare(std::vector<std::string>& errors, const std::string& field,
             const std::string& deployed, const std::string& target) {
  if (deployed != target)
    errors.push_back(fmt::format("{}: cannot change from '{}' to '{}'",
                                 field, deployed, target));
}

} // namespace

std::string pod_config_id(const Spec::Pod& pod) {
  auto tasks_only = pod;
  tasks_only.clear_count();
  tasks_only.clear_placement();
  tasks_only.clear_allow_decommission();
  // FNV-1a: the id is stored, so it must not change between builds, as
  // std::hash may. (The message has no maps: its bytes are canonical.)
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : tasks_only.SerializeAsString()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::vector<std::string> config_update_errors(const Spec& deployed,
                                              const Spec& target) {
  std::vector<std::string> errors;
  compare(errors, "name", deployed.name(), target.name());
  compare(errors, "scheduler.role", deployed.scheduler().role(),
          target.scheduler().role());
  compare(errors, "scheduler.principal", deployed.scheduler().principal(),
          target.scheduler().principal());
  compare(errors, "scheduler.user", deployed.scheduler().user(),
          target.scheduler().user());
  auto user_of = [](const Spec& spec, const Spec::Pod& pod) {
    return pod.user().empty() ? spec.scheduler().user() : pod.user();
  };
  for (const auto& old : deployed.pods()) {
    auto at = "pods." + old.name();
    const auto* now = find_pod(target, old.name());
    if (now == nullptr) {
      if (!old.allow_decommission())
        errors.push_back(fmt::format("{}: cannot be removed without "
                                     "allow-decommission: true",
                                     at));
      continue;
    }
    if (now->count() < old.count() && !now->allow_decommission())
      errors.push_back(fmt::format("{}.count: cannot shrink from {} to {} "
                                   "without allow-decommission: true",
                                   at, old.count(), now->count()));
    compare(errors, at + ".user", user_of(deployed, old),
            user_of(target, *now));
    auto before = volumes_of(old), after = volumes_of(*now);
    for (const auto& [field, v] : before) {
      auto same = after.find(field);
      if (same == after.end())
        errors.push_back(fmt::format("{}: a volume cannot be removed", field));
      else if (volume_text(same->second) != volume_text(v))
        errors.push_back(fmt::format("{}: a volume cannot change (from {} to "
                                     "{})",
                                     field, volume_text(v),
                                     volume_text(same->second)));
    }
    for (const auto& [field, v] : after)
      if (before.count(field) == 0)
        errors.push_back(fmt::format("{}: a volume cannot be added to a "
                                     "deployed pod",
                                     field));
  }
  return errors;
}

std::vector<std::pair<std::string, uint32_t>>
leaving_instances(const Spec& deployed, const Spec& target) {
  std::vector<std::pair<std::string, uint32_t>> out;
  for (const auto& old : deployed.pods()) {
    const auto* now = find_pod(target, old.name());
    for (uint32_t i = now == nullptr ? 0 : now->count(); i < old.count();
         ++i)
      out.emplace_back(old.name(), i);
  }
  return out;
}

v1::PlanState decommission_plan(
  const std::vector<std::pair<std::string, uint32_t>>& leaving) {
  v1::PlanState plan;
  plan.set_name("decommission");
  plan.set_strategy("serial");
  for (auto at = leaving.rbegin(); at != leaving.rend(); ++at) {
    auto name = pod_instance_name(at->first, at->second);
    auto& phase = *plan.add_phases();
    phase.set_name(name);
    phase.set_strategy("serial");
    auto& step = *phase.add_steps();
    step.set_name("decommission-" + name);
    step.set_id(name + "/" + step.name());
    step.set_pod(at->first);
    step.set_index(at->second);
    step.set_decommission(true);
  }
  return plan;
}

bool is_leaving(const Spec& spec, const std::string& pod, uint32_t index) {
  const auto* p = find_pod(spec, pod);
  return p == nullptr || index >= p->count();
}

std::string update_plan_name(const Spec& spec) {
  for (const auto& plan : spec.plans())
    if (plan.name() == "update")
      return "update";
  return "deploy";
}

v1::PlanState
update_plan(const Spec& spec,
            const std::function<std::string(const std::string&)>&
              config_id_of) {
  v1::PlanState plan;
  auto name = update_plan_name(spec);
  for (auto& p : plans_of(spec))
    if (p.name() == name)
      plan = std::move(p);
  for (auto& phase : *plan.mutable_phases())
    for (auto& step : *phase.mutable_steps()) {
      const auto* pod = find_pod(spec, step.pod());
      if (pod != nullptr
          && config_id_of(pod_instance_name(step.pod(), step.index()))
               == pod_config_id(*pod))
        step.set_status(v1::PlanState::COMPLETE);
    }
  return plan;
}

} // namespace dcos
