#include "dcos/accept_spread.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace {

// The window is [floor, ceiling); zero ceiling means "off".
constexpr int window_floor = 1024;
constexpr int min_window = 1024;
constexpr int max_window = 64 * 1024;
std::atomic<int> ceiling{0};
std::atomic<int> next_fd{window_floor};

using accept_fn = int (*)(int, sockaddr*, socklen_t*);

accept_fn real_accept() {
  static const auto fn
    = reinterpret_cast<accept_fn>(dlsym(RTLD_NEXT, "accept"));
  return fn;
}

// Moves `fd` to the next free descriptor of the window. Keeps `fd` as it is
// when the window is off or full.
int spread(int fd) {
  auto top = ceiling.load(std::memory_order_relaxed);
  if (top == 0 || fd < 0)
    return fd;
  auto want = next_fd.load(std::memory_order_relaxed);
  if (want >= top)
    want = window_floor;
  auto moved = fcntl(fd, F_DUPFD_CLOEXEC, want);
  if (moved < 0 || moved >= top) {
    if (moved >= 0)
      close(moved);
    // Full from `want` up: start over at the bottom next time.
    next_fd.store(window_floor, std::memory_order_relaxed);
    return fd;
  }
  close(fd);
  next_fd.store(moved + 1, std::memory_order_relaxed);
  return moved;
}

} // namespace

// Interposes libc's accept for every library of this executable (CAF's
// doorman calls ::accept). Same contract as accept(2).
extern "C" int accept(int fd, sockaddr* __restrict addr,
                      socklen_t* __restrict len) {
  auto fn = real_accept();
  if (fn == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return spread(fn(fd, addr, len));
}

namespace dcos {

std::string enable_accept_spread() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return "accept spread off: getrlimit failed";
  if (lim.rlim_cur < lim.rlim_max) {
    auto raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
  }
  // Keep a quarter of the limit for everything else, and the window no
  // larger than needed: the kernel's descriptor table grows to the highest
  // descriptor in use, 64 Ki connections apart is plenty.
  auto limit = lim.rlim_cur == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_cur;
  auto top = static_cast<long long>(limit) - static_cast<long long>(limit) / 4;
  top = std::min<long long>(top, window_floor + max_window);
  if (top - window_floor < min_window)
    return fmt::format("accept spread off: descriptor limit {} is too low",
                       limit);
  ceiling.store(static_cast<int>(top));
  return fmt::format("accepted connections get descriptors {}..{}",
                     window_floor, ceiling.load() - 1);
}

} // namespace dcos
