// The agent's HTTP edge: /health, /state, /metrics/snapshot, /metrics, and
// the sandbox files (/files/browse, /files/read) so that task logs can be
// read remotely. File access is confined to the agent's work directory.
#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "dcos/atoms.hpp"
#include "dcos/http_server.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::kernel {

/// The part of the agent the edge talks to.
using agent_edge_actor = caf::typed_actor<
  caf::replies_to<state_atom>::with<std::string>,
  caf::replies_to<metrics_atom>::with<v1::master::Response>,
  // /monitor/statistics: the usage of every executor's container, as JSON.
  caf::replies_to<monitor_atom>::with<std::string>>;

caf::expected<std::unique_ptr<http_server>>
start_agent_http(caf::actor_system& sys, agent_edge_actor agent,
                 const std::string& ip, uint16_t port,
                 const std::string& work_dir);

} // namespace dcos::kernel
