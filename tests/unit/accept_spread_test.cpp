// The daemons' workaround for CAF 0.17's descriptor reuse: accepted sockets
// come from a rotating window, so a closed connection's descriptor is not
// handed to the next one.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "dcos/accept_spread.hpp"


namespace {

struct listener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};

  listener() {
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    REQUIRE(::listen(fd, 8) == 0);
  }
  ~listener() { ::close(fd); }

  // Connects a client and accepts it; returns {client, accepted}.
  std::pair<int, int> connect_one() {
    int client = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
    return {client, ::accept(fd, nullptr, nullptr)};
  }
};

} // namespace

TEST_CASE("accepted sockets rotate through a window above the low ones") {
  listener l;
  auto before = l.connect_one(); // the window is off until enabled
  CHECK(before.second >= 0);
  CHECK(before.second < 1024);
  ::close(before.first);
  ::close(before.second);
  auto line = dcos::enable_accept_spread();
  INFO(line);
  REQUIRE(line.find("accepted connections get descriptors") == 0);
  int last = -1;
  for (int i = 0; i < 5; ++i) {
    auto [client, accepted] = l.connect_one();
    CHECK(accepted >= 1024);
    CHECK(accepted != last); // a closed descriptor does not come back at once
    // It is a working socket.
    CHECK(::write(client, "x", 1) == 1);
    char c = 0;
    CHECK(::read(accepted, &c, 1) == 1);
    CHECK(c == 'x');
    last = accepted;
    ::close(client);
    ::close(accepted);
  }
}
