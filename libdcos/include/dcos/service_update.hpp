// Changing a running service's spec (dcos-commons' configuration update):
// which changes a deployed service can take, what a pod instance runs, and
// the plan that rolls a new spec out.
//
// The service scheduler (dcos/service_scheduler_actor.hpp) keeps the spec
// it runs in its store. When it starts with another one:
//  - config_update_errors() lists what the service cannot take. If any, the
//    scheduler goes on with the spec it had, and its deploy plan shows the
//    errors (ERROR, 417) until a spec it can take comes.
//  - Otherwise the new spec is the target: update_plan() is its `update`
//    plan if it has one, else `deploy`, with the steps of every instance
//    that already runs its pod's config COMPLETE and the rest PENDING. A
//    PENDING step of an instance whose tasks run kills them first, then
//    launches them anew on the same reservation and volumes (what the pod
//    grew by is reserved with it; what it shrank by stays reserved to the
//    instance). Instances the new spec has no more (a smaller count, a
//    removed pod, where allow-decommission says so) are decommissioned
//    by the decommission_plan(), which the scheduler keeps until the spec
//    changes again.
//
// Thread-safety: plain functions.
#pragma once

#include <functional>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <dcos/v1/service.pb.h>

namespace dcos {

/// The id of what a pod's tasks run: a fingerprint of the pod's spec less
/// what changes no task (its count, placement and allow-decommission). Two
/// specs' pods with the same id launch the same tasks.
std::string pod_config_id(const v1::ServiceSpec::Pod& pod);

/// What makes `target` unfit to replace `deployed`, each error naming the
/// spec field: a changed name, role, principal or user; a pod removed, or
/// with fewer instances, without `allow-decommission: true` (on the
/// deployed pod for a removal, on the target's for a smaller count); a
/// changed volume (pod or task volumes: their paths, types and sizes).
/// Empty: the update can go ahead.
/// REQUIRES: both came from parse_service_spec.
std::vector<std::string> config_update_errors(const v1::ServiceSpec& deployed,
                                              const v1::ServiceSpec& target);

/// The instances of `deployed` that `target` has no more (a pod removed,
/// or a smaller count), as (pod, index) in the deployed spec's order.
std::vector<std::pair<std::string, uint32_t>>
leaving_instances(const v1::ServiceSpec& deployed,
                  const v1::ServiceSpec& target);

/// The "decommission" plan for `leaving`: a serial phase per instance,
/// highest index first, named after it, with one decommission step
/// (v1::PlanState::Step::decommission): its tasks are killed, then it is
/// forgotten, and its reservation and volumes are released when its agent
/// offers them.
v1::PlanState decommission_plan(
  const std::vector<std::pair<std::string, uint32_t>>& leaving);

/// Whether instance `index` of `pod` is not in `spec` (decommissioned).
bool is_leaving(const v1::ServiceSpec& spec, const std::string& pod,
                uint32_t index);

/// The name of the plan that rolls a new spec out: "update" if `spec` has
/// one, else "deploy".
std::string update_plan_name(const v1::ServiceSpec& spec);

/// That plan, fresh, with the steps of instances at their pod's config id
/// COMPLETE. `config_id_of(instance name)` is the id an instance last
/// completed its deploy or update with ("" if none).
/// REQUIRES: `spec` came from parse_service_spec.
v1::PlanState
update_plan(const v1::ServiceSpec& spec,
            const std::function<std::string(const std::string&)>&
              config_id_of);

} // namespace dcos
