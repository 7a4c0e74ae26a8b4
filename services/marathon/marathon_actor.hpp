// The heart of Marathon: one actor that is both a framework (the scheduler
// SDK's events arrive here) and the keeper of the apps, their tasks and the
// deployments that move the tasks toward the apps' definitions.
//
// What it guarantees:
//  - An accepted change (create, replace, scale, restart, remove; of one
//    app or of a group) is in the store before it is answered, as one
//    deployment record that a restarted Marathon applies again; it starts
//    a deployment that changes the apps in steps, an app after the apps it
//    depends on (its own and its groups' dependencies). Each step ends once
//    its apps' tasks match their definitions; the deployment ends after
//    the last (or says why it cannot progress, in
//    Deployment.stalled_because).
//  - Up to 50 versions of each app are kept; an app can be put back to
//    one.
//  - Tasks are launched from offers that fit the app's resources, ports and
//    constraints; a task that ends without being killed by Marathon is
//    replaced, after the app's backoff (backoffSeconds, times backoffFactor
//    per further failure, up to maxLaunchDelaySeconds; reset when the app
//    changes).
//  - A new version replaces the old tasks rolling: never more than
//    instances x (1 + maximumOverCapacity) tasks, never fewer than
//    ceil(instances x minimumHealthCapacity) serving: running, and healthy
//    if the app has a health check (the executor runs it; its verdicts
//    arrive as status updates and are kept with the task). A task its
//    executor killed for failing its checks is replaced like a failed one.
//  - An unreachable task is replaced after the app's
//    unreachableStrategy.inactiveAfterSeconds and forgotten after
//    expungeAfterSeconds (then killed, should it come back).
//  - After every (re-)subscription, the tasks Marathon knows are reconciled
//    with the master, and tasks the master runs for this framework that
//    Marathon does not know are killed. A task being killed is killed
//    again after every (re-)subscription and every kill_retry_interval
//    until it ends.
//  - Every change, task status and deployment step is published as a
//    Marathon event to the subscribers of /v2/events.
//  - The framework id is kept in the store; a restarted Marathon fails over
//    to its framework, and a changed app or deployment in flight resumes.
//
// Time only through CAF timers and `start_time`; randomness only from
// `seed`; disk only through `store`: it runs unchanged in the simulation.
//
// Thread-safety: an actor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/detector_actor.hpp>
#include <dcos/stream_sink.hpp>
#include <dcos/scheduler_driver_actor.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/type_bridge.hpp>

#include "marathon.pb.h"
#include "readiness_prober.hpp"

namespace dcos::marathon {

using dcos::detail::inspect;

using apps_atom = caf::atom_constant<caf::atom("apps")>;
using deploys_atom = caf::atom_constant<caf::atom("deploys")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using unreachable_atom = caf::atom_constant<caf::atom("unreach")>;
using groups_atom = caf::atom_constant<caf::atom("groups")>;
using versions_atom = caf::atom_constant<caf::atom("versions")>;
using converge_atom = caf::atom_constant<caf::atom("converge")>;
using readiness_atom = caf::atom_constant<caf::atom("readiness")>;

/// What Marathon says about itself at /v2/info.
struct marathon_info {
  std::string framework_id; // "" until subscribed once
  bool subscribed = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, marathon_info& x) {
  return f(caf::meta::type_name("marathon_info"), x.framework_id,
           x.subscribed);
}

/// The calls of the REST API. Failures: errc::not_found (no such app),
/// errc::conflict (the app exists, for a create; or a deployment holds the
/// app and `force` is false: the message names the deployment),
/// errc::io_error (the store refused the change; nothing changed).
using marathon_api = caf::typed_actor<
  // Creates (`create`) or replaces an app; answers the deployment.
  caf::replies_to<put_atom, App, bool /*create*/, bool /*force*/>::with<
    Deployment>,
  // Removes an app: its tasks are killed.
  caf::replies_to<erase_atom, std::string, bool /*force*/>::with<Deployment>,
  // Replaces every task of the app with a new one (a new version).
  caf::replies_to<restart_atom, std::string, bool /*force*/>::with<
    Deployment>,
  // Kills tasks by id; with `scale`, the apps' instances shrink by as many
  // (their definitions change, without a deployment). With `wipe`, a
  // resident app's instances (running or suspended) also give up their
  // reservations and volumes: a replacement starts afresh. Answers the
  // tasks.
  caf::replies_to<kill_atom, std::vector<std::string>, bool /*scale*/,
                  bool /*wipe*/>::with<std::vector<Task>>,
  // Every app with its counts and tasks, sorted by id; errc::unavailable
  // while the state is loading (as every request).
  caf::replies_to<get_atom, apps_atom>::with<std::vector<App>>,
  caf::replies_to<get_atom, deploys_atom>::with<std::vector<Deployment>>,
  // The root group: every group and every app (as get apps shows them).
  caf::replies_to<get_atom, groups_atom>::with<Group>,
  // Applies a group update (`create`: a POST, refused with errc::conflict
  // if the group exists); errc::invalid_argument for a dependency cycle or
  // an app outside its group.
  caf::replies_to<put_atom, GroupUpdate, bool /*create*/,
                  bool /*force*/>::with<Deployment>,
  // Removes a group ("/": all) with every app under it.
  caf::replies_to<erase_atom, groups_atom, std::string, bool /*force*/>::with<
    Deployment>,
  // The versions of a group (of the last 50 changes), newest first; the
  // group as it was in one of them; the group put back to one of them.
  caf::replies_to<get_atom, groups_atom, versions_atom, std::string>::with<
    std::vector<std::string>>,
  caf::replies_to<get_atom, groups_atom, versions_atom, std::string,
                  std::string>::with<Group>,
  caf::replies_to<put_atom, groups_atom, versions_atom, std::string,
                  std::string, bool /*force*/>::with<Deployment>,
  // The versions kept of an app (up to 50), newest first; one of them.
  caf::replies_to<get_atom, versions_atom, std::string>::with<
    std::vector<std::string>>,
  caf::replies_to<get_atom, versions_atom, std::string, std::string>::with<
    App>,
  // Puts an app back to one of its versions.
  caf::replies_to<put_atom, versions_atom, std::string, std::string,
                  bool /*force*/>::with<Deployment>,
  // Cancels a deployment: with `force` it only stops; else a new deployment
  // takes the apps back to their definitions before it.
  caf::replies_to<erase_atom, deploys_atom, std::string, bool>::with<
    Deployment>,
  caf::replies_to<get_atom, info_atom>::with<marathon_info>,
  // The apps waiting for launches: how many, their backoff, and what the
  // offers they saw lacked.
  caf::replies_to<get_atom, queue_atom>::with<std::vector<QueueItem>>,
  // Ends the backoff of an app's launches now.
  caf::replies_to<erase_atom, queue_atom, std::string>::with<ok_atom>,
  // Subscribes `sink` to the events (server-sent event frames) whose types
  // are listed (all if none), from the next one on; the first frame is
  // event_stream_attached. The subscription ends when the sink closes.
  caf::replies_to<subscribe_atom, events_atom, std::shared_ptr<stream_sink>,
                  std::vector<std::string>>::with<ok_atom>,
  // Internal: the periodic explicit reconciliation, the time an
  // unreachable task may turn inactive or be expunged, and converging the
  // apps whose tasks changed.
  caf::reacts_to<tick_atom>, caf::reacts_to<unreachable_atom>,
  caf::reacts_to<converge_atom>,
  // Internal: kills again the tasks whose kill was not confirmed.
  caf::reacts_to<kill_atom>,
  // Internal: runs the readiness check of a task.
  caf::reacts_to<readiness_atom, std::string>>;

/// Both faces: the framework the driver talks to, and the API.
using marathon_actor = marathon_api::extend_with<framework_actor>;

struct marathon_config {
  v1::FrameworkInfo framework; // name, role, user, failover_timeout
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  double start_time = 0; // seconds since the epoch when started
  scheduler_options driver_options;
  /// How often tasks that have not ended are reconciled explicitly.
  caf::timespan reconcile_interval = std::chrono::minutes(10);
  /// How often tasks being killed are killed again (a kill may be lost).
  caf::timespan kill_retry_interval = std::chrono::seconds(10);
  /// Asks tasks whether they are ready (apps with readinessChecks). None:
  /// every task is ready once running.
  readiness_prober prober;
};

/// Loads the state from `cfg.store`, then subscribes (failing over to the
/// stored framework id, if any). The actor and its driver end together.
marathon_actor spawn_marathon(caf::actor_system& sys, marathon_config cfg);

/// Calls `done` once, from another actor: with no error once `marathon` has
/// loaded its state (until then it refuses requests as unavailable), or
/// with the reason it could not (it ended).
void when_loaded(caf::actor_system& sys, marathon_actor marathon,
                 std::function<void(const caf::error&)> done);

} // namespace dcos::marathon
