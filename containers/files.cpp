#include "files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos {

namespace {

caf::error os_error(std::string_view what, const std::string& path,
                    int code) {
  return make_error(errc::io_error, fmt::format("cannot {} '{}': {}", what,
                                                path, std::strerror(code)));
}

// Writes all of `data` to `fd`, through short writes and signals.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

} // namespace

caf::expected<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return os_error("read", path, errno);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int code = errno;
      ::close(fd);
      return os_error("read", path, code);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string read_file_or_empty(const std::string& path) {
  auto text = read_file(path);
  return text ? std::move(*text) : std::string{};
}

caf::error write_file(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0666);
  if (fd < 0)
    return os_error("write", path, errno);
  bool ok = write_all(fd, data);
  int code = errno;
  ::close(fd);
  return ok ? caf::error{} : os_error("write", path, code);
}

caf::error replace_file(const std::string& path, std::string_view data) {
  auto part = path + ".part";
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  if (fd < 0)
    return os_error("create", part, errno);
  if (!write_all(fd, data)) {
    int code = errno;
    ::close(fd);
    ::unlink(part.c_str());
    return os_error("write", part, code);
  }
  ::close(fd);
  if (::rename(part.c_str(), path.c_str()) != 0)
    return os_error("rename", part, errno);
  return {};
}

} // namespace dcos
