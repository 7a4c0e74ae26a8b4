#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/http_server.hpp"
#include "dcos/subprocess.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

dcos::http_response text(std::string body) {
  return {.status = 200, .content_type = "text/plain", .body = std::move(body)};
}

struct fixture {
  std::mutex mutex;
  std::vector<std::thread> helpers; // answer "later", from outside the server
  std::vector<dcos::http_responder> kept; // never answered while the test runs
  std::unique_ptr<dcos::http_server> server;

  fixture() {
    auto started = dcos::http_server::start(
      "127.0.0.1", 0, [this](dcos::http_request req, dcos::http_responder respond) {
        route(std::move(req), std::move(respond));
      });
    DCOS_REQUIRE_OK(started);
    server = std::move(*started);
  }

  ~fixture() {
    server.reset();
    for (auto& helper : helpers)
      helper.join();
  }

  void route(dcos::http_request req, dcos::http_responder respond) {
    if (req.path == "/hello")
      return respond({.body = R"({"hello":"world"})"});
    if (req.path == "/echo")
      return respond(text(req.method + " " + req.header("X-Tag") + " " + req.body));
    if (req.path == "/later") {
      std::lock_guard guard{mutex};
      helpers.emplace_back([respond] {
        std::this_thread::sleep_for(50ms);
        respond(text("later"));
      });
      return;
    }
    if (req.path == "/keep") {
      std::lock_guard guard{mutex};
      kept.push_back(respond);
      return;
    }
    if (req.path == "/moved")
      return respond({.status = 302, .content_type = "",
                      .headers = {{"Location", "/hello"}, {"X-Two", "a"},
                                  {"X-Two", "b"}}});
    if (req.path == "/throw")
      throw std::runtime_error("boom");
    if (req.path == "/drop")
      return;
    if (req.path.starts_with("/query")) {
      std::string out = req.path;
      for (const auto& [key, value] : req.query)
        out += "|" + key + "=" + value;
      return respond(text(out));
    }
    respond(dcos::json_error(404, "no route to " + req.path));
  }

  size_t kept_count() {
    std::lock_guard guard{mutex};
    return kept.size();
  }

  dcos::http_call call(std::string target, std::string method = "GET") {
    dcos::http_call c;
    c.method = std::move(method);
    c.host = "127.0.0.1";
    c.port = server->port();
    c.target = std::move(target);
    return c;
  }

  dcos::http_reply fetch(const dcos::http_call& c) {
    auto reply = dcos::http_fetch(c);
    DCOS_REQUIRE_OK(reply);
    return *reply;
  }
};

tcp::socket connect_raw(asio::io_context& ioc, uint16_t port) {
  tcp::socket socket{ioc};
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  return socket;
}

// A port with a listening socket that never accepts: connections succeed,
// requests are never answered.
struct silent_listener {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  uint16_t port() const { return acceptor.local_endpoint().port(); }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "GET answers with the handler's response") {
  auto reply = fetch(call("/hello"));
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "application/json");
  CHECK(reply.body == R"({"hello":"world"})");
}

TEST_CASE_FIXTURE(fixture, "the reply carries the response headers") {
  auto reply = fetch(call("/moved"));
  CHECK(reply.status == 302);
  CHECK(reply.header("location") == "/hello");
  CHECK(reply.header("LOCATION") == "/hello");
  CHECK(reply.header("x-two") == "a, b");
  CHECK(reply.header("server") == "libdcos");
  CHECK(reply.header("x-absent") == "");
}

TEST_CASE_FIXTURE(fixture, "POST delivers body and headers") {
  auto c = call("/echo", "POST");
  c.body = "payload";
  c.content_type = "text/plain";
  c.headers = {{"X-Tag", "t1"}};
  auto reply = fetch(c);
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/plain");
  CHECK(reply.body == "POST t1 payload");
}

TEST_CASE_FIXTURE(fixture, "path and query are percent-decoded") {
  auto reply = fetch(call("/query%20x?a=1&b=hello+world&c=%26%3D&&d"));
  CHECK(reply.body == "/query x|a=1|b=hello world|c=&=|d=");
}

TEST_CASE_FIXTURE(fixture, "bad percent-encoding is a 400") {
  auto reply = fetch(call("/query?a=%zz"));
  CHECK(reply.status == 400);
  CHECK(reply.body == R"({"error":"malformed percent-encoding in '/query?a=%zz'"})");
}

TEST_CASE_FIXTURE(fixture, "a 404 comes from the handler") {
  auto reply = fetch(call("/nowhere"));
  CHECK(reply.status == 404);
  CHECK(reply.content_type == "application/json");
  CHECK(reply.body == R"({"error":"no route to /nowhere"})");
}

TEST_CASE_FIXTURE(fixture, "a responder may answer later from another thread") {
  auto reply = fetch(call("/later"));
  CHECK(reply.status == 200);
  CHECK(reply.body == "later");
}

TEST_CASE_FIXTURE(fixture, "a throwing handler yields 500") {
  auto reply = fetch(call("/throw"));
  CHECK(reply.status == 500);
  CHECK(reply.body == R"({"error":"internal error: boom"})");
}

TEST_CASE_FIXTURE(fixture, "a dropped responder yields 500") {
  auto reply = fetch(call("/drop"));
  CHECK(reply.status == 500);
  CHECK(reply.body == R"({"error":"the handler dropped the request"})");
}

TEST_CASE_FIXTURE(fixture, "keep-alive: pipelined requests on one connection, in order") {
  asio::io_context ioc;
  auto socket = connect_raw(ioc, server->port());
  asio::write(socket, asio::buffer(std::string{
                        "GET /later HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"}));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> first;
  http::read(socket, buffer, first);
  CHECK(first.body() == "later");
  CHECK(first.keep_alive());
  CHECK(first[http::field::server] == "libdcos");
  CHECK(first[http::field::content_length] == "5");
  http::response<http::string_body> second;
  http::read(socket, buffer, second);
  CHECK(second.body() == R"({"hello":"world"})");
}

TEST_CASE_FIXTURE(fixture, "HEAD gets the headers only") {
  auto reply = fetch(call("/hello", "HEAD"));
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "application/json");
  CHECK(reply.body.empty());
}

TEST_CASE("several I/O threads serve concurrent clients") {
  auto started = dcos::http_server::start(
    "127.0.0.1", 0,
    [](dcos::http_request req, dcos::http_responder respond) {
      respond(text(req.query["n"]));
    },
    2);
  REQUIRE(started);
  auto& server = **started;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto n = std::to_string(t * 100 + i);
        dcos::http_call c;
        c.host = "127.0.0.1";
        c.port = server.port();
        c.target = "/?n=" + n;
        auto reply = dcos::http_fetch(c);
        if (reply && reply->body == n)
          ++good;
      }
    });
  for (auto& client : clients)
    client.join();
  CHECK(good == 100);
}

TEST_CASE_FIXTURE(fixture, "a body over 16 MiB is a 413") {
  auto c = call("/echo", "POST");
  c.body.assign(16 * 1024 * 1024 + 1, 'x');
  auto reply = fetch(c);
  CHECK(reply.status == 413);
  CHECK(reply.body == R"({"error":"request body exceeds 16 MiB"})");
}

TEST_CASE_FIXTURE(fixture, "a malformed request is a 400 and closes the connection") {
  asio::io_context ioc;
  auto socket = connect_raw(ioc, server->port());
  asio::write(socket, asio::buffer(std::string{"NOT HTTP\r\n\r\n"}));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  CHECK(res.result_int() == 400);
  CHECK(res.body().starts_with(R"({"error":"malformed request: )"));
  boost::system::error_code ec;
  char byte;
  asio::read(socket, asio::buffer(&byte, 1), ec);
  CHECK(ec == asio::error::eof);
}

TEST_CASE_FIXTURE(fixture, "stop() with open connections returns promptly") {
  asio::io_context ioc;
  std::vector<tcp::socket> sockets;
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    // Answered, so accepted and now idle.
    sockets.push_back(connect_raw(ioc, server->port()));
    asio::write(sockets.back(),
                asio::buffer(std::string{"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"}));
    http::response<http::string_body> res;
    http::read(sockets.back(), buffer, res);
  }
  // And one waiting for a handler that never answers.
  sockets.push_back(connect_raw(ioc, server->port()));
  asio::write(sockets.back(),
              asio::buffer(std::string{"GET /keep HTTP/1.1\r\nHost: t\r\n\r\n"}));
  while (kept_count() == 0)
    std::this_thread::sleep_for(1ms);
  auto begin = std::chrono::steady_clock::now();
  server->stop();
  CHECK(std::chrono::steady_clock::now() - begin < 1s);
  for (auto& socket : sockets) {
    boost::system::error_code ec;
    char byte;
    asio::read(socket, asio::buffer(&byte, 1), ec);
    CHECK(ec == asio::error::eof);
  }
}

TEST_CASE_FIXTURE(fixture, "a responder called after stop() does nothing") {
  asio::io_context ioc;
  auto socket = connect_raw(ioc, server->port());
  asio::write(socket,
              asio::buffer(std::string{"GET /keep HTTP/1.1\r\nHost: t\r\n\r\n"}));
  while (kept_count() == 0)
    std::this_thread::sleep_for(1ms);
  server->stop();
  {
    std::lock_guard guard{mutex};
    REQUIRE(kept.size() == 1);
    kept.front()(text("too late"));
    server.reset();
    kept.front()(text("later still")); // the server is gone: still safe
  }
  // The client sees its connection closed with no response at all.
  std::string received;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(received), ec);
  CHECK(ec == asio::error::eof);
  CHECK(received.empty());
}

TEST_CASE_FIXTURE(fixture, "http_client calls back on its thread") {
  dcos::http_client client;
  std::promise<caf::expected<dcos::http_reply>> promise;
  auto caller = std::this_thread::get_id();
  std::thread::id callback_thread;
  client.fetch(call("/hello"), [&](caf::expected<dcos::http_reply> reply) {
    callback_thread = std::this_thread::get_id();
    promise.set_value(std::move(reply));
  });
  auto reply = promise.get_future().get();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->body == R"({"hello":"world"})");
  CHECK(callback_thread != caller);
}

TEST_CASE("http_client's destructor cancels outstanding calls") {
  silent_listener listener;
  std::optional<caf::expected<dcos::http_reply>> result;
  {
    dcos::http_client client;
    dcos::http_call c;
    c.host = "127.0.0.1";
    c.port = listener.port();
    client.fetch(c, [&](caf::expected<dcos::http_reply> reply) {
      result = std::move(reply);
    });
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(dcos::describe(result->error())
        == "unavailable: GET 127.0.0.1:" + std::to_string(listener.port())
             + "/: cancelled: the client shut down");
}

TEST_CASE("connection refused names the call") {
  uint16_t port;
  {
    silent_listener listener;
    port = listener.port();
  }
  dcos::http_call c;
  c.host = "127.0.0.1";
  c.port = port;
  c.target = "/health";
  auto reply = dcos::http_fetch(c);
  REQUIRE_FALSE(reply);
  CHECK(dcos::describe(reply.error())
        == "unavailable: GET 127.0.0.1:" + std::to_string(port)
             + "/health: connection refused");
}

TEST_CASE("a call without a reply times out") {
  silent_listener listener;
  dcos::http_call c;
  c.host = "localhost";
  c.port = listener.port();
  c.timeout = 200ms;
  auto begin = std::chrono::steady_clock::now();
  auto reply = dcos::http_fetch(c);
  CHECK(std::chrono::steady_clock::now() - begin < 2s);
  REQUIRE_FALSE(reply);
  CHECK(dcos::code_of(reply.error()) == dcos::errc::unavailable);
  CHECK(dcos::describe_reason(reply.error()).ends_with(": timed out after 200ms"));
}

TEST_CASE("an invalid call is rejected before connecting") {
  dcos::http_call c;
  c.host = "127.0.0.1";
  c.port = 1;
  c.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  auto reply = dcos::http_fetch(c);
  REQUIRE_FALSE(reply);
  CHECK(dcos::describe(reply.error())
        == "invalid_argument: GET 127.0.0.1:1/: invalid header 'X-Evil'");
}

TEST_CASE("parse_host_port") {
  using hp = std::pair<std::string, uint16_t>;
  CHECK(*dcos::parse_host_port("127.0.0.1:5050", 1) == hp{"127.0.0.1", 5050});
  CHECK(*dcos::parse_host_port("master.mesos", 5050) == hp{"master.mesos", 5050});
  CHECK(*dcos::parse_host_port("[::1]:5051", 1) == hp{"::1", 5051});
  CHECK(*dcos::parse_host_port("[::1]", 5050) == hp{"::1", 5050});
  CHECK(*dcos::parse_host_port("::1", 5050) == hp{"::1", 5050});
  CHECK(dcos::describe(dcos::parse_host_port("host:70000", 1).error())
        == "invalid_argument: 'host:70000': '70000' is not a port number");
  CHECK_FALSE(dcos::parse_host_port("host:", 1));
  CHECK_FALSE(dcos::parse_host_port("host:12x", 1));
  CHECK_FALSE(dcos::parse_host_port(":5050", 1));
  CHECK_FALSE(dcos::parse_host_port("", 1));
  CHECK_FALSE(dcos::parse_host_port("[::1", 1));
  CHECK_FALSE(dcos::parse_host_port("[::1]5050", 1));
}

TEST_CASE("json_error escapes the message") {
  auto response = dcos::json_error(409, "bad \"name\"\n");
  CHECK(response.status == 409);
  CHECK(response.content_type == "application/json");
  CHECK(response.body == R"({"error":"bad \"name\"\n"})");
}

TEST_CASE("start() rejects what it cannot serve") {
  auto handler = [](dcos::http_request, dcos::http_responder) {};
  CHECK(dcos::code_of(dcos::http_server::start("not-an-ip", 0, handler).error())
        == dcos::errc::invalid_argument);
  CHECK(dcos::code_of(dcos::http_server::start("127.0.0.1", 0, handler, 0).error())
        == dcos::errc::invalid_argument);
}

TEST_CASE_FIXTURE(fixture, "curl talks to the server") {
  auto url = "http://127.0.0.1:" + std::to_string(server->port());
  auto curl = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-sS", "-w", "\n%{http_code}\n"});
    auto child = dcos::subprocess::spawn({.argv = args, .capture_stdout = true});
    DCOS_REQUIRE_OK(child);
    std::vector<std::string> lines;
    for (int i = 0; i < 2; ++i) {
      auto line = child->read_line(10s);
      DCOS_REQUIRE_OK(line);
      lines.push_back(*line);
    }
    CHECK(child->wait() == 0);
    return lines;
  };
  CHECK(curl({url + "/hello"})
        == std::vector<std::string>{R"({"hello":"world"})", "200"});
  // Expect: 100-continue makes curl wait for the server's go-ahead.
  CHECK(curl({"-H", "Expect: 100-continue", "-H", "X-Tag: c",
              "--data-binary", "body", url + "/echo"})
        == std::vector<std::string>{"POST c body", "200"});
}
