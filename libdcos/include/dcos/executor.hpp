// The executor actor (dcos-executor runs one per process): it registers
// with its agent, runs tasks in containers, reports their states, kills
// them when asked, and outlives a restart of its agent: it keeps its tasks
// running, finds the agent again through its locator and re-registers with
// its tasks and the updates the agent has not acknowledged.
//
// Modes: the command executor runs one task and ends after it; the default
// executor runs task groups (all-or-nothing: when one task of a group fails
// or is killed, the rest of the group is killed) and plain tasks, and ends
// once it has been idle (every task ended and acknowledged) for a moment.
#pragma once

#include <chrono>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/containerizer_actor.hpp>
#include <dcos/executor_actor.hpp>

namespace dcos {

/// Finds the agent (again): answers with a handle to it, retrying until it
/// is back (callers time out).
using agent_locator = caf::typed_actor<
  caf::replies_to<detect_atom>::with<agent_executor_actor>>;

struct executor_config {
  agent_locator locator;
  containerizer_actor containerizer; // runs the tasks
  std::string framework_id;
  std::string executor_id;
  std::string container_id;
  std::string sandbox;
  bool command_mode = true;
  /// Registration (true) or, after the agent restarted, re-registration.
  bool reregister = false;
  caf::timespan recovery_timeout = std::chrono::minutes(15);
  caf::timespan idle_timeout = std::chrono::seconds(1);
  caf::timespan default_kill_grace = std::chrono::seconds(3);
  uint64_t seed = 0; // update uuids
  double start_time = 0; // as master_config::start_time
};

/// Spawns an executor; it ends when its work is done, when told to shut
/// down, or when its agent stays away longer than the recovery timeout.
executor_actor spawn_executor(caf::actor_system& sys, executor_config cfg);

} // namespace dcos
