// http_router: requests reach the handler for their method and path; the
// rest get Mesos' 404 and 405 answers, with a JSON body that says why.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dcos/http_router.hpp"

using namespace dcos;

namespace {

// Runs `handler` on a request and returns its (synchronous) answer.
http_response answer(const http_handler& handler, std::string method,
                     std::string path) {
  http_request req;
  req.method = std::move(method);
  req.path = path;
  req.target = std::move(path);
  http_response out;
  out.status = 0;
  handler(std::move(req), [&out](http_response r) { out = std::move(r); });
  return out;
}

http_router::route says(std::string text) {
  return [text](const http_request& req, http_responder respond) {
    http_response r;
    r.content_type = "text/plain";
    r.body = text + " " + req.method;
    respond(std::move(r));
  };
}

std::string header(const http_response& r, const std::string& name) {
  for (const auto& [key, value] : r.headers)
    if (key == name)
      return value;
  return {};
}

} // namespace

TEST_CASE("a request reaches the handler of its method and path") {
  http_router routes;
  routes.get("/a", says("get-a"))
    .post("/a", says("post-a"))
    .add("PUT", "/b", says("put-b"));
  CHECK(routes.has("/a"));
  CHECK_FALSE(routes.has("/c"));
  auto handler = std::move(routes).handler();
  CHECK(answer(handler, "GET", "/a").body == "get-a GET");
  CHECK(answer(handler, "POST", "/a").body == "post-a POST");
  CHECK(answer(handler, "PUT", "/b").body == "put-b PUT");
  // HEAD is served by GET's handler (the server drops the body).
  CHECK(answer(handler, "HEAD", "/a").body == "get-a HEAD");
}

TEST_CASE("an unknown path is 404 naming it; a known path with another "
          "method is 405 with Allow") {
  http_router routes;
  routes.get("/a", says("a")).post("/a", says("a")).post("/p", says("p"));
  auto handler = std::move(routes).handler();
  auto missing = answer(handler, "GET", "/nothing/here");
  CHECK(missing.status == 404);
  CHECK(missing.content_type == "application/json");
  CHECK(missing.body == R"({"error":"no endpoint /nothing/here"})");
  auto wrong = answer(handler, "DELETE", "/a");
  CHECK(wrong.status == 405);
  CHECK(header(wrong, "Allow") == "GET, POST");
  CHECK(wrong.body == R"({"error":"use GET, POST"})");
  // HEAD counts as GET: a POST-only path refuses it.
  auto head = answer(handler, "HEAD", "/p");
  CHECK(head.status == 405);
  CHECK(header(head, "Allow") == "POST");
}

TEST_CASE("a prefix route takes the paths under it that have no exact "
          "route; the longest prefix wins") {
  http_router routes;
  routes.get("/v2/apps", says("list"))
    .add_prefix("GET", "/v2/", says("v2"))
    .add_prefix("GET", "/v2/apps/", says("app"))
    .add_prefix("PUT", "/v2/apps/", says("app"))
    .add_prefix("GET", "/v2/b/", says("b"));
  auto handler = std::move(routes).handler();
  CHECK(answer(handler, "GET", "/v2/apps").body == "list GET");
  CHECK(answer(handler, "GET", "/v2/apps/web/tasks").body == "app GET");
  CHECK(answer(handler, "PUT", "/v2/apps/web").body == "app PUT");
  // "/v2/b/" sorts between the two matching prefixes and is skipped.
  CHECK(answer(handler, "GET", "/v2/c").body == "v2 GET");
  CHECK(answer(handler, "GET", "/v2").status == 404);
  auto wrong = answer(handler, "DELETE", "/v2/apps/web");
  CHECK(wrong.status == 405);
  CHECK(header(wrong, "Allow") == "GET, PUT");
}

TEST_CASE("path_segments splits a prefix route's tail, dropping trailing "
          "empty segments only") {
  using v = std::vector<std::string>;
  CHECK(path_segments("") == v{});
  CHECK(path_segments("deploy") == v{"deploy"});
  CHECK(path_segments("deploy/start/") == v{"deploy", "start"});
  CHECK(path_segments("a//b") == v{"a", "", "b"});
}
