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

http_router& http_router::add_prefix(std::string method, std::string prefix,
                                     route handler) {
  prefixes_[std::move(prefix)][std::move(method)] = std::move(handler);
  return *this;
}

bool http_router::has(const std::string& path) const {
  return routes_.count(path) > 0;
}

http_handler http_router::handler() && {
  struct table {
    std::map<std::string, methods> exact;
    std::map<std::string, methods> prefixes;
    // The routes for `path`: its exact route, else the longest prefix.
    const methods* find(const std::string& path) const {
      if (auto at = exact.find(path); at != exact.end())
        return &at->second;
      // Keys sort before their extensions, so walking back from the first
      // key above `path` meets the longest matching prefix first.
      for (auto at = prefixes.upper_bound(path); at != prefixes.begin();) {
        --at;
        if (path.compare(0, at->first.size(), at->first) == 0)
          return &at->second;
      }
      return nullptr;
    }
  };
  auto routes = std::make_shared<const table>(
    table{std::move(routes_), std::move(prefixes_)});
  return [routes](http_request req, http_responder respond) {
    const auto* found = routes->find(req.path);
    if (!found) {
      respond(json_error(404, fmt::format("no endpoint {}", req.path)));
      return;
    }
    const auto& methods = *found;
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

std::vector<std::string> path_segments(std::string_view rest) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= rest.size()) {
    auto slash = rest.find('/', start);
    auto part = rest.substr(start, slash == std::string_view::npos
                                     ? std::string_view::npos
                                     : slash - start);
    out.emplace_back(part);
    start = slash == std::string_view::npos ? rest.size() + 1 : slash + 1;
  }
  while (!out.empty() && out.back().empty())
    out.pop_back();
  return out;
}

} // namespace dcos
