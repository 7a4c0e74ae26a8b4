// Minuteman's data plane (services/minuteman/vip_proxy.hpp) with real
// sockets on loopback: a VIP on 127.0.0.1 in front of backends of the
// test's own. How connections spread, half-closes and resets, a dead
// backend, a drained one, and a long stream byte for byte.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <doctest/doctest.h>

#include "support/checks.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"
#include "vip_proxy.hpp"

using namespace dcos;
using namespace dcos::minuteman;
using namespace std::chrono_literals;

namespace {

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

bool send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    auto w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads until EOF; -errno on an error.
ssize_t read_to_end(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    auto r = ::recv(fd, buf, sizeof(buf), 0);
    if (r == 0)
      return static_cast<ssize_t>(out.size());
    if (r < 0)
      return -errno;
    out.append(buf, static_cast<size_t>(r));
  }
}

// A backend: greets each connection with "<name>\n", then echoes; a
// client's FIN is answered with a FIN; "RST" makes it reset the connection.
class echo_backend {
public:
  explicit echo_backend(std::string name, uint16_t port = 0)
    : name_(std::move(name)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd_, 128) == 0);
    port_ = test::detail::port_of(fd_);
    thread_ = std::thread([this] { serve(); });
  }

  ~echo_backend() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : workers_)
      t.join();
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        return;
      ++accepted_;
      workers_.emplace_back([this, c] { echo(c); });
    }
  }

  void echo(int c) {
    auto hello = name_ + "\n";
    send_all(c, hello.data(), hello.size());
    char buf[65536];
    for (;;) {
      auto r = ::recv(c, buf, sizeof(buf), 0);
      if (r <= 0)
        break;
      if (r == 3 && std::memcmp(buf, "RST", 3) == 0) {
        linger l{1, 0};
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        ::close(c); // with no FIN first: a reset
        return;
      }
      if (!send_all(c, buf, static_cast<size_t>(r)))
        break;
    }
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }

  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> workers_; // joined at the end: tests are short
};

struct proxy_fixture {
  uint16_t vip_port = test::free_port();
  std::unique_ptr<vip_proxy> proxy;

  explicit proxy_fixture(proxy_options opts = {}) {
    auto p = vip_proxy::start(opts, nullptr);
    DCOS_REQUIRE_OK(p);
    proxy = std::move(*p);
  }

  void serve(const std::vector<uint16_t>& backend_ports) {
    auto table = std::make_shared<vip_table>();
    vip_entry e;
    e.protocol = "tcp";
    e.ip = "127.0.0.1";
    e.port = vip_port;
    for (auto p : backend_ports) {
      vip_backend b;
      b.ip = "127.0.0.1";
      b.port = p;
      b.task_id = "t" + std::to_string(p);
      e.backends.push_back(b);
    }
    table->vips.push_back(e);
    auto before = proxy->applied();
    proxy->publish(table);
    REQUIRE(test::eventually([&] { return proxy->applied() > before; }, 10s));
  }

  // Connects through the VIP; the greeting names the backend.
  std::pair<int, std::string> open() {
    int fd = connect_to(vip_port);
    REQUIRE(fd >= 0);
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n')
      line += c;
    return {fd, line};
  }

  vip_stats stats() {
    auto all = proxy->stats();
    REQUIRE(all.size() == 1);
    return all[0];
  }
};

} // namespace

TEST_CASE("connections go to every backend, by latency and load") {
  echo_backend a{"a"}, b{"b"}, c{"c"};
  proxy_fixture f;
  f.serve({a.port(), b.port(), c.port()});
  CHECK(f.stats().listening);
  // One at a time: latency decides, and every backend is measured first.
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    auto [fd, who] = f.open();
    REQUIRE(send_all(fd, "ping", 4));
    ::shutdown(fd, SHUT_WR);
    std::string echoed;
    CHECK(read_to_end(fd, echoed) == 4);
    CHECK(echoed == "ping");
    ::close(fd);
    seen[who]++;
  }
  CHECK(seen.size() == 3);
  CHECK(test::eventually([&] { return f.stats().active == 0; }, 10s));
  auto s = f.stats();
  CHECK(s.connections == 300);
  CHECK(s.failures == 0);
  CHECK(s.bytes_out == 300 * 4);
  CHECK(s.bytes_in == 300 * (4 + 2));
  // Many at once: open connections count against a backend, so even the
  // slowest gets its share.
  std::vector<int> open;
  std::map<std::string, int> held;
  for (int i = 0; i < 60; ++i) {
    auto [fd, who] = f.open();
    open.push_back(fd);
    held[who]++;
  }
  CHECK(held.size() == 3);
  for (const auto& [who, n] : held) {
    CAPTURE(who);
    CHECK(n >= 2);
  }
  for (int fd : open)
    ::close(fd);
}

TEST_CASE("a half-close passes as a FIN and a reset as a reset") {
  echo_backend a{"a"};
  proxy_fixture f;
  f.serve({a.port()});
  // The client's FIN reaches the backend, which still answers in full.
  auto [fd, who] = f.open();
  CHECK(who == "a");
  std::string sent(1 << 20, '\0');
  std::mt19937 rng{7};
  for (auto& ch : sent)
    ch = static_cast<char>(rng());
  std::thread writer([fd = fd, &sent] {
    send_all(fd, sent.data(), sent.size());
    ::shutdown(fd, SHUT_WR);
  });
  std::string got;
  CHECK(read_to_end(fd, got) == static_cast<ssize_t>(sent.size()));
  writer.join();
  CHECK(got == sent);
  ::close(fd);
  // The backend's reset reaches the client.
  auto [fd2, who2] = f.open();
  REQUIRE(send_all(fd2, "RST", 3));
  std::string rest;
  CHECK(read_to_end(fd2, rest) == -ECONNRESET);
  ::close(fd2);
}

TEST_CASE("a dead backend loses no connection: others take it, it is marked "
          "down, then probed back") {
  echo_backend a{"a"}, b{"b"};
  auto dead_port = test::free_port(); // nothing listens there yet
  proxy_options opts;
  opts.failures_to_down = 2;
  opts.down_for = 300ms;
  proxy_fixture f{opts};
  f.serve({a.port(), b.port(), dead_port});
  for (int i = 0; i < 60; ++i) {
    auto [fd, who] = f.open();
    CHECK((who == "a" || who == "b"));
    ::close(fd);
  }
  auto s = f.stats();
  CHECK(s.failures == 0);
  CHECK(s.connections == 60);
  const backend_stats* dead = nullptr;
  for (const auto& bs : s.backends)
    if (bs.port == dead_port)
      dead = &bs;
  REQUIRE(dead != nullptr);
  CHECK(dead->connect_failures >= 2);
  CHECK(dead->connections == 0);
  // It comes back: once its down time is over, a connection probes it.
  echo_backend back{"back", dead_port};
  CHECK(test::eventually(
    [&] {
      auto [fd, who] = f.open();
      ::close(fd);
      return who == "back";
    },
    10s));
}

TEST_CASE("a backend that leaves the table drains: its open connection runs "
          "on, new ones go elsewhere") {
  echo_backend a{"a"}, b{"b"};
  proxy_fixture f;
  f.serve({a.port(), b.port()});
  auto [fd, who] = f.open();
  auto& leaving = who == "a" ? a : b;
  auto staying = who == "a" ? "b" : "a";
  f.serve({who == "a" ? b.port() : a.port()});
  for (int i = 0; i < 20; ++i) {
    auto [other, name] = f.open();
    CHECK(name == staying);
    ::close(other);
  }
  REQUIRE(send_all(fd, "still", 5));
  char buf[5];
  CHECK(::recv(fd, buf, 5, MSG_WAITALL) == 5);
  CHECK(std::string(buf, 5) == "still");
  CHECK(leaving.accepted() == 1);
  ::close(fd);
}

TEST_CASE("no backend: the client's connection is reset and counted") {
  proxy_fixture f;
  f.serve({});
  int fd = connect_to(f.vip_port);
  REQUIRE(fd >= 0);
  std::string rest;
  CHECK(read_to_end(fd, rest) < 0);
  ::close(fd);
  CHECK(test::eventually([&] { return f.stats().failures == 1; }, 10s));
}

TEST_CASE("100 MB through the VIP arrive byte for byte") {
  echo_backend a{"a"};
  proxy_fixture f;
  f.serve({a.port()});
  auto [fd, who] = f.open();
  constexpr size_t total = 100u << 20;
  std::thread writer([fd = fd] {
    std::mt19937_64 rng{42};
    std::string chunk(1 << 20, '\0');
    for (size_t sent = 0; sent < total; sent += chunk.size()) {
      for (size_t i = 0; i < chunk.size(); i += 8) {
        auto x = rng();
        std::memcpy(chunk.data() + i, &x, 8);
      }
      if (!send_all(fd, chunk.data(), chunk.size()))
        return;
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::mt19937_64 rng{42};
  std::string expected(1 << 20, '\0');
  std::string pending;
  size_t received = 0;
  bool same = true;
  char buf[65536];
  for (;;) {
    auto r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0)
      break;
    pending.append(buf, static_cast<size_t>(r));
    while (pending.size() >= expected.size()) {
      for (size_t i = 0; i < expected.size(); i += 8) {
        auto x = rng();
        std::memcpy(expected.data() + i, &x, 8);
      }
      same = same && pending.compare(0, expected.size(), expected) == 0;
      received += expected.size();
      pending.erase(0, expected.size());
    }
  }
  writer.join();
  ::close(fd);
  CHECK(pending.empty());
  CHECK(received == total);
  CHECK(same);
}
