// Watches processes for their exit with pidfds and one epoll thread, and
// reports each exit through a callback (which forwards it to an actor).
// Works for children (it also reaps them) and for processes adopted after a
// restart (whose exit status comes from elsewhere).
//
// Thread-safety: watch() may be called from any thread; the callback runs
// on the watcher's thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include <caf/error.hpp>

namespace dcos::posix {

class process_watcher {
public:
  /// `wait_status` is the raw waitpid() status if the process was our child.
  using callback = std::function<void(pid_t pid, std::optional<int> wait_status)>;

  explicit process_watcher(callback on_exit);
  process_watcher(const process_watcher&) = delete;
  process_watcher& operator=(const process_watcher&) = delete;
  ~process_watcher();

  /// Starts watching `pid`. Fails (errc::not_found) if it no longer exists.
  caf::error watch(pid_t pid);

private:
  void run();

  callback on_exit_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

/// True if `pid` runs `program` (guards against a recycled pid).
bool runs_program(pid_t pid, const std::string& program);

} // namespace dcos::posix
