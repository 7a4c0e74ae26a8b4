// Marathon's v2 REST API on the libdcos HTTP edge: the routes, their
// answers in Marathon's JSON (camelCase, Marathon's status codes and error
// bodies), and the requests they make of the marathon actor.
//
// Served: /ping, /v2/info, /v2/leader (GET, DELETE), /v2/apps (GET with the cmd, id,
// label and embed filters; POST), /v2/apps/{id} (GET, PUT, PATCH, DELETE),
// /v2/apps/{id}/restart, /v2/apps/{id}/tasks[/{taskId}] (GET, DELETE),
// /v2/apps/{id}/versions[/{version}], /v2/groups[/{id}] (GET, POST, PUT,
// DELETE),
// /v2/tasks, /v2/tasks/delete, /v2/deployments[/{id}], /v2/queue (and
// DELETE /v2/queue/{id}/delay), /v2/events (SSE), /metrics.
//
// Thread-safety: routes() is called once, on the main thread; the handlers
// it returns run on the HTTP threads and only send messages.
#pragma once

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include <dcos/http_router.hpp>
#include <dcos/leader_proxy.hpp>

#include "marathon_actor.hpp"

namespace dcos::marathon {

struct marathon_http_info {
  std::string name = "marathon"; // the framework's name
  std::string leader;            // this instance's HOST:PORT
  std::string master;            // the --master flag
  std::string version;
  std::string zk;                // the --zk URL (password hidden), if any
  /// DELETE /v2/leader: called once the answer is on its way; this
  /// instance then stops leading (it shuts down).
  std::function<void()> abdicate;
};

/// REQUIRES: `sys` and `marathon` outlive the server that serves the routes.
http_router marathon_routes(caf::actor_system& sys, marathon_actor marathon,
                            marathon_http_info info);

/// How Marathon's leader proxy speaks: `X-Marathon-Leader: http://HOST:PORT`
/// on every answer, `X-Marathon-Via: 1.1 HOST:PORT` on forwarded ones, 502
/// "Detected proxying loop.", 503 "Could not determine the current leader";
/// /v2/events forwarded as a stream.
leader_proxy_dialect marathon_proxy_dialect();

} // namespace dcos::marathon
