// What the master sends to an agent. Implemented by the agent actor
// (actors/agent) and, in tests and simulation, by anything that speaks the
// same protocol.
#pragma once

#include <string>

#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/v1/internal.pb.h>

namespace dcos {

using agent_actor = caf::typed_actor<
  // Health: the master pings every ping interval and counts misses.
  caf::replies_to<ping_atom>::with<pong_atom>,
  caf::reacts_to<v1::internal::RunTask>,
  caf::reacts_to<v1::internal::RunTaskGroup>,
  caf::reacts_to<v1::internal::KillTask>,
  caf::reacts_to<v1::internal::ShutdownExecutor>,
  caf::reacts_to<v1::internal::ShutdownFramework>,
  caf::reacts_to<v1::internal::StatusUpdateAcknowledgement>,
  caf::reacts_to<v1::internal::FrameworkToExecutor>,
  caf::reacts_to<v1::internal::CheckpointResources>,
  caf::reacts_to<v1::internal::AcknowledgeOperationStatus>,
  // Kill every task and take no new ones until they have all ended and
  // their ends are acknowledged (the operator's DRAIN_AGENT).
  caf::reacts_to<v1::internal::DrainAgent>,
  // The master no longer accepts this agent (removed, or marked gone); the
  // agent must stop, and kill its tasks. The string says why.
  caf::reacts_to<shutdown_atom, std::string>>;

} // namespace dcos
