// Routes requests of an http_server to handlers by method and path (exact
// paths, or path prefixes for REST resources named in the path, such as
// Marathon's /v2/apps/{id}), and answers the rest as Mesos does: an unknown path gets 404, a known path
// with another method 405 with an Allow header, both with a JSON body
// {"error": "..."} that names the path or the methods.
//
// Usage:
//   http_router routes;
//   routes.get("/health", [](const http_request&, http_responder r) {
//     r(http_response{});
//   });
//   routes.post("/api/v1", operator_api);
//   http_server::start(ip, port, std::move(routes).handler());
//
// Thread-safety: build on one thread; the handler it yields is immutable and
// may run on several I/O threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <dcos/http_server.hpp>

namespace dcos {

class http_router {
public:
  /// Answers one request: as http_handler, but the request is borrowed.
  using route = std::function<void(const http_request&, http_responder)>;

  /// Routes `method` on `path` (an exact, decoded path) to `handler`.
  /// REQUIRES: the pair is new.
  http_router& add(std::string method, std::string path, route handler);

  /// GET (and HEAD, which http_server answers without the body).
  http_router& get(std::string path, route handler);

  http_router& post(std::string path, route handler);

  /// Routes `method` on every path that starts with `prefix` (which should
  /// end with '/') and has no exact route; the handler reads the rest of
  /// `http_request::path` itself. The longest matching prefix wins.
  /// REQUIRES: the pair is new.
  http_router& add_prefix(std::string method, std::string prefix,
                          route handler);

  /// True if some method is routed on `path`.
  bool has(const std::string& path) const;

  /// The handler for http_server::start. The router is moved into it.
  http_handler handler() &&;

private:
  using methods = std::map<std::string, route>;
  std::map<std::string, methods> routes_;   // path -> method -> handler
  std::map<std::string, methods> prefixes_; // prefix -> method -> handler
};

/// The '/'-separated segments of `rest` (a path's tail after a prefix
/// route's prefix), trailing empty ones dropped: "a/b/" is {"a", "b"},
/// "a//b" is {"a", "", "b"}.
std::vector<std::string> path_segments(std::string_view rest);

/// {"error": ...} with status 405 and an Allow header listing `allowed`.
http_response method_not_allowed(const std::vector<std::string>& allowed);

} // namespace dcos
