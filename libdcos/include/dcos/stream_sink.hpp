// One subscriber's end of an HTTP event stream, usable before the stream
// exists.
//
// An event stream's first records are produced by an actor before the HTTP
// response carrying them has gone out (the response's http_stream is only
// handed over once its header is written). A stream_sink takes records from
// the start: they wait, in order, until attach() gives it the stream, and
// go straight to the stream afterwards.
//
// Thread-safety: every member may be called from any thread; nothing blocks
// beyond a short critical section (writes queue, see http_stream). The
// attached stream's on_close callback must not call into the sink.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include <dcos/http_server.hpp>

namespace dcos {

class stream_sink {
public:
  /// Sends `record` after every record written before it. Answers false,
  /// and drops it, once the sink is closed: by close(), by the client
  /// going away, or by the stream cutting off a subscriber that reads too
  /// slowly (see http_stream::max_queued_bytes).
  bool write(std::string record);

  /// Hands over the response's stream: records that waited are written to
  /// it, in order. If the sink was closed before, the stream is closed.
  /// REQUIRES: called at most once.
  void attach(std::shared_ptr<http_stream> stream);

  /// Closes the sink, and its stream once attached (after what was
  /// written). Idempotent.
  void close();

  /// False once closed, for any reason.
  bool is_open() const;

private:
  mutable std::mutex mtx_;
  std::shared_ptr<http_stream> stream_; // null until attach()
  std::vector<std::string> waiting_;    // written before attach()
  bool closed_ = false;
};

} // namespace dcos

// Passed to the actor that writes a stream (shared, not copied).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dcos::stream_sink>)
