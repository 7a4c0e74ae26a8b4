#include "dcos/http_router.hpp"

#include <fmt/format.h>

namespace dcos {

http_router& http_router::add(std::string method, std::string path,
                              route handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
  return *this;
}

http_router& http_router::get(std::string path, route handler) {
  return add("GET", std::move(path), std::move(handler));
}

http_router& http_router::post(std::string path, route handler) {
  return add("POST", std::move(path), std::move(handler));
}

bool http_router::has(const std::string& path) const {
  return routes_.count(path) > 0;
}

http_handler http_router::handler() && {
  auto routes = std::make_shared<const decltype(routes_)>(std::move(routes_));
  return [routes](http_request req, http_responder respond) {
    auto at = routes->find(req.path);
    if (at == routes->end()) {
      respond(json_error(404, fmt::format("no endpoint {}", req.path)));
      return;
    }
    const auto& methods = at->second;
    // HEAD is GET without the body (http_server leaves the body out).
    auto method = req.method == "HEAD" ? std::string{"GET"} : req.method;
    auto handler = methods.find(method);
    if (handler == methods.end()) {
      std::vector<std::string> allowed;
      for (const auto& [name, route] : methods)
        allowed.push_back(name);
      respond(method_not_allowed(allowed));
      return;
    }
    handler->second(req, std::move(respond));
  };
}

http_response method_not_allowed(const std::vector<std::string>& allowed) {
  auto list = fmt::format("{}", fmt::join(allowed, ", "));
  auto r = json_error(405, fmt::format("use {}", list));
  r.headers.emplace_back("Allow", list);
  return r;
}

} // namespace dcos
