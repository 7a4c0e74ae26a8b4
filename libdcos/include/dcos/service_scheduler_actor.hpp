// The stateful service scheduler: one actor that runs a service spec
// (dcos/service_spec.hpp) on the cluster, the SDK's counterpart of a
// dcos-commons scheduler. It is the framework the driver talks to, works on
// the spec's plans (dcos/plan.hpp) as offers come, launches each step's
// tasks on the pod instance's reservation and volumes (dcos/pod_launch.hpp),
// and answers operators' plan operations.
//
// What it guarantees:
//  - A pod instance's reservation, volume and task ids are in the store
//    before the ACCEPT that makes them is sent: a scheduler restarted at any
//    moment finds its reservations in offers and never reserves twice for
//    one instance.
//  - A plan's progress (step statuses, interrupts, canary releases,
//    parameters) is stored after each change, and an operation is answered
//    once stored: a restarted scheduler resumes every plan where it was,
//    operators' overrides included; steps that were under way are confirmed
//    by reconciling their tasks.
//  - A step is COMPLETE when each of its tasks reached its goal: RUNNING
//    tasks running, and ready if they have a readiness check (its command,
//    a Mesos check the executor runs, exited 0 since the launch; until then
//    the step is STARTED), FINISH and ONCE tasks finished. A task that fails
//    makes its step DELAYED (the message says which task and why), and the
//    step is tried again, in place on its reservation and volumes, after a
//    backoff that doubles with each failure from `min_backoff` up to
//    `max_backoff`. A task the master refuses (TASK_ERROR) makes the step
//    ERROR: only an operator's restart or force-complete moves it on. So
//    does a spec whose launch cannot be built (a config template without
//    a value).
//  - Recovery: a RUNNING task of a completed step that ends is launched
//    again in place, on its pod instance's reservation and volumes, after
//    the same backoff (dcos-commons' recovery plan, in place).
//  - Replacement (permanent recovery): an instance is given up on and
//    launched afresh, on new reservations and volumes wherever its
//    placement allows, when an operator replaces it, when its agent is
//    gone (TASK_GONE, TASK_GONE_BY_OPERATOR), or, under the spec's
//    replacement-failure-policy, when one of its RUNNING tasks has been
//    down (ended, lost or unreachable) for permanent_failure_timeout_s
//    without a break, no sooner than min_replace_delay_s after the last
//    replacement. Its RUNNING tasks are launched; a step of a plan that
//    was under way on it starts over; the old reservation is DESTROYed
//    and UNRESERVEd when its agent offers it. Those timers start afresh
//    with each scheduler, as in dcos-commons.
//  - An operator's pod restart kills the instance's tasks and launches its
//    RUNNING tasks again in place, once all have ended, without backoff.
//  - Tasks it does not know (of an earlier incarnation that lost them), and
//    earlier launches of its tasks that still run (an instance replaced
//    while its agent was away), are killed when their updates arrive.
//
//  - A changed spec (the one the service ran is in the store) rolls out as
//    dcos/service_update.hpp says: by its `update` plan, else `deploy`,
//    relaunching in place the instances whose pod changed and
//    decommissioning those it has no more; one it cannot take is refused,
//    and the deploy plan shows why.
//
// Not yet: a replaced instance runs its RUNNING tasks only: FINISH and ONCE
// tasks (an init step) run again when a plan runs them.
//
// Time only through CAF timers; randomness only from `seed` (mixed with an
// incarnation count kept in the store); disk only through `store`: it runs
// unchanged in the simulation.
//
// Thread-safety: an actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/detector_actor.hpp>
#include <dcos/metrics.hpp>
#include <dcos/scheduler_driver_actor.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/v1/service.pb.h>

namespace dcos {

using plans_atom = caf::atom_constant<caf::atom("plans")>;
using pods_atom = caf::atom_constant<caf::atom("pods")>;
using operate_atom = caf::atom_constant<caf::atom("operate")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using properties_atom = caf::atom_constant<caf::atom("properties")>;

/// A pod instance and the latest statuses of its current tasks.
using pod_info = std::pair<v1::PodInstance, std::vector<v1::TaskStatus>>;

/// The calls of the service's API. Failures: errc::unavailable (the state
/// is loading), errc::not_found (no such plan, phase or step),
/// errc::invalid_argument (an unknown operation, or one that does not
/// apply at that level), errc::io_error (the store refused the change).
using service_api = caf::typed_actor<
  // Every plan, deploy first, in the spec's order.
  caf::replies_to<get_atom, plans_atom>::with<std::vector<v1::PlanState>>,
  // An operator's operation (plan_operation's names: "start", "stop",
  // "continue", "interrupt", "forceComplete", "restart") on a plan, one of
  // its phases, or a step of that phase; `parameters` for start. Answers
  // whether anything changed, once stored.
  caf::replies_to<operate_atom, std::string /*plan*/, std::string /*op*/,
                  std::string /*phase*/, std::string /*step*/,
                  v1::Environment>::with<bool>,
  // Every pod instance that was launched, by name.
  caf::replies_to<get_atom, pods_atom>::with<std::vector<v1::PodInstance>>,
  // One instance ("<pod>-<index>"), its tasks' TaskInfos in task_infos,
  // and the latest status of each of its current tasks that reported one
  // (none for a task not heard from since this scheduler started, until
  // reconciliation answers). errc::not_found: no such instance, or none of
  // its tasks was launched.
  caf::replies_to<get_atom, pods_atom, std::string>::with<pod_info>,
  // Gauges and counters for /metrics: "service/plans/<plan>/steps_<status>"
  // and ".../complete", "service/tasks_<state>" of the current tasks,
  // "service/pod_instances", and since this scheduler started
  // "service/offers_received", "offers_declined", "operations_<type>",
  // "task_statuses", "revives", "recoveries", "replacements".
  caf::replies_to<get_atom, metrics_atom>::with<metrics_snapshot>,
  // The scheduler's properties (dcos-commons' /v1/state/properties):
  // "incarnation" (how many times a scheduler started on this state) and
  // "framework-id" once it has one.
  caf::replies_to<get_atom, properties_atom>::with<
    std::map<std::string, std::string>>,
  // The latest state of each task the service knows, by task id.
  caf::replies_to<get_atom, state_atom>::with<
    std::vector<std::pair<std::string, int32_t>>>,
  // An operator's `pod restart` (restart_atom) or `pod replace`
  // (replace_atom) of an instance, "<pod>-<index>": see above. Answers the
  // names of the instance's tasks, once stored. errc::not_found: no such
  // instance, or none of its tasks was ever launched.
  caf::replies_to<restart_atom, std::string>::with<std::vector<std::string>>,
  caf::replies_to<replace_atom, std::string>::with<std::vector<std::string>>,
  // Internal: a failed step's (plan, step id) or a failed instance's
  // ("", instance name) backoff ended.
  caf::reacts_to<retry_atom, std::string, std::string>,
  // Internal: an instance's permanent-failure timer (its number) ran out.
  caf::reacts_to<replace_atom, std::string, uint64_t>>;

/// Both faces: the framework the driver talks to, and the API.
using service_scheduler_actor = service_api::extend_with<framework_actor>;

struct service_config {
  /// REQUIRES: a spec that parse_service_spec() accepted.
  v1::ServiceSpec spec;
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  scheduler_options driver_options;
  caf::timespan min_backoff = std::chrono::seconds(1);
  caf::timespan max_backoff = std::chrono::minutes(1);
  /// How long the master keeps the service's tasks while no scheduler is
  /// subscribed (dcos-commons: two weeks).
  double failover_timeout_s = 1209600;
  /// FRAMEWORK_HOST in the tasks' environment; see pod_launch_request.
  std::string framework_host;
  /// The scheduler's HTTP API, for its tasks; see pod_launch_request.
  std::string api_hostname;
  uint16_t api_port = 0;
};

/// Loads the state from `cfg.store`, then subscribes (failing over to the
/// stored framework id, if any). The actor and its driver end together.
service_scheduler_actor spawn_service_scheduler(caf::actor_system& sys,
                                                service_config cfg);

/// Calls `done` once, from another actor: with no error once `service`
/// has loaded its state (until then it refuses requests as unavailable),
/// or with the reason it could not (it ended).
void when_loaded(caf::actor_system& sys, service_scheduler_actor service,
                 std::function<void(const caf::error&)> done);

} // namespace dcos
