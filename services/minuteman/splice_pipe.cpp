#include "splice_pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace dcos::minuteman {

namespace {

// The pipe's capacity, and as much as one call moves: four times the
// default, so that a stream takes fewer rounds of fill and flush.
constexpr size_t chunk = 256 * 1024;

} // namespace

std::unique_ptr<splice_pipe> splice_pipe::open() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return nullptr;
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(chunk)); // best effort
  return std::unique_ptr<splice_pipe>{new splice_pipe(fds[0], fds[1])};
}

splice_pipe::splice_pipe(int read_end, int write_end)
  : read_end_(read_end), write_end_(write_end) {
}

splice_pipe::~splice_pipe() {
  ::close(read_end_);
  ::close(write_end_);
}

ssize_t splice_pipe::fill(int from) {
  auto n = ::splice(from, nullptr, write_end_, nullptr, chunk,
                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0)
    return -errno;
  pending_ += static_cast<size_t>(n);
  return n;
}

ssize_t splice_pipe::flush(int to) {
  auto n = ::splice(read_end_, nullptr, to, nullptr, pending_,
                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0)
    return -errno;
  pending_ -= static_cast<size_t>(n);
  return n;
}

} // namespace dcos::minuteman
