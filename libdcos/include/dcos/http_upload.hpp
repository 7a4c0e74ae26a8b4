// A request whose body is sent piece by piece while it is produced, with
// chunked transfer encoding: a stream of records such as the input of
// `dcos task exec --interactive` (Mesos' ATTACH_CONTAINER_INPUT), which
// lasts as long as the user types. Plain HTTP/1.1 (no TLS), one connection
// per upload.
//
// Blocking: for command-line tools and tests, never inside an actor.
//
// Thread-safety: one thread at a time per upload, except cancel(), which
// may be called from any thread to end a write() or finish() that waits.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "dcos/http_client.hpp"

namespace dcos {

class http_upload {
public:
  /// Connects to `call.host`:`call.port` (within `call.timeout`) and sends
  /// the request's head, and `call.body` as the first piece if it is not
  /// empty. Errors name the call and what failed.
  /// REQUIRES: !call.tls.
  static caf::expected<std::unique_ptr<http_upload>>
  open(const http_call& call);

  http_upload(const http_upload&) = delete;
  http_upload& operator=(const http_upload&) = delete;

  /// Closes the connection (the server sees the body cut short).
  ~http_upload();

  /// Sends `data` (if not empty) as the body's next piece; waits while the
  /// server does not take it. Fails if the connection broke (the server may
  /// have answered early: finish() reads the answer) or was cancelled.
  caf::error write(std::string_view data);

  /// Ends the body and waits up to `timeout` for the answer, whatever its
  /// status (the caller judges it).
  caf::expected<http_reply> finish(std::chrono::milliseconds timeout);

  /// Makes a waiting or later write() or finish() fail at once.
  void cancel() noexcept;

private:
  struct impl;

  explicit http_upload(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
};

} // namespace dcos
