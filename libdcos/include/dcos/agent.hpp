// The agent's configuration and its spawn function (the agent's interface
// to the master is agent_actor.hpp; to its executors, executor_actor.hpp).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>

#include <dcos/agent_actor.hpp>
#include <dcos/resources.hpp>
#include <dcos/containerizer_actor.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/store_actor.hpp>

namespace dcos {

struct agent_config {
  // -- identity ----------------------------------------------------------------
  std::string hostname = "localhost";
  std::string ip = "127.0.0.1";
  uint16_t port = 5051;      // HTTP (in AgentInfo)
  uint16_t actor_port = 0;   // where executors connect (published by the
                             // daemon before spawning the agent)
  resources total;           // what the agent offers
  std::vector<v1::Attribute> attributes;
  v1::DomainInfo domain;
  std::string version;       // defaults to the library version

  // -- where things are --------------------------------------------------------
  std::string work_dir;            // sandboxes live below
  std::string executor = "dcos-executor";
  std::string containerizer_helper = "dcos-containerizer";
  std::string fetcher = "dcos-fetcher";
  /// Passed to our executors, which isolate their tasks the same way
  /// (linux_isolation_config::to_env()); empty: no isolation.
  std::vector<std::string> isolation_env;
  /// The log level of our executors (they log to their sandbox's stderr).
  std::string executor_log_level = "warning";

  // -- timing ------------------------------------------------------------------
  caf::timespan registration_backoff = std::chrono::seconds(1);
  caf::timespan status_update_retry_min = std::chrono::seconds(10);
  caf::timespan status_update_retry_max = std::chrono::minutes(10);
  caf::timespan executor_registration_timeout = std::chrono::minutes(1);
  caf::timespan executor_reregistration_timeout = std::chrono::seconds(2);
  caf::timespan executor_shutdown_grace_period = std::chrono::seconds(5);
  /// Without a ping from the master for this long, the agent looks for the
  /// master again (it may have failed over).
  caf::timespan master_ping_timeout = std::chrono::seconds(75);

  // -- recovery ----------------------------------------------------------------
  /// After a restart: reconnect to live executors (true), or kill them all
  /// and exit so that the next start is a fresh agent (--recover=cleanup).
  bool reconnect = true;

  // -- determinism -------------------------------------------------------------
  uint64_t seed = 0;         // uuids of agent-made updates, container ids
  double start_time = 0;     // as master_config::start_time

  // -- collaborators -----------------------------------------------------------
  detector_actor detector;
  containerizer_actor containerizer;
  store_actor store;         // the checkpoint (journal); required
};

/// Spawns an agent: it recovers its checkpoint, finds the master, registers
/// (or re-registers with its id and tasks), and runs what it is sent.
agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg);

} // namespace dcos
