// An exclusive flock(2) on a file, held while the object lives: how the
// containerizer's processes (the agent, its executors, the fetcher) take
// turns on state they share on disk.
//
// Thread-safety: one object per holder; flock locks belong to the open file,
// so two objects in one process exclude each other too.
#pragma once

#include <string>

#include <caf/expected.hpp>

namespace dcos {

class file_lock {
public:
  /// Opens (creating it if needed) and locks `path`, waiting for other
  /// holders. Fails with io_error naming the path.
  static caf::expected<file_lock> acquire(const std::string& path);

  file_lock(file_lock&& other) noexcept;
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  file_lock& operator=(file_lock&&) = delete;
  ~file_lock(); // releases the lock

private:
  explicit file_lock(int fd) noexcept : fd_(fd) {}
  int fd_;
};

} // namespace dcos
