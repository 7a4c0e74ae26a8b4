// Serves the standard streams of debug sessions (LAUNCH_NESTED_CONTAINER_
// SESSION) as Mesos' I/O switchboard does:
//  - the output goes to the launching client, and to every client that
//    attaches later (ATTACH_CONTAINER_OUTPUT), as a RecordIO stream of
//    ProcessIO records, each a DATA message with a piece of the session's
//    stdout or stderr (JSON, with the bytes in base64, or protobuf); a
//    session with a terminal has only the terminal's output, as stdout;
//  - the input comes from one client at a time (ATTACH_CONTAINER_INPUT);
//    stdin stays open until a client closes it (a terminal's, until the
//    session ends) or the session ends, so that a client may attach once
//    the session runs.
//
// One thread serves every session through epoll, so a session costs its
// descriptors (three pipes, or a terminal's master twice) and buffers, not
// a thread, and no actor ever reads or writes
// a pipe. The launching client is not cut off when it reads more slowly
// than the session writes: the pump stops reading that session's pipes
// while more than `max_queued_bytes` wait for it, so the session's writes
// block instead (as at a terminal). A client attached later cannot hold
// the session up: its stream cuts it off when too far behind.
//
// Thread-safety: every member may be called from any thread; the callbacks
// run on the pump's thread (or at once, on the calling thread, when the
// answer is known) and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <caf/expected.hpp>

#include "dcos/containerizer_actor.hpp"
#include "dcos/http_server.hpp"

namespace dcos::kernel {

class session_input;

class session_pump {
public:
  /// Starts the pump's thread.
  static caf::expected<std::unique_ptr<session_pump>> start();

  session_pump(const session_pump&) = delete;
  session_pump& operator=(const session_pump&) = delete;

  /// Calls stop().
  ~session_pump();

  /// Closes every stream still served, fails every input still queued, and
  /// joins the thread; afterwards sessions added end at once. Idempotent.
  /// Call it while the HTTP server's handlers, which hold the pump, are
  /// still alive: else the pump's thread could drop their last reference,
  /// and so destroy the pump, itself.
  /// REQUIRES: not called from a callback of the pump.
  void stop();

  /// Takes the streams of the session whose container id is `id` (the
  /// whole chain, flat_id()), so that attach_input() and attach_output()
  /// find it from now on (the newest, should an older session of that id
  /// still be served). Its output is not read until serve(). Answers the
  /// session's key for serve().
  uint64_t add(std::string id, container_io_ptr io);

  /// Sends what session `key`'s stdout and stderr yield to `out` (its
  /// launching client) until both have ended, then closes `out` and every
  /// attached stream, and closes the session's stdin. If `out` closes first
  /// (its client left), or is closed already, calls `client_left` once (the
  /// owner then ends the session) and drops the session. `protobuf` chooses
  /// the records' encoding. Once the pump has stopped, closes `out` at once
  /// (the session ends with the agent).
  /// REQUIRES: `client_left` is set.
  void serve(uint64_t key, std::shared_ptr<http_stream> out, bool protobuf,
             std::function<void()> client_left);

  /// Nothing if `id` is a session the pump serves; else errc::not_found,
  /// saying so.
  caf::error find(const std::string& id) const;

  /// Also sends session `id`'s output from now on to `out` (ATTACH_
  /// CONTAINER_OUTPUT), and closes `out` when the output ends. Closes `out`
  /// at once if the session has ended meanwhile.
  void attach_output(const std::string& id, std::shared_ptr<http_stream> out,
                     bool protobuf);

  /// The stdin of session `id`, for one holder at a time (ATTACH_
  /// CONTAINER_INPUT). errc::not_found if `id` is no session here,
  /// errc::conflict if another holder has it. `ended` runs once, on the
  /// pump's thread, if the session ends while the holder has it.
  caf::expected<std::unique_ptr<session_input>>
  attach_input(const std::string& id, std::function<void()> ended);

  /// What may wait for the launching client before its session's pipes are
  /// left unread.
  static constexpr size_t max_queued_bytes = 1024 * 1024;

private:
  friend class session_input;
  struct session;
  struct inbox; // what other threads hand the pump; shared with callbacks

  session_pump(int epoll_fd, std::shared_ptr<inbox> in);
  void run();
  // On the pump's thread:
  void take_inbox();
  void pump(uint64_t key, int which);
  void send(session& s, uint64_t key, int which, std::string_view bytes);
  void flush_input(session& s);
  void watch_input(session& s, bool on);
  void throttle(session& s, bool on);
  void watch(const session& s, int which, bool on);
  void end(uint64_t key, bool client_left);

  const int epoll_fd_;
  std::shared_ptr<inbox> inbox_;
  std::thread thread_;
  std::map<uint64_t, std::shared_ptr<session>> sessions_; // the thread's
};

/// A session's stdin, held by one client (see attach_input). Releasing it
/// leaves stdin open for the next holder.
class session_input {
public:
  /// Called with true once the bytes are in the session's stdin (or, for
  /// close(), once it is closed); with false if stdin was closed before
  /// (the session ended, or a holder closed it).
  using done_handler = std::function<void(bool)>;

  session_input(const session_input&) = delete;
  session_input& operator=(const session_input&) = delete;
  ~session_input();

  /// Queues `bytes` for the session's stdin, after what was queued before.
  /// REQUIRES: `bytes` is not empty.
  void write(std::string bytes, done_handler done);

  /// Closes the session's stdin once what was queued is in: the session
  /// reads EOF. A terminal stays open: it gets its EOF character instead
  /// (which a reader takes as EOF; so does a shell at its prompt), twice
  /// if a line is unfinished (the first only hands it over).
  void close(done_handler done);

  /// Sets the size of the session's terminal once what was queued is in;
  /// nothing for a session without one. `done` as for write().
  void resize(uint16_t rows, uint16_t columns, done_handler done);

  /// True if the session's stdin is a terminal.
  bool terminal() const noexcept { return terminal_; }

private:
  friend class session_pump;
  session_input(std::shared_ptr<session_pump::inbox> in, uint64_t key,
                bool terminal)
    : inbox_(std::move(in)), key_(key), terminal_(terminal) {}
  void queue(std::string bytes, bool eof, done_handler done,
             std::optional<std::pair<uint16_t, uint16_t>> window = {});

  std::shared_ptr<session_pump::inbox> inbox_;
  uint64_t key_;
  bool terminal_;
};

} // namespace dcos::kernel
