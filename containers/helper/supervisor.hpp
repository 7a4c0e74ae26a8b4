// The children of dcos-containerizer and the signals it serves.
//
// The helper is single-threaded and runs no signal handlers: SIGTERM, SIGINT,
// SIGHUP, SIGUSR1 and SIGCHLD are blocked from the first instruction of
// main() and read from a signalfd, so a signal that arrives at any moment
// (even before PROGRAM starts) is queued and served by wait_for().
//
//   SIGTERM, SIGINT, SIGHUP  SIGTERM to every descendant (terminate_descendants)
//   SIGUSR1                  SIGKILL to every descendant (kill_descendants)
//   SIGCHLD                  reap every child that ended
//
// Requests sent from inside the container, i.e. by a process of the helper's
// own process group (the helper included), are ignored: `kill 0` in a task's
// script must not look like the agent asking for termination, and the
// helper's own kill(-pgid, SIGTERM) reaches the helper too.
//
// Thread-safety: none; one supervisor per (single-threaded) process.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dcos::helper {

class supervisor {
public:
  /// Blocks the served signals, resets their dispositions (an inherited
  /// SIG_IGN would discard them before the signalfd saw them) and ignores
  /// SIGPIPE. Call first thing in main(). Returns 0 or an errno.
  int start();

  /// Forks and runs `file` (looked up on the PATH of `envp`, as execvp does)
  /// with argv `argv`, environment `envp`, default signal dispositions and
  /// an empty signal mask; `stderr_fd`, if >= 0, becomes the child's stderr.
  /// Returns the pid once the exec has succeeded; otherwise reaps the child,
  /// sets `*error` to the errno of fork or exec and returns -1.
  /// REQUIRES: start() succeeded; `file` and `argv` are not empty.
  pid_t spawn(const std::string& file, const std::vector<std::string>& argv,
              char* const* envp, int stderr_fd, int* error);

  /// Serves signals and reaps children until `child` ends, and returns its
  /// wait status. Bytes arriving on `output_fd` (if >= 0; it must be
  /// non-blocking) are passed to `on_output`, up to those already there when
  /// `child` ended.
  int wait_for(pid_t child, int output_fd,
               const std::function<void(const char*, size_t)>& on_output);

  /// Serves the signals that are pending, without waiting.
  void serve_pending();

  /// SIGKILLs every descendant that is left and reaps them all, repeating
  /// for processes that appear meanwhile. Returns false if some descendant
  /// was still alive after `limit_ms`. Costs one waitpid() when there are no
  /// children.
  bool clean_up(int limit_ms);

  /// What a termination request has passed on so far: 0 (none), SIGTERM, or
  /// SIGKILL (after SIGUSR1).
  int termination_signal() const noexcept { return termination_; }

private:
  void serve(const signalfd_siginfo& info);
  bool from_inside(const signalfd_siginfo& info) const;
  // Reaps every child that ended; false when no children are left.
  bool reap();

  int sfd_ = -1;
  pid_t awaited_ = -1;
  std::optional<int> awaited_status_;
  int termination_ = 0;
};

} // namespace dcos::helper
