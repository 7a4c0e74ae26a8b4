// What an agent tells an executor process it starts, through that process's
// environment. The agent writes it with to_env() and dcos-executor (or the
// simulation's containerizer, standing in for one) reads it back with
// from_env(), so the two ends cannot name a variable differently.
//
// A custom executor (the framework's own program) gets the same variables,
// Mesos' MESOS_* ones among them; only ours read the DCOS_* ones.
//
// Thread-safety: a value type; from_env() reads only its argument.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/timestamp.hpp>

namespace dcos {

/// Which program an executor container runs.
enum class executor_program {
  custom,           // the framework's ExecutorInfo.command
  command_executor, // dcos-executor running one task (Mesos' command executor)
  default_executor, // dcos-executor running task groups (Mesos' default one)
};

struct executor_environment {
  std::string agent_endpoint; // DCOS_AGENT_ENDPOINT: host:port of the agent's
                              // actor protocol
  std::string agent_id;       // DCOS_AGENT_ID, MESOS_AGENT_ID
  std::string framework_id;   // DCOS_FRAMEWORK_ID, MESOS_FRAMEWORK_ID
  std::string executor_id;    // DCOS_EXECUTOR_ID, MESOS_EXECUTOR_ID
  std::string container_id;   // DCOS_CONTAINER_ID
  std::string sandbox;        // DCOS_SANDBOX, MESOS_SANDBOX
  executor_program program = executor_program::custom; // DCOS_EXECUTOR_MODE
  std::string containerizer;  // DCOS_CONTAINERIZER: dcos-containerizer
  std::string fetcher;        // DCOS_FETCHER: dcos-fetcher
  std::string fetch_cache;    // DCOS_FETCH_CACHE
  std::string log_level = "warning"; // DCOS_EXECUTOR_LOG_LEVEL
  // DCOS_RECOVERY_TIMEOUT: how long the executor waits for a restarted agent.
  caf::timespan recovery_timeout = std::chrono::minutes(15);

  /// The variables, KEY=VALUE. DCOS_EXECUTOR_MODE is left out for a custom
  /// executor.
  std::vector<std::string> to_env() const;

  /// Reads the variables to_env() wrote out of `env` (KEY=VALUE entries;
  /// later entries win). Fails, naming the variable, if DCOS_FRAMEWORK_ID,
  /// DCOS_EXECUTOR_ID or DCOS_CONTAINER_ID is missing, or if
  /// DCOS_EXECUTOR_MODE, DCOS_EXECUTOR_LOG_LEVEL or DCOS_RECOVERY_TIMEOUT
  /// has a value it cannot read. Unset optional variables keep the defaults
  /// above.
  static caf::expected<executor_environment>
  from_env(const std::vector<std::string>& env);

  /// from_env() of this process's environment.
  static caf::expected<executor_environment> from_process_env();
};

} // namespace dcos
