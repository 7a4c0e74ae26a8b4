// Streams the output of debug sessions (LAUNCH_NESTED_CONTAINER_SESSION) to
// their HTTP clients, as Mesos does: a RecordIO stream of ProcessIO
// records, each a DATA message with a piece of the session's stdout or
// stderr (JSON, with the bytes in base64, or protobuf).
//
// One thread serves every session through epoll, so a session costs two
// descriptors and a buffer, not a thread, and no actor ever reads a pipe.
// A client that reads more slowly than the session writes is not cut off:
// the pump stops reading that session's pipes while more than
// `max_queued_bytes` wait for the client, so the session's writes block
// instead (as at a terminal).
//
// Thread-safety: add() may be called from any thread; the callbacks run on
// the pump's thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include <caf/expected.hpp>

#include "dcos/containerizer_actor.hpp"
#include "dcos/http_server.hpp"

namespace dcos::kernel {

class session_pump {
public:
  /// Starts the pump's thread.
  static caf::expected<std::unique_ptr<session_pump>> start();

  session_pump(const session_pump&) = delete;
  session_pump& operator=(const session_pump&) = delete;

  /// Closes every stream still served and joins the thread.
  ~session_pump();

  /// Sends what `io`'s stdout and stderr yield to `out` until both have
  /// ended, then closes `out`. If `out` closes first (its client left), or
  /// is closed already, calls `client_left` once (the owner then ends the
  /// session) and drops `io`. `protobuf` chooses the records' encoding.
  /// Once the pump is being destroyed, closes `out` and drops `io` at once
  /// (the session ends with the agent).
  void add(container_io_ptr io, std::shared_ptr<http_stream> out,
           bool protobuf, std::function<void()> client_left);

  /// What may wait for a client before its session's pipes are left unread.
  static constexpr size_t max_queued_bytes = 1024 * 1024;

private:
  struct session;
  struct inbox; // what other threads hand the pump; shared with callbacks

  session_pump(int epoll_fd, std::shared_ptr<inbox> in);
  void run();
  // On the pump's thread:
  void adopt_new();
  void drop_closed();
  void pump(uint64_t key, int which);
  void throttle(session& s, bool on);
  void end(uint64_t key, bool client_left);

  const int epoll_fd_;
  std::shared_ptr<inbox> inbox_;
  std::thread thread_;
  std::map<uint64_t, std::shared_ptr<session>> sessions_; // the thread's
};

} // namespace dcos::kernel
