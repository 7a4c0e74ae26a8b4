// Ports for test daemons and servers, chosen by the kernel, so that two test
// runs on one machine (two worktrees, two CI jobs) never ask for the same
// one. The kernel hands out a port no socket holds (bind to port 0); it is
// released again before the caller uses it, so the caller passes it on at
// once (a daemon's --port flag, a task's port resource).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

namespace dcos::test {

namespace detail {

// A TCP socket bound to 127.0.0.1:`port` (0: the kernel picks), or -1.
inline int bound_socket(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE_MESSAGE(fd >= 0, "socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin_port);
}

} // namespace detail

/// `n` distinct TCP ports free on 127.0.0.1 (each held until all are
/// chosen, so the kernel cannot hand out one twice), in ascending order.
inline std::vector<uint16_t> free_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < n; ++i) {
    fds.push_back(detail::bound_socket(0));
    REQUIRE_MESSAGE(fds.back() >= 0, "no free port on 127.0.0.1");
    ports.push_back(detail::port_of(fds.back()));
  }
  for (int fd : fds)
    ::close(fd);
  std::sort(ports.begin(), ports.end());
  return ports;
}

/// One TCP port free on 127.0.0.1.
inline uint16_t free_port() { return free_ports(1).front(); }

/// A TCP connection to 127.0.0.1:`port`, or -1 if nothing accepts there.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  return fd;
}

/// The first of `n` consecutive TCP ports free on 127.0.0.1, for a program
/// that numbers its listeners from one flag (`dcos up --port=P` puts its
/// agents on P+1, P+2, ...): the kernel picks the first, the others are
/// tried in turn, and another first is asked for when one is taken.
/// `n` >= 1.
inline uint16_t free_port_run(size_t n) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<int> fds{detail::bound_socket(0)};
    REQUIRE_MESSAGE(fds.front() >= 0, "no free port on 127.0.0.1");
    auto first = detail::port_of(fds.front());
    while (fds.size() < n && fds.back() >= 0
           && first + fds.size() <= UINT16_MAX)
      fds.push_back(detail::bound_socket(
        static_cast<uint16_t>(first + fds.size())));
    bool all = fds.size() == n && fds.back() >= 0;
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
    if (all)
      return first;
  }
  FAIL("no " << n << " consecutive free ports on 127.0.0.1");
  return 0;
}

} // namespace dcos::test
