// dcos::http_client over TLS against a real HTTPS server (Python's, with a
// certificate openssl makes): unverified calls as health checks make them,
// verified calls against the trusted authorities and the host's name, and
// the errors that name what failed.
#include <stdlib.h>

#include <cstdlib>
#include <future>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/http_server.hpp"
#include "support/https_server.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// A site with one page, served over TLS with a certificate for localhost.
struct site {
  scratch_dir dir;
  scratch_dir root;
  certificate tls = make_certificate(dir, "localhost");
  https_server server{dir, root.path, tls};

  site() { write_file(root / "page.txt", "over TLS"); }

  http_call call(std::string host = "127.0.0.1") const {
    http_call c;
    c.host = std::move(host);
    c.port = server.port;
    c.target = "/page.txt";
    c.tls = true;
    return c;
  }
};

// Sets SSL_CERT_FILE for the scope: OpenSSL's default authorities become
// `path` for the TLS contexts made meanwhile.
struct trusted_authority {
  explicit trusted_authority(const std::string& path) {
    if (const char* before = std::getenv("SSL_CERT_FILE"))
      previous = before;
    ::setenv("SSL_CERT_FILE", path.c_str(), 1);
  }
  ~trusted_authority() {
    if (previous)
      ::setenv("SSL_CERT_FILE", previous->c_str(), 1);
    else
      ::unsetenv("SSL_CERT_FILE");
  }
  std::optional<std::string> previous;
};

} // namespace

TEST_CASE("an unverified https call gets the page, as a health check asks") {
  site s;
  auto c = s.call();
  c.verify_peer = false;
  auto reply = http_fetch(c);
  REQUIRE_MESSAGE(reply, why(reply));
  CHECK(reply->status == 200);
  CHECK(reply->body == "over TLS");

  // A body without a length ends with the connection, even when the
  // server closes it without TLS' close_notify.
  c.target = "/until-close";
  reply = http_fetch(c);
  REQUIRE_MESSAGE(reply, why(reply));
  CHECK(reply->body == "until the close");

  // A missing page is a reply like any other.
  c.target = "/missing";
  reply = http_fetch(c);
  REQUIRE_MESSAGE(reply, why(reply));
  CHECK(reply->status == 404);
}

TEST_CASE("a verified https call fails on an authority it does not trust, "
          "naming the call and the reason") {
  site s;
  auto reply = http_fetch(s.call());
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == errc::unavailable);
  CHECK(describe_reason(reply.error())
        == fmt::format("GET https://127.0.0.1:{}/page.txt: TLS handshake: "
                       "certificate verify failed",
                       s.server.port));
}

TEST_CASE("a verified https call succeeds for a trusted certificate that "
          "names the host, by address or by name, and fails for one that "
          "names another host") {
  site s;
  trusted_authority trust{s.tls.cert};
  for (auto host : {"127.0.0.1", "localhost"}) {
    CAPTURE(host);
    auto reply = http_fetch(s.call(host));
    REQUIRE_MESSAGE(reply, why(reply));
    CHECK(reply->body == "over TLS");
  }

  scratch_dir dir;
  auto other = make_certificate(dir, "elsewhere.test");
  https_server impostor{dir, s.root.path, other};
  trusted_authority trust_other{other.cert};
  auto c = s.call("localhost");
  c.port = impostor.port;
  auto reply = http_fetch(c);
  REQUIRE_FALSE(reply);
  CHECK(describe_reason(reply.error()).ends_with("certificate verify failed"));
}

TEST_CASE("http_client speaks TLS without blocking, for fetch and stream") {
  site s;
  http_client client;
  auto c = s.call();
  c.verify_peer = false;
  std::promise<caf::expected<http_reply>> fetched;
  client.fetch(c, [&](caf::expected<http_reply> r) {
    fetched.set_value(std::move(r));
  });
  auto reply = fetched.get_future().get();
  REQUIRE_MESSAGE(reply, why(reply));
  CHECK(reply->body == "over TLS");

  std::string body;
  unsigned status = 0;
  std::promise<caf::error> ended;
  client.stream(c, http_stream_reader{
                     [&](const http_reply& head) { status = head.status; },
                     [&](std::string_view data) {
                       body.append(data);
                       return true;
                     },
                     [&](const caf::error& err) { ended.set_value(err); }});
  auto err = ended.get_future().get();
  CHECK_MESSAGE(!err, describe(err));
  CHECK(status == 200);
  CHECK(body == "over TLS");
}

TEST_CASE("https to a server that speaks plain HTTP fails the handshake") {
  auto server = http_server::start(
    "127.0.0.1", 0, [](http_request, http_responder respond) {
      respond({.status = 200, .content_type = "text/plain", .body = "plain"});
    });
  REQUIRE_MESSAGE(server, why(server));
  http_call c;
  c.host = "127.0.0.1";
  c.port = (*server)->port();
  c.tls = true;
  c.verify_peer = false;
  c.timeout = std::chrono::seconds(5);
  auto reply = http_fetch(c);
  REQUIRE_FALSE(reply);
  CHECK_MESSAGE(describe_reason(reply.error()).find(": TLS handshake: ")
                  != std::string::npos,
                describe(reply.error()));
}
