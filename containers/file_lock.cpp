#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos {

caf::expected<file_lock> file_lock::acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(errc::io_error, fmt::format("cannot open '{}': {}", path,
                                                  std::strerror(errno)));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int code = errno;
      ::close(fd);
      return make_error(errc::io_error,
                        fmt::format("cannot lock '{}': {}", path,
                                    std::strerror(code)));
    }
  }
  return file_lock{fd};
}

file_lock::file_lock(file_lock&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)) {
}

file_lock::~file_lock() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace dcos
