// Minuteman's data plane (services/minuteman/vip_proxy.hpp) with real
// sockets on loopback: a VIP on 127.0.0.1 in front of backends of the
// test's own. How connections spread, half-closes and resets, a dead
// backend, a drained one, and a long stream byte for byte; for UDP VIPs,
// flows, replies from the VIP, failover from a refusing backend, idle flows
// and drain.
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

// A UDP backend: answers each datagram with "<name>:<datagram>".
class udp_backend {
public:
  explicit udp_backend(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{0, 50000}; // so that the thread sees stop_
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    port_ = test::detail::port_of(fd_);
    thread_ = std::thread([this] { serve(); });
  }

  ~udp_backend() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  uint16_t port() const { return port_; }
  int received() const { return received_; }

private:
  void serve() {
    char buf[65536];
    while (!stop_) {
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      auto r = ::recvfrom(fd_, buf, sizeof(buf), 0,
                          reinterpret_cast<sockaddr*>(&from), &len);
      if (r < 0)
        continue;
      ++received_;
      auto answer = name_ + ":" + std::string(buf, static_cast<size_t>(r));
      ::sendto(fd_, answer.data(), answer.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> received_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A UDP client connected to the VIP: the kernel drops any datagram that
// does not come from the VIP's own address and port.
class udp_client {
public:
  explicit udp_client(uint16_t vip_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(vip_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  ~udp_client() { ::close(fd_); }

  int fd() const { return fd_; }

  // Sends `what`; the reply ("<backend>:<what>"), or "" after 5 s.
  std::string ask(const std::string& what) {
    ::send(fd_, what.data(), what.size(), 0);
    char buf[65536];
    for (;;) {
      auto r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r < 0 && errno == ECONNREFUSED)
        continue; // an ICMP error from an earlier datagram
      if (r < 0)
        return "";
      return std::string(buf, static_cast<size_t>(r));
    }
  }

  // The backend that answered `what`.
  std::string who(const std::string& what) {
    auto reply = ask(what);
    auto colon = reply.find(':');
    if (colon == std::string::npos || reply.substr(colon + 1) != what)
      return "";
    return reply.substr(0, colon);
  }

private:
  int fd_ = -1;
};

struct proxy_fixture {
  uint16_t vip_port = test::free_port();
  std::unique_ptr<vip_proxy> proxy;

  explicit proxy_fixture(proxy_options opts = {}) {
    auto p = vip_proxy::start(opts, nullptr);
    DCOS_REQUIRE_OK(p);
    proxy = std::move(*p);
  }

  void serve(const std::vector<uint16_t>& backend_ports,
             std::string protocol = "tcp",
             const std::string& backend_host = "127.0.0.1") {
    auto table = std::make_shared<vip_table>();
    vip_entry e;
    e.protocol = protocol;
    e.ip = "127.0.0.1";
    e.port = vip_port;
    for (auto p : backend_ports) {
      vip_backend b;
      b.ip = backend_host;
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

  // The counters of the backend on `port`.
  backend_stats backend_on(uint16_t port) {
    for (auto& bs : stats().backends)
      if (bs.port == port)
        return bs;
    FAIL("no backend on port ", port);
    return {};
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
  proxy_options opts;
  SUBCASE("spliced") { opts.splice = true; }
  SUBCASE("copied") { opts.splice = false; }
  proxy_fixture f{opts};
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
  auto dead = f.backend_on(dead_port);
  CHECK(dead.connect_failures >= 2);
  CHECK(dead.connections == 0);
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

TEST_CASE("a connect that takes too long is given up and tried on another "
          "backend") {
  echo_backend a{"a"};
  // A backend whose accept queue is full: the kernel drops further SYNs, so
  // a connect to it hangs.
  int stuck = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(stuck, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(stuck, 0) == 0);
  auto stuck_port = test::detail::port_of(stuck);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in to = addr;
    to.sin_port = htons(stuck_port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    fillers.push_back(fd);
  }
  proxy_options opts;
  opts.connect_timeout = 200ms;
  opts.failures_to_down = 1;
  opts.down_for = 60s;
  proxy_fixture f{opts};
  f.serve({stuck_port, a.port()});
  for (int i = 0; i < 10; ++i) {
    auto [fd, who] = f.open();
    CHECK(who == "a");
    ::close(fd);
  }
  CHECK(f.stats().failures == 0);
  auto stuck_backend = f.backend_on(stuck_port);
  CHECK(stuck_backend.connect_failures >= 1);
  CHECK(stuck_backend.down);
  for (int fd : fillers)
    ::close(fd);
  ::close(stuck);
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

TEST_CASE("a backend on an agent named by a hostname is reached at its "
          "address") {
  echo_backend a{"a"};
  proxy_fixture f;
  f.serve({a.port()}, "tcp", "localhost");
  auto [fd, who] = f.open();
  CHECK(who == "a");
  ::close(fd);
  REQUIRE(f.stats().backends.size() == 1);
  CHECK(f.stats().backends[0].ip == "localhost");
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

TEST_CASE("100 MB through the VIP arrive byte for byte, spliced or copied") {
  echo_backend a{"a"};
  proxy_options opts;
  SUBCASE("spliced (--splice)") { opts.splice = true; }
  SUBCASE("copied (the default)") { opts.splice = false; }
  proxy_fixture f{opts};
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

TEST_CASE("UDP: a client's datagrams go to one backend, clients spread over "
          "all, and replies come from the VIP") {
  udp_backend a{"a"}, b{"b"}, c{"c"};
  proxy_options opts;
  opts.threads = 2; // a relay's handlers on a strand
  proxy_fixture f{opts};
  f.serve({a.port(), b.port(), c.port()}, "udp");
  CHECK(f.stats().listening);
  CHECK(f.stats().key == "udp://127.0.0.1:" + std::to_string(f.vip_port));
  std::map<std::string, int> seen;
  std::vector<std::unique_ptr<udp_client>> clients;
  for (int i = 0; i < 30; ++i) {
    clients.push_back(std::make_unique<udp_client>(f.vip_port));
    auto who = clients.back()->who("ping " + std::to_string(i));
    REQUIRE(!who.empty());
    seen[who]++;
    // A flow sticks to its backend.
    for (int j = 0; j < 3; ++j)
      CHECK(clients.back()->who("again " + std::to_string(j)) == who);
  }
  CHECK(seen.size() == 3);
  auto s = f.stats();
  CHECK(s.connections == 30);
  CHECK(s.active == 30);
  CHECK(s.failures == 0);
  CHECK(a.received() + b.received() + c.received() == 30 * 4);
  // A datagram as large as UDP carries passes whole.
  std::string big(65000, 'x');
  CHECK(clients[0]->ask(big).size() == big.size() + 2);
}

TEST_CASE("UDP: a backend that refuses fails its flows over with their "
          "datagram, and is marked down") {
  udp_backend a{"a"};
  auto dead_port = test::free_port(); // ICMP port unreachable
  proxy_options opts;
  opts.failures_to_down = 2;
  opts.down_for = 60s;
  proxy_fixture f{opts};
  f.serve({a.port(), dead_port}, "udp");
  for (int i = 0; i < 20; ++i) {
    udp_client client{f.vip_port};
    CHECK(client.who("q" + std::to_string(i)) == "a");
  }
  CHECK(f.stats().failures == 0);
  auto dead = f.backend_on(dead_port);
  CHECK(dead.connect_failures >= 2);
  CHECK(dead.down);
  CHECK(dead.bytes_in == 0);
}

TEST_CASE("UDP: a backend that leaves the table keeps its flow until the flow "
          "is idle") {
  udp_backend a{"a"}, b{"b"};
  proxy_options opts;
  opts.udp_idle = 300ms;
  proxy_fixture f{opts};
  f.serve({a.port(), b.port()}, "udp");
  udp_client client{f.vip_port};
  auto first = client.who("hello");
  REQUIRE(!first.empty());
  auto other = first == "a" ? "b" : "a";
  f.serve({first == "a" ? b.port() : a.port()}, "udp");
  CHECK(client.who("still") == first); // the flow runs on (drain)
  udp_client newcomer{f.vip_port};
  CHECK(newcomer.who("new") == other);
  // Idle past the timeout: both flows end, and the drained backend goes;
  // the next datagram starts a new flow on a backend in the table.
  CHECK(test::eventually(
    [&] {
      auto s = f.stats();
      return s.active == 0 && s.backends.size() == 1;
    },
    10s));
  CHECK(client.who("later") == other);
}

TEST_CASE("UDP: with no backend a datagram is dropped and counted") {
  proxy_fixture f;
  f.serve({}, "udp");
  udp_client client{f.vip_port};
  ::send(client.fd(), "x", 1, 0);
  CHECK(test::eventually([&] { return f.stats().failures == 1; }, 10s));
  CHECK(f.stats().active == 0);
}
