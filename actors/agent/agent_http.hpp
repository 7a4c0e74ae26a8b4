// The agent's HTTP endpoints, served by daemon_runtime on dcos-agent's
// --port: /state, /metrics/snapshot, /metrics, /monitor/statistics, the
// sandbox files (/files/browse, /files/read) so that task logs can be read
// remotely, and Mesos' v1 agent operator API (POST /api/v1: GET_HEALTH,
// GET_VERSION, GET_METRICS, GET_STATE, GET_FRAMEWORKS, GET_EXECUTORS,
// GET_TASKS, GET_AGENT, GET_CONTAINERS, LIST_FILES, READ_FILE, and the
// debug sessions of `dcos task exec`: LAUNCH_NESTED_CONTAINER_SESSION,
// ATTACH_CONTAINER_INPUT, ATTACH_CONTAINER_OUTPUT, WAIT_NESTED_CONTAINER,
// KILL_NESTED_CONTAINER; JSON or protobuf). File
// access is confined to the agent's work directory.
// /health, /version and /flags come from the runtime.
#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "dcos/atoms.hpp"
#include "dcos/containerizer_actor.hpp"
#include "dcos/http_router.hpp"
#include "dcos/type_bridge.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::kernel {

/// The part of the agent the edge talks to.
using agent_edge_actor = caf::typed_actor<
  caf::replies_to<state_atom>::with<std::string>,
  caf::replies_to<metrics_atom>::with<v1::master::Response>,
  // /monitor/statistics: the usage of every executor's container, as JSON.
  caf::replies_to<monitor_atom>::with<std::string>,
  // The v1 API's calls about the agent's frameworks, executors, tasks,
  // containers and itself (the edge answers the others).
  caf::replies_to<v1::agent::Call>::with<v1::agent::Response>,
  // LAUNCH_NESTED_CONTAINER_SESSION: the session's streams once it runs.
  caf::replies_to<session_atom, v1::agent::Call>::with<container_io_ptr>>;

class session_pump;

/// The agent's routes, for daemon_runtime::serve; `flags` (name, value)
/// answer GET_FLAGS; `pump` streams the output of debug sessions (shared:
/// a stream may start after the server has stopped, when it is dropped).
/// REQUIRES: `sys` outlives the routes' handlers.
http_router
agent_routes(caf::actor_system& sys, agent_edge_actor agent,
             const std::string& work_dir,
             std::vector<std::pair<std::string, std::string>> flags,
             std::shared_ptr<session_pump> pump);

} // namespace dcos::kernel
