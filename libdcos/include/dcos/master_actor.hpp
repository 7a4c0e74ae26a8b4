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

#include <caf/typed_actor.hpp>

#include <dcos/agent_actor.hpp>
#include <dcos/atoms.hpp>
#include <dcos/scheduler_actor.hpp>
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

  // -- agent protocol --------------------------------------------------------
  caf::replies_to<agent_actor, v1::internal::RegisterAgent>::with<
    v1::internal::AgentRegistered>,
  caf::replies_to<agent_actor, v1::internal::ReregisterAgent>::with<
    v1::internal::AgentRegistered>,
  caf::reacts_to<v1::internal::StatusUpdate>,
  caf::reacts_to<v1::internal::ExecutorToFramework>,
  caf::reacts_to<v1::internal::ExitedExecutor>,
  // The agent shuts down on purpose: its tasks are gone, not unreachable.
  caf::reacts_to<unregister_atom, v1::AgentID>,

  // -- operator API (POST /api/v1) --------------------------------------------
  caf::replies_to<v1::master::Call>::with<v1::master::Response>>;

} // namespace dcos
