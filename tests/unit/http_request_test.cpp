// http_request's content negotiation: what a Content-Type names and what an
// Accept header admits, as the Mesos APIs decide between JSON and protobuf.
#include <string>

#include <doctest/doctest.h>

#include "dcos/http_server.hpp"

using namespace dcos;

namespace {

http_request with(std::string name, std::string value) {
  http_request req;
  req.headers[std::move(name)] = std::move(value);
  return req;
}

} // namespace

TEST_CASE("Content-Type is matched by media type, parameters and case "
          "aside") {
  CHECK(with("content-type", "application/json")
          .content_type_is("application/json"));
  CHECK(with("content-type", "Application/JSON; charset=utf-8")
          .content_type_is("application/json"));
  CHECK(with("content-type", " application/x-protobuf ")
          .content_type_is("application/x-protobuf"));
  CHECK_FALSE(with("content-type", "application/jsonx")
                .content_type_is("application/json"));
  CHECK_FALSE(with("content-type", "text/plain")
                .content_type_is("application/json"));
  CHECK_FALSE(http_request{}.content_type_is("application/json"));
}

TEST_CASE("Accept admits a type by name, by wildcard, unless its q is 0") {
  CHECK(http_request{}.accepts("application/json")); // no header: anything
  CHECK(with("accept", "application/json").accepts("application/json"));
  CHECK_FALSE(
    with("accept", "application/json").accepts("application/x-protobuf"));
  CHECK(with("accept", "*/*").accepts("application/x-protobuf"));
  CHECK(with("accept", "application/*").accepts("application/json"));
  CHECK_FALSE(with("accept", "text/*").accepts("application/json"));
  CHECK(with("accept", "text/html, Application/JSON;q=0.5")
          .accepts("application/json"));
  CHECK_FALSE(with("accept", "application/json;q=0")
                .accepts("application/json"));
  CHECK_FALSE(with("accept", "application/json; q=0.0, text/plain")
                .accepts("application/json"));
}
