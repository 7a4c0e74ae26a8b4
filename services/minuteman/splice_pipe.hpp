// A pipe that moves a connection's bytes from one socket to another inside
// the kernel (splice(2)): pages go from the receive queue to the pipe and
// on to the other socket without a copy through user space. The proxy
// switches a direction to it once the direction carries a bulk stream (a
// read that filled the whole buffer); small request/response traffic stays
// on plain reads and writes, where the extra system call per message would
// cost more than the copy saves.
//
// Thread-safety: none; one direction of one connection uses it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>

namespace dcos::minuteman {

class splice_pipe {
public:
  /// A new pipe, or null if the process cannot make one (out of file
  /// descriptors): the caller then keeps copying.
  static std::unique_ptr<splice_pipe> open();

  ~splice_pipe();
  splice_pipe(const splice_pipe&) = delete;
  splice_pipe& operator=(const splice_pipe&) = delete;

  /// Moves what the socket `from` has into the pipe, without blocking:
  /// the bytes moved, 0 at end of stream, or -errno (-EAGAIN: nothing to
  /// move now). REQUIRES: pending() == 0.
  ssize_t fill(int from);

  /// Moves the pipe's bytes to the socket `to`, without blocking: the bytes
  /// moved, or -errno (-EAGAIN: `to` is full).
  ssize_t flush(int to);

  /// Bytes in the pipe, not yet moved to the other socket.
  size_t pending() const { return pending_; }

private:
  splice_pipe(int read_end, int write_end);

  int read_end_;
  int write_end_;
  size_t pending_ = 0;
};

} // namespace dcos::minuteman
