// Streamed responses (event streams): chunked, in order, never blocking the
// writer, closed by either end, and cut off when the client falls too far
// behind; and the client that reads them as they come. Streamed requests
// (application/recordio): a body read piece by piece as it arrives, and the
// client (http_upload) that sends one.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "dcos/http_client.hpp"
#include "dcos/http_server.hpp"
#include "dcos/http_upload.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A server whose /events answers with a stream; the test gets its handle.
struct fixture {
  std::promise<std::shared_ptr<dcos::http_stream>> opened;
  std::atomic<int> closes{0};
  std::unique_ptr<dcos::http_server> server;

  fixture() {
    auto started = dcos::http_server::start(
      "127.0.0.1", 0,
      [this](dcos::http_request req, dcos::http_responder respond) {
        if (req.path != "/events")
          return respond(dcos::json_error(404, "no"));
        dcos::http_response r;
        r.content_type = "application/recordio";
        r.headers.emplace_back("Mesos-Stream-Id", "s-1");
        r.body = "first";
        r.stream = [this](std::shared_ptr<dcos::http_stream> s) {
          s->on_close([this] { ++closes; });
          opened.set_value(std::move(s));
        };
        respond(std::move(r));
      });
    DCOS_REQUIRE_OK(started);
    server = std::move(*started);
  }

  // Connects and sends GET /events.
  tcp::socket subscribe(asio::io_context& ioc) {
    tcp::socket socket{ioc};
    socket.connect({asio::ip::make_address("127.0.0.1"), server->port()});
    std::string req = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(socket, asio::buffer(req));
    return socket;
  }

  std::shared_ptr<dcos::http_stream> handle() {
    auto f = opened.get_future();
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
  }
};

// Reads until `text` has arrived (or the peer closed); returns all read.
std::string read_until(tcp::socket& socket, asio::streambuf& buf,
                       const std::string& text) {
  boost::system::error_code ec;
  asio::read_until(socket, buf, text, ec);
  return {asio::buffers_begin(buf.data()), asio::buffers_end(buf.data())};
}

bool eventually(const std::function<bool()>& f) {
  for (int i = 0; i < 500; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

TEST_CASE_FIXTURE(fixture, "a stream is chunked, in order, and ends when "
                           "closed") {
  asio::io_context ioc;
  auto socket = subscribe(ioc);
  auto s = handle();
  CHECK(s->is_open());
  CHECK(s->write("second"));
  CHECK(s->write("")); // nothing to send, still open
  CHECK(s->write("third!"));
  s->close();
  asio::streambuf buf;
  auto text = read_until(socket, buf, "0\r\n\r\n");
  CHECK(text.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(text.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(text.find("Content-Type: application/recordio\r\n")
        != std::string::npos);
  CHECK(text.find("Mesos-Stream-Id: s-1\r\n") != std::string::npos);
  CHECK(text.find("Content-Length") == std::string::npos);
  auto body = text.substr(text.find("\r\n\r\n") + 4);
  CHECK(body == "5\r\nfirst\r\n6\r\nsecond\r\n6\r\nthird!\r\n0\r\n\r\n");
  CHECK(eventually([&] { return closes == 1; }));
  CHECK_FALSE(s->is_open());
  CHECK_FALSE(s->write("late"));
}

TEST_CASE_FIXTURE(fixture, "a client that leaves closes the stream") {
  auto s = [&] {
    asio::io_context ioc;
    auto socket = subscribe(ioc);
    auto handle = this->handle();
    CHECK(handle->write("x"));
    return handle; // the socket closes here
  }();
  CHECK(eventually([&] { return !s->is_open(); }));
  CHECK(closes == 1);
  CHECK_FALSE(s->write("nobody reads this"));
  // on_close after the fact runs at once.
  bool ran = false;
  s->on_close([&] { ran = true; });
  CHECK(ran);
}

TEST_CASE_FIXTURE(fixture, "a client that falls too far behind is cut off, "
                           "and the writer never blocks") {
  asio::io_context ioc;
  auto socket = subscribe(ioc); // and never read
  auto s = handle();
  std::string mib(1024 * 1024, 'x');
  int accepted = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64 && s->write(mib); ++i)
    ++accepted;
  auto took = std::chrono::steady_clock::now() - start;
  // The socket buffers take a few MiB; the queue at most 8 more, less
  // the "first" chunk if the server has not sent it yet (on a busy machine
  // it may not have: then 7 whole MiB fit).
  CHECK(accepted < 64);
  CHECK(accepted >= 7);
  CHECK(took < 5s); // writes queue; they do not wait for the client
  CHECK_FALSE(s->is_open());
  CHECK(eventually([&] { return closes == 1; }));
}

TEST_CASE_FIXTURE(fixture, "stopping the server closes its streams") {
  asio::io_context ioc;
  auto socket = subscribe(ioc);
  auto s = handle();
  server->stop();
  CHECK(closes == 1);
  CHECK_FALSE(s->is_open());
  CHECK_FALSE(s->write("after stop"));
}

// http_client::stream(), the reading end (Marathon's standbys forward the
// leader's event stream with it).
namespace {

struct stream_read {
  std::mutex mtx;
  unsigned status = 0;
  std::string header;
  std::string body;
  std::promise<caf::error> ended;

  dcos::http_stream_reader reader(size_t stop_after = SIZE_MAX) {
    dcos::http_stream_reader r;
    r.head = [this](const dcos::http_reply& head) {
      std::lock_guard guard{mtx};
      status = head.status;
      header = head.header("Mesos-Stream-Id");
    };
    r.data = [this, stop_after](std::string_view data) {
      std::lock_guard guard{mtx};
      body.append(data);
      return body.size() < stop_after;
    };
    r.end = [this](const caf::error& err) { ended.set_value(err); };
    return r;
  }

  std::string got() {
    std::lock_guard guard{mtx};
    return body;
  }
};

dcos::http_call events_call(uint16_t port) {
  dcos::http_call call;
  call.host = "127.0.0.1";
  call.port = port;
  call.target = "/events";
  call.timeout = 10s;
  return call;
}

} // namespace

TEST_CASE_FIXTURE(fixture, "a streamed reply is read piece by piece as it "
                           "comes, past the call's time-out, until it ends") {
  dcos::http_client client;
  stream_read read;
  auto call = events_call(server->port());
  call.timeout = 300ms; // the head's: the stream outlives it
  client.stream(call, read.reader());
  auto s = handle();
  CHECK(eventually([&] { return read.got() == "first"; }));
  std::this_thread::sleep_for(500ms);
  CHECK(s->write("second"));
  CHECK(eventually([&] { return read.got() == "firstsecond"; }));
  CHECK(read.status == 200);
  CHECK(read.header == "s-1");
  s->close();
  auto ended = read.ended.get_future();
  REQUIRE(ended.wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(ended.get());
}

TEST_CASE_FIXTURE(fixture, "a reader that stops closes the connection") {
  dcos::http_client client;
  stream_read read;
  client.stream(events_call(server->port()), read.reader(5));
  auto s = handle();
  auto ended = read.ended.get_future();
  REQUIRE(ended.wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(ended.get());
  CHECK(read.got() == "first");
  // The server sees the client gone at its next write.
  CHECK(eventually([&] {
    s->write("ping");
    return !s->is_open();
  }));
}

TEST_CASE("a stream that cannot connect ends with the reason, without a "
          "head") {
  dcos::http_client client;
  stream_read read;
  asio::io_context ioc;
  tcp::acceptor unused{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  auto port = unused.local_endpoint().port();
  unused.close();
  client.stream(events_call(port), read.reader());
  auto ended = read.ended.get_future();
  REQUIRE(ended.wait_for(10s) == std::future_status::ready);
  auto err = ended.get();
  CHECK(err);
  CHECK(read.status == 0);
}

namespace {

// A server whose handler reads streamed bodies piece by piece: /input
// answers the whole body once it has ended; /refuse answers 400 after the
// first piece, while the client still sends; /early answers at once, while
// its read of the body waits.
struct input_fixture {
  std::mutex mutex;
  std::string seen; // what /input has read so far
  std::promise<bool> early_read_failed;
  std::unique_ptr<dcos::http_server> server;

  struct reading {
    std::shared_ptr<dcos::http_body_stream> body;
    dcos::http_responder respond;
    std::string got;
  };

  input_fixture() {
    auto started = dcos::http_server::start(
      "127.0.0.1", 0,
      [this](dcos::http_request req, dcos::http_responder respond) {
        if (!req.body_stream)
          return respond(dcos::http_response{.body = "whole:" + req.body});
        CHECK(req.body.empty());
        if (req.path == "/early") {
          req.body_stream->read([this](caf::expected<std::string> piece) {
            early_read_failed.set_value(!piece);
          });
          return respond(dcos::http_response{.body = "early"});
        }
        auto r = std::make_shared<reading>();
        r->body = req.body_stream;
        r->respond = std::move(respond);
        read_on(r, req.path == "/refuse");
      });
    DCOS_REQUIRE_OK(started);
    server = std::move(*started);
  }

  void read_on(std::shared_ptr<reading> r, bool refuse) {
    r->body->read([this, r, refuse](caf::expected<std::string> piece) {
      if (!piece)
        return r->respond(dcos::json_error(400, "broken body"));
      if (refuse)
        return r->respond(dcos::json_error(400, "refused: " + *piece));
      if (piece->empty())
        return r->respond(dcos::http_response{.body = r->got});
      {
        std::lock_guard guard{mutex};
        seen += *piece;
      }
      r->got += *piece;
      read_on(r, refuse);
    });
  }

  bool has_seen(const std::string& what) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard guard{mutex};
        if (seen == what)
          return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  dcos::http_call call(const std::string& path, std::string body) {
    dcos::http_call c;
    c.method = "POST";
    c.host = "127.0.0.1";
    c.port = server->port();
    c.target = path;
    c.content_type = "application/recordio";
    c.body = std::move(body);
    return c;
  }
};

} // namespace

TEST_CASE_FIXTURE(input_fixture, "a streamed request's body reaches its "
                                 "handler piece by piece as it is sent") {
  auto up = dcos::http_upload::open(call("/input", "one"));
  DCOS_REQUIRE_OK(up);
  CHECK(has_seen("one")); // before the body has ended
  CHECK(!(*up)->write("two"));
  CHECK(has_seen("onetwo"));
  auto reply = (*up)->finish(10s);
  DCOS_REQUIRE_OK(reply);
  CHECK(reply->status == 200);
  CHECK(reply->body == "onetwo");
  // A recordio body with a Content-Length streams too; any other is whole.
  auto sized = dcos::http_fetch(call("/input", "abc"));
  DCOS_REQUIRE_OK(sized);
  CHECK(sized->body == "abc");
  auto json = call("/input", "{}");
  json.content_type = "application/json";
  auto whole = dcos::http_fetch(json);
  DCOS_REQUIRE_OK(whole);
  CHECK(whole->body == "whole:{}");
}

TEST_CASE_FIXTURE(input_fixture, "a handler may answer a streamed request "
                                 "before its body ends") {
  auto up = dcos::http_upload::open(call("/refuse", "first"));
  DCOS_REQUIRE_OK(up);
  // The client goes on sending; the answer waits for it all the same.
  for (int i = 0; i < 5; ++i)
    (void) (*up)->write("more");
  auto reply = (*up)->finish(10s);
  DCOS_REQUIRE_OK(reply);
  CHECK(reply->status == 400);
  CHECK(reply->body.find("refused: first") != std::string::npos);
  // The server serves on.
  auto next = dcos::http_fetch(call("/input", "x"));
  DCOS_REQUIRE_OK(next);
  CHECK(next->body == "x");
}

TEST_CASE_FIXTURE(input_fixture, "an answer cuts short the body read that "
                                 "waits for a silent client") {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  socket.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  std::string head = "POST /early HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/recordio\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  asio::write(socket, asio::buffer(head));
  // The answer comes, and the server ends the connection, though the
  // client never ends its body.
  std::string answer;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(answer), ec);
  CHECK(ec == asio::error::eof);
  CHECK(answer.find("200 OK") != std::string::npos);
  CHECK(answer.find("early") != std::string::npos);
  auto failed = early_read_failed.get_future();
  REQUIRE(failed.wait_for(10s) == std::future_status::ready);
  CHECK(failed.get()); // the reader learnt that the body is not read
}

TEST_CASE("an upload to nowhere fails with the reason") {
  dcos::http_call c;
  c.method = "POST";
  c.host = "127.0.0.1";
  c.port = 1; // nothing listens
  auto up = dcos::http_upload::open(c);
  REQUIRE_FALSE(up);
  CHECK(dcos::describe(up.error()).find("POST 127.0.0.1:1/") != std::string::npos);
}
