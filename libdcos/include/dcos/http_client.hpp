// An HTTP/1.1 client, over TLS when a call asks for it (https): one
// connection per call, closed after the reply.
//
// Errors name the call and what failed, e.g.
//   unavailable: GET 127.0.0.1:5050/health: connection refused
//   unavailable: POST master:5050/api/v1: timed out after 10000ms
//   unavailable: GET https://10.0.0.5:443/: TLS handshake: certificate verify failed
// A reply with any status, 404 or 500 included, is a success: the status is
// the caller's to judge.
//
// Thread-safety: http_fetch() and parse_host_port() are safe from any thread;
// http_client::fetch() may be called from any thread, including its own
// callbacks.
#pragma once

#include <chrono>
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

struct http_reply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  // Lower-case names; a repeated header's values are joined by ", ". Kept so
  // that callers can follow redirects (Location) themselves.
  std::map<std::string, std::string> headers;

  /// The value of header `name` (any case), or "" if absent.
  std::string header(std::string_view name) const;
};

struct http_call {
  std::string method = "GET";
  std::string host;                 // name or IP address, no brackets
  uint16_t port = 0;
  std::string target = "/";         // path plus query
  std::string body;
  std::string content_type;         // empty: no Content-Type
  std::vector<std::pair<std::string, std::string>> headers; // extra headers
  std::chrono::milliseconds timeout{10000}; // for the whole call, DNS included
  // Speak TLS (https). The client names `host` to the server (SNI) unless
  // it is an IP address.
  bool tls = false;
  // With tls: the server's certificate must chain to a trusted authority
  // (the system's store, or OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR) and
  // name `host`, else the call fails before anything is sent. Health and
  // readiness checks turn this off, as Mesos (curl -k) and Marathon do:
  // they ask whether a task answers, not whom it is.
  bool verify_peer = true;
};

/// Performs `call` and waits for the reply. Replies over 256 MiB fail.
/// For command-line tools and tests only: never inside an actor.
caf::expected<http_reply> http_fetch(const http_call& call);

/// What http_client::stream() reports, in order, on the client's I/O
/// thread; none of them may block.
struct http_stream_reader {
  /// The reply's status and headers (its body empty), once they arrived.
  std::function<void(const http_reply& head)> head;
  /// Each piece of the body as it arrives. Answer false to stop reading:
  /// the connection is closed and `end` runs without an error.
  std::function<bool(std::string_view data)> data;
  /// Runs once, last: without an error when the body ended (or the reader
  /// stopped it), else with the reason (the call failed before the head, or
  /// the connection broke during the body).
  std::function<void(const caf::error& err)> end;
};

class http_client {
public:
  /// Starts the client's I/O thread.
  http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Calls back every outstanding call with an error, then joins the thread.
  /// REQUIRES: not called from a callback; no fetch() runs concurrently.
  ~http_client();

  /// Performs `call` as http_fetch() does, without blocking. `done` runs
  /// exactly once, on the client's I/O thread; it must not block. (Should
  /// the constructor have failed to start that thread, `done` gets the error
  /// at once, on the calling thread.)
  void fetch(http_call call, std::function<void(caf::expected<http_reply>)> done);

  /// Performs `call` and hands the reply's body over as it arrives, without
  /// a limit on its size or duration (an event stream, which may last as
  /// long as both ends do). `call.timeout` bounds the time until the head
  /// only. Every callback of `reader` must be set.
  void stream(http_call call, http_stream_reader reader);

private:
  struct impl;

  std::unique_ptr<impl> impl_;
};

/// Parses "host:port", "host", "[::1]:5050" or "[::1]" into host (without
/// brackets) and port; `default_port` applies when no port is given.
caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(std::string_view text, uint16_t default_port);

} // namespace dcos
