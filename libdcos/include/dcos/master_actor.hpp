// The master's interface: the scheduler API, the agent protocol and the
// operator API. Schedulers and agents hold a master_actor handle obtained
// from a detector (detector_actor.hpp); it may point to a local actor or to
// one across the network.
//
// Scheduler calls carry the framework id they act for. They are one-way:
// outcomes arrive as events (offers, updates, errors) on the scheduler_actor
// given at subscription. Requests that can fail answer with a caf::error
// whose code is a dcos::errc (invalid_argument, not_found, conflict,
// unavailable) and whose text names the offending field.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/agent_actor.hpp>
#include <dcos/atoms.hpp>
#include <dcos/master_subscriber_actor.hpp>
#include <dcos/scheduler_actor.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/v1/internal.pb.h>
#include <dcos/v1/master.pb.h>
#include <dcos/v1/scheduler.pb.h>

namespace dcos {

namespace call = v1::scheduler;

using master_actor = caf::typed_actor<
  // -- scheduler API ---------------------------------------------------------
  // SUBSCRIBE, or re-subscribe when framework_info.id is set. Events then go
  // to the given scheduler_actor, which the master also monitors.
  caf::replies_to<subscribe_atom, scheduler_actor,
                  call::Call::Subscribe>::with<call::Event::Subscribed>,
  caf::reacts_to<v1::FrameworkID, call::Call::Teardown>,
  caf::reacts_to<v1::FrameworkID, call::Call::Accept>,
  caf::reacts_to<v1::FrameworkID, call::Call::Decline>,
  caf::reacts_to<v1::FrameworkID, call::Call::Revive>,
  caf::reacts_to<v1::FrameworkID, call::Call::Suppress>,
  caf::reacts_to<v1::FrameworkID, call::Call::Kill>,
  caf::reacts_to<v1::FrameworkID, call::Call::Shutdown>,
  caf::reacts_to<v1::FrameworkID, call::Call::Acknowledge>,
  caf::reacts_to<v1::FrameworkID, call::Call::Reconcile>,
  caf::reacts_to<v1::FrameworkID, call::Call::Message>,
  caf::reacts_to<v1::FrameworkID, call::Call::AcceptInverseOffers>,
  caf::reacts_to<v1::FrameworkID, call::Call::DeclineInverseOffers>,
  caf::reacts_to<v1::FrameworkID, call::Call::Request>,
  caf::reacts_to<v1::FrameworkID, call::Call::AcknowledgeOperationStatus>,
  caf::reacts_to<v1::FrameworkID, call::Call::ReconcileOperations>,
  // The framework's info as the master now has it; refused with
  // errc::invalid_argument (a bad or immutable field changed) or
  // errc::not_found (not subscribed).
  caf::replies_to<v1::FrameworkID, call::Call::UpdateFramework>::with<
    v1::FrameworkInfo>,

  // -- agent protocol --------------------------------------------------------
  caf::replies_to<agent_actor, v1::internal::RegisterAgent>::with<
    v1::internal::AgentRegistered>,
  caf::replies_to<agent_actor, v1::internal::ReregisterAgent>::with<
    v1::internal::AgentRegistered>,
  caf::reacts_to<v1::internal::StatusUpdate>,
  caf::reacts_to<v1::internal::UpdateOperationStatus>,
  caf::reacts_to<v1::internal::ExecutorToFramework>,
  caf::reacts_to<v1::internal::ExitedExecutor>,
  // The agent shuts down on purpose: its tasks are gone, not unreachable.
  caf::reacts_to<unregister_atom, v1::AgentID>,

  // -- operator API (POST /api/v1) --------------------------------------------
  caf::replies_to<v1::master::Call>::with<v1::master::Response>,
  // The event stream (see master_subscriber_actor.hpp): the reply is the
  // SUBSCRIBED event; later events go to the subscriber. Refused with
  // errc::unavailable while the master recovers its registry.
  caf::replies_to<subscribe_atom, master_subscriber_actor>::with<
    v1::master::Event>>;

struct master_config {
  // -- identity, reported in MasterInfo and the state endpoints --------------
  std::string hostname = "localhost";
  std::string ip = "127.0.0.1";
  uint16_t port = 5050;      // HTTP (the pid reads master@IP:PORT, as Mesos)
  std::string version;       // defaults to the library version

  // -- agents ------------------------------------------------------------------
  /// An agent that misses this many pings in a row, one per timeout, is
  /// unreachable: its tasks become TASK_UNREACHABLE (partition-aware
  /// frameworks) or TASK_LOST.
  caf::timespan agent_ping_timeout = std::chrono::seconds(15);
  uint32_t max_agent_ping_timeouts = 5;
  /// After a master restart, agents in the registry that do not re-register
  /// within this time are marked unreachable.
  caf::timespan agent_reregister_timeout = std::chrono::minutes(10);

  // -- frameworks and allocation -----------------------------------------------
  caf::timespan allocation_interval = std::chrono::seconds(1);
  caf::timespan framework_heartbeat_interval = std::chrono::seconds(15);
  std::vector<std::pair<std::string, double>> weights;
  /// If not empty, frameworks may only use these roles (and "*").
  std::vector<std::string> roles;
  size_t max_completed_frameworks = 50;
  size_t max_completed_tasks_per_framework = 1000;
  /// Followers of the operator event stream at once; a new one beyond this
  /// ends the oldest (exit reason user_shutdown), as Mesos closes it.
  size_t max_operator_event_stream_subscribers = 1000;

  // -- determinism and durability ------------------------------------------------
  /// Seeds ids and the allocator's agent shuffle.
  uint64_t seed = 0;
  /// Wall-clock seconds since the epoch at spawn; timestamps in statuses are
  /// this plus elapsed actor-clock time, so the simulation stays replayable.
  double start_time = 0;
  /// Where the registry (admitted agents, unreachable agents, weights,
  /// quota) is kept. A default handle keeps it in memory only.
  store_actor store;
  /// Reported by GET_FLAGS.
  std::vector<std::pair<std::string, std::string>> flags;
};

/// Spawns a master with its allocator. With a store holding a registry from
/// an earlier run, the master recovers it first: admitted agents may
/// re-register with their tasks, and frameworks re-subscribe.
master_actor spawn_master(caf::actor_system& sys, master_config cfg);

} // namespace dcos
