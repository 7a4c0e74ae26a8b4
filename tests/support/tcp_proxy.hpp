// A TCP forwarder on loopback that a test can cut, to partition one client
// from a server while others still reach it. cut() closes every forwarded
// connection and refuses new ones; restore() accepts again on the same port.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "support/ports.hpp"

namespace dcos::test {

class tcp_proxy {
public:
  /// Forwards 127.0.0.1:port() to 127.0.0.1:`target`.
  explicit tcp_proxy(uint16_t target) : target_(target), port_(free_port()) {
    REQUIRE(::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) == 0);
    listen_fd_ = listen_on(port_);
    REQUIRE(listen_fd_ >= 0);
    thread_ = std::thread([this] { run(); });
  }

  ~tcp_proxy() {
    stop_ = true;
    wake();
    thread_.join();
    close_all();
    if (listen_fd_ >= 0)
      ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  uint16_t port() const { return port_; }

  void cut() {
    cut_ = true;
    wake();
  }

  void restore() {
    cut_ = false;
    wake();
  }

private:
  static int listen_on(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::listen(fd, 16) != 0) {
      ::close(fd);
      return -1; // restore() tries again on the next turn
    }
    return fd;
  }

  void wake() {
    char c = 0;
    [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
  }

  void close_all() {
    for (auto [a, b] : pairs_) {
      ::close(a);
      ::close(b);
    }
    pairs_.clear();
  }

  // Copies what `from` has to `to`; false once either side is done.
  static bool pump(int from, int to) {
    char buf[16384];
    auto n = ::read(from, buf, sizeof buf);
    if (n <= 0)
      return false;
    for (ssize_t sent = 0; sent < n;) {
      auto m = ::write(to, buf + sent, static_cast<size_t>(n - sent));
      if (m <= 0)
        return false;
      sent += m;
    }
    return true;
  }

  void run() {
    while (!stop_) {
      if (cut_ && listen_fd_ >= 0) {
        close_all();
        ::close(listen_fd_);
        listen_fd_ = -1;
      } else if (!cut_ && listen_fd_ < 0) {
        listen_fd_ = listen_on(port_);
      }
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
      if (listen_fd_ >= 0)
        fds.push_back({listen_fd_, POLLIN, 0});
      for (auto [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 1000) <= 0)
        continue;
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      size_t i = 1;
      if (listen_fd_ >= 0) {
        if ((fds[i].revents & POLLIN) != 0) {
          int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          int server = client >= 0 ? connect_loopback(target_) : -1;
          if (server >= 0)
            pairs_.emplace_back(client, server);
          else if (client >= 0)
            ::close(client);
        }
        ++i;
      }
      std::vector<std::pair<int, int>> alive;
      for (auto [a, b] : pairs_) {
        bool ok = true;
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
          ok = pump(a, b);
        if (ok && (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
          ok = pump(b, a);
        i += 2;
        if (ok) {
          alive.emplace_back(a, b);
        } else {
          ::close(a);
          ::close(b);
        }
      }
      pairs_ = std::move(alive);
    }
  }

  uint16_t target_;
  uint16_t port_;
  int wake_[2] = {-1, -1};
  int listen_fd_ = -1;
  std::vector<std::pair<int, int>> pairs_;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace dcos::test
