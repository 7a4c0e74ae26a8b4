// Launching a step of a plan (dcos/plan.hpp): the offer operations that
// start some tasks of one pod instance on its reserved resources and
// persistent volumes, and those that give the resources back. The step of
// the SDK's launch machinery that dcos-commons' offer evaluator is; the
// scheduler calls it for each offer while a step waits for resources.
//
//  - First launch of an instance (nothing reserved yet): the tasks' and the
//    executor's resources are taken from the offer's unreserved resources,
//    RESERVEd to the service's role with the service's principal and a
//    `resource_id` label naming the instance's reservation, every volume of
//    the spec is CREATEd on reserved disk (a ROOT volume on the agent's
//    root disk, a MOUNT volume on a whole mount disk of at least its size),
//    and the tasks are started with one LAUNCH_GROUP under the pod's
//    default executor. The tasks see their volumes, and the pod's, at the
//    spec's path in their sandbox.
//  - Every later launch (a relaunch in place, a FINISH task such as a
//    backup next to a running server) is pinned to the instance's agent,
//    and uses what is reserved under its label: the same host ports, the
//    same volumes. What the spec grew since is reserved in the same ACCEPT,
//    and the CPU and memory it shrank by (beyond what the pod's other
//    tasks need) unreserved; a volume that is not offered (its agent is
//    gone) means no launch.
//  - release_pod_instance() DESTROYs the instance's volumes and UNRESERVEs
//    its resources (`pod replace`, decommission): the next launch is a
//    first one, elsewhere if placement says so.
//
// Tasks are named as in dcos-commons, `<pod>-<index>-<task>`, with ids
// `<name>__<uuid>`; their environment is the spec's plus
// POD_INSTANCE_INDEX, TASK_NAME, FRAMEWORK_NAME, FRAMEWORK_HOST,
// FRAMEWORK_VIP_HOST, `<task name>=true`, a variable per port (its
// env-key, default PORT_<NAME>) and the launching plan's parameters. Config templates are rendered with that
// environment (dcos/config_template.hpp) and written to their `dest`
// before the task's command runs.
//
// A task's health check and readiness check are Mesos checks with the
// task's environment (TaskInfo.health_check, TaskInfo.check).
//
// Not yet: images for the pod's containers beyond the image name,
// pre-reserved roles (resources are reserved from the unreserved pool
// only).
//
// Thread-safety: plain functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <dcos/placement_constraint.hpp>
#include <dcos/resources.hpp>
#include <dcos/v1/offer.pb.h>
#include <dcos/v1/service.pb.h>

namespace dcos {

/// What a launch is about.
struct pod_launch_request {
  /// REQUIRES: a spec that parse_service_spec() accepted.
  const v1::ServiceSpec* spec = nullptr;
  /// The instance (its `pod` and `index` set); its reservations and ids
  /// when it was launched before.
  v1::PodInstance instance;
  /// The spec's names of the tasks to start. REQUIRES: tasks of the pod.
  std::vector<std::string> tasks;
  /// True while the instance's executor (instance.executor_id) runs: the
  /// tasks join it instead of a new one.
  bool executor_running = false;
  /// The sites of the pod's other instances, for its placement rules.
  std::vector<placement_site> placed;
  /// Fresh unique ids (task, executor, reservation and volume ids): a
  /// seeded source in the simulation.
  std::function<std::string()> new_id;
  /// The parameters of the plan that launches (POST /v1/plans/{plan}/start
  /// with {"BACKUP_NAME": "monday"}): added to each task's environment,
  /// after the spec's, so that they override it.
  v1::Environment parameters;
  /// The service's DNS name for FRAMEWORK_HOST: "<name>.autoip.dcos.thisdcos.
  /// directory" unless set.
  std::string framework_host;
  /// Where the scheduler's HTTP API listens, for tasks that ask it (an
  /// instance finding another's endpoints): SCHEDULER_API_HOSTNAME and
  /// SCHEDULER_API_PORT in each task's environment, as dcos-commons sets
  /// them. Unset (port 0): neither variable.
  std::string api_hostname;
  uint16_t api_port = 0;
};

/// The outcome for one offer.
struct pod_launch {
  bool fits = false;
  std::string reason; // when it does not: a sentence
  /// No offer will do: the spec is wrong (a config template without a
  /// value for one of its variables, a bad placement).
  bool hopeless = false;
  /// UNRESERVE (what the instance's reservation holds beyond its tasks'
  /// needs), RESERVE, CREATE (first launch only) and one LAUNCH_GROUP, to
  /// ACCEPT in this order.
  std::vector<v1::Offer::Operation> operations;
  /// The instance as it will be once the operations succeed: its agent,
  /// reservation id, ports, volume ids, executor and task ids.
  v1::PodInstance instance;
};

/// Plans the launch of `request.tasks` on `offer`, `available` being what
/// is left of it (the caller takes `used` of a fitting launch out).
pod_launch plan_pod_launch(const pod_launch_request& request,
                           const v1::Offer& offer, const resources& available,
                           resources* used = nullptr);

/// The DESTROY and UNRESERVE operations that give back what `instance`
/// holds in `offer`: empty if the offer holds none of it (another agent, or
/// its tasks still run).
std::vector<v1::Offer::Operation>
release_pod_instance(const v1::PodInstance& instance, const v1::Offer& offer);

/// An advertised port (`advertise: true`) of a launched task: an entry of
/// dcos-commons' /v1/endpoints/{name}.
struct pod_endpoint {
  std::string name;    // the port's name, which names the endpoint
  std::string address; // "<agent hostname>:<host port>"
  /// "<task's discovery name>.<service>.autoip.dcos.thisdcos.directory:
  /// <host port>" (dots in names as dashes)
  std::string dns;
  /// "<vip prefix>.<service>.l4lb.thisdcos.directory:<vip port>", or ""
  std::string vip;
};

/// The advertised ports of `instance`'s tasks that were launched, in the
/// spec's order of tasks and ports.
std::vector<pod_endpoint> pod_endpoints(const v1::ServiceSpec& spec,
                                        const v1::PodInstance& instance);

/// The key of a resource's `resource_id` reservation label, as
/// dcos-commons labels what it reserves.
inline constexpr const char* resource_id_label = "resource_id";

/// The reservation id of `r` (its innermost reservation's resource_id
/// label), or "" if it has none.
std::string reservation_id_of(const resource& r);

} // namespace dcos
