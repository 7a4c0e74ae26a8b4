// A child process for tools and tests (never for actors: inside the kernel,
// processes are started only through the containerizer interface).
//
// The child runs in its own process group, so terminate() reaches everything
// it forked. The destructor terminates and reaps a child that is still
// running: a subprocess never outlives its owner by accident.
//
// Created with posix_spawn (vfork + exec), never a bare fork() of a
// multi-threaded program. The child inherits no file descriptor beyond 0-2.
//
// Thread-safety: one subprocess object must be used from one thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace dcos {

struct subprocess_options {
  std::vector<std::string> argv;     // argv[0] is looked up on PATH
  std::vector<std::string> env;      // KEY=VALUE added to the parent's env
  std::string working_dir;           // empty: the parent's
  bool capture_stdout = false;       // readable with read_line()
  std::string stdout_path;           // else: append stdout to this file
  std::string stderr_path;           // empty: inherit the parent's stderr
  bool close_stdin = true;           // stdin from /dev/null
};

class subprocess {
public:
  /// Starts the child. Fails if the program cannot be executed.
  static caf::expected<subprocess> spawn(const subprocess_options& opts);

  subprocess(subprocess&& other) noexcept;
  subprocess& operator=(subprocess&& other) noexcept;
  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;
  ~subprocess();

  pid_t pid() const noexcept { return pid_; }

  /// Reads one line (without '\n') of captured stdout, waiting at most
  /// `timeout`. REQUIRES: capture_stdout was set.
  caf::expected<std::string> read_line(std::chrono::milliseconds timeout);

  /// Reads captured stdout until the child closes it (or `timeout`).
  /// REQUIRES: capture_stdout was set.
  caf::expected<std::string> read_all(std::chrono::milliseconds timeout);

  /// The exit status if the child has ended (non-blocking): the exit code, or
  /// 128 + signal number if a signal killed it.
  std::optional<int> poll();

  /// Waits for the child to end and returns its status as poll() does.
  int wait();

  /// Sends SIGTERM to the child's process group, waits up to `grace`, then
  /// sends SIGKILL, and reaps the child. Returns its status.
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

  /// Sends `signal` to the child's process group.
  void kill(int signal);

private:
  subprocess() = default;

  // Waits until `deadline` for stdout and appends what it reads to
  // pending_. True: read something; false: end of file. The timeout error
  // says "subprocess: <what> at the timeout".
  caf::expected<bool> read_some(std::chrono::steady_clock::time_point deadline,
                                const char* what);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::optional<int> status_;
  std::string pending_;
};

/// Converts a waitpid() status into the form poll() returns.
int decode_wait_status(int status) noexcept;

} // namespace dcos
