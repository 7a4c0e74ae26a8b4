// An HTTP/1.1 server for the operator and scheduler APIs.
//
// Each request is handed to one handler together with a responder. The
// handler does not answer by returning: it passes the responder on (usually
// into an actor request) and whoever holds it answers later, from any thread.
// This keeps the I/O threads free while actors work.
//
// Guarantees:
//  - keep-alive; pipelined requests are answered in order, because a
//    connection reads its next request only after answering the current one;
//  - a request body over 16 MiB gets 413, a malformed request gets 400, both
//    with a JSON body {"error":"..."}, and the connection is closed;
//  - a handler that throws gets 500; a responder that is destroyed without
//    being called answers 500, so a client never waits for a lost request;
//  - a connection idle for 60 s (reading a request or writing a response) is
//    closed; the time a handler takes is not limited;
//  - every response carries Content-Length (except 204 and 304, which have
//    no body, and streamed ones, which are chunked) and "Server: libdcos";
//  - a streamed response (http_response::stream) is not subject to the idle
//    timeout; it ends when its owner closes it or its client goes away;
//  - a request whose Content-Type is application/recordio (a stream of
//    records, such as Mesos' ATTACH_CONTAINER_INPUT) is a streamed request:
//    its handler runs once the header is in, and reads the body as it
//    arrives through http_request::body_stream, without a size limit and
//    without the idle timeout. Its connection serves no further request.
//
// Thread-safety: start(), port() and stop() may be called from any thread
// but the I/O threads (stop() joins them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace dcos {

class http_body_stream;

struct http_request {
  std::string method; // "GET", "POST", ...
  std::string target; // path plus query, as sent
  std::string path;   // target without the query, percent-decoded
  // Decoded query parameters ('+' is a space); a repeated key keeps its last
  // value.
  std::map<std::string, std::string> query;
  // Lower-case names; a repeated header's values are joined by ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  /// Set, and `body` empty, for a streamed request (see above).
  std::shared_ptr<http_body_stream> body_stream;

  /// The value of header `name` (any case), or "" if absent.
  std::string header(std::string_view name) const;
  /// True if the Content-Type's media type (parameters such as "charset"
  /// ignored, any case) is `type`, e.g. "application/json".
  bool content_type_is(std::string_view type) const;
  /// True if the Accept header admits `type`: no Accept header, or one of
  /// its comma-separated entries is `type`, "*/*" or "<main type>/*" with a
  /// q-value above 0 (RFC 9110, section 12.5.1).
  bool accepts(std::string_view type) const;
};

class http_stream;

/// What a streamed response's owner gets once the response's header is out.
using http_stream_handler = std::function<void(std::shared_ptr<http_stream>)>;

struct http_response {
  unsigned status = 200;                         // 200..599, else 500 is sent
  std::string content_type = "application/json"; // empty: no Content-Type
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // extra headers
  /// Set to stream the body (an event stream): the response goes out with
  /// chunked transfer encoding, `body` (if any) as its first chunk, and
  /// `stream` is then called once, on an I/O thread, with the handle that
  /// writes the rest. The connection serves nothing else afterwards.
  /// If the response cannot go out (its client has left, or the server
  /// stopped), `stream` is still called exactly once, with a handle that is
  /// closed already, on whichever thread drops the response; so an owner
  /// always learns the end of its stream through it.
  http_stream_handler stream;
};

/// The open end of a streamed response. Writes never block: they queue, and
/// an I/O thread sends them in order. A stream whose client reads too slowly
/// is cut off once `max_queued_bytes` are waiting, so that the writer's
/// memory stays bounded and the writer learns it (write() answers false).
///
/// Thread-safety: every member may be called from any thread.
class http_stream {
public:
  virtual ~http_stream() = default;

  /// Queues `chunk` (empty chunks are skipped). Answers false, and drops the
  /// chunk, if the stream is closed: by close(), by the client, by the
  /// server stopping, or because the queue would exceed max_queued_bytes.
  virtual bool write(std::string chunk) = 0;

  /// Ends the response once the queued chunks are out, and closes the
  /// connection. Idempotent.
  virtual void close() = 0;

  /// False once the stream is closed (for any reason).
  virtual bool is_open() const = 0;

  /// Bytes queued and not yet written to the socket.
  virtual size_t queued_bytes() const = 0;

  /// Calls `f` once the stream is closed, for any reason: on an I/O thread,
  /// or in http_server::stop(), or at once on the calling thread if it is
  /// closed already. Replaces an earlier callback.
  virtual void on_close(std::function<void()> f) = 0;

  static constexpr size_t max_queued_bytes = 8 * 1024 * 1024;
};

/// The body of a streamed request, read piece by piece as the client sends
/// it. Reading is the handler's pace: nothing is read from the socket until
/// it asks, so a handler that cannot take more slows its client down.
///
/// Thread-safety: read() may be called from any thread, one read at a time.
class http_body_stream {
public:
  virtual ~http_body_stream() = default;

  /// What read() hands over: the next bytes of the body (never empty), or
  /// an empty string once the body has ended, or an error if it cannot be
  /// read further (the client left or sent a malformed body, or the request
  /// has been answered).
  using reader = std::function<void(caf::expected<std::string>)>;

  /// Calls `f` once, on an I/O thread (or at once on the calling thread if
  /// the answer is known), with what comes next. Should the server stop
  /// first, `f` is dropped without being called.
  /// REQUIRES: no earlier read() is still waiting for its answer.
  virtual void read(reader f) = 0;
};

/// Answers one request. The first call wins; later calls are ignored. Safe to
/// call from any thread, and harmless after the connection or the server has
/// gone away.
using http_responder = std::function<void(http_response)>;

/// Called once per request on an I/O thread; concurrently with itself when
/// the server has more than one thread. It must not block, and must arrange
/// for `respond` to be called exactly once, now or later.
using http_handler = std::function<void(http_request, http_responder)>;

/// Builds a response with body {"error":"<message>"}.
http_response json_error(unsigned status, std::string_view message);

/// The HTTP answer for a failed request: 400 for invalid_argument and
/// parse_error, 404 not_found, 409 conflict, 503 unavailable or a timeout,
/// 500 otherwise; the body is {"error": "<describe(err)>"}.
http_response error_response(const caf::error& err);

class http_server {
public:
  /// Binds `ip`:`port` (port 0 picks a free port) and serves with `threads`
  /// I/O threads. Fails if `ip` is not an IP address, `threads` is 0 or the
  /// address cannot be bound.
  static caf::expected<std::unique_ptr<http_server>>
  start(const std::string& ip, uint16_t port, http_handler handler,
        size_t threads = 1);

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Calls stop().
  ~http_server();

  /// The bound port.
  uint16_t port() const noexcept;

  /// Closes the listening socket and every connection, and joins the I/O
  /// threads: afterwards no handler runs and responders do nothing. Requests
  /// not yet answered are dropped. Idempotent.
  /// REQUIRES: not called from a handler.
  void stop();

private:
  struct impl;

  explicit http_server(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
};

} // namespace dcos
