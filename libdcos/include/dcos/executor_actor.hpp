// The agent <-> executor protocol. Executors are separate processes that
// connect back to their agent's actor port (DCOS_AGENT_ENDPOINT) and
// register; the agent then hands them their tasks.
//
// Status updates from an executor are acknowledged by the agent once they
// are checkpointed; the executor keeps unacknowledged ones and sends them
// again when it re-registers with a restarted agent.
#pragma once

#include <string>

#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/v1/internal.pb.h>

namespace dcos {

/// What an executor implements.
using executor_actor = caf::typed_actor<
  caf::reacts_to<v1::internal::RunTask>,
  caf::reacts_to<v1::internal::RunTaskGroup>,
  caf::reacts_to<v1::internal::KillTask>,
  caf::reacts_to<v1::internal::StatusUpdateAcknowledgement>,
  caf::reacts_to<v1::internal::FrameworkToExecutor>,
  // Kill every task and exit; the string says why.
  caf::reacts_to<shutdown_atom, std::string>>;

/// What the agent offers its executors (published on its actor port).
using agent_executor_actor = caf::typed_actor<
  caf::replies_to<executor_actor, v1::internal::RegisterExecutor>::with<
    v1::internal::ExecutorRegistered>,
  caf::replies_to<executor_actor, v1::internal::ReregisterExecutor>::with<
    v1::internal::ExecutorRegistered>,
  caf::reacts_to<v1::internal::StatusUpdate>,
  caf::reacts_to<v1::internal::ExecutorToFramework>>;

} // namespace dcos
