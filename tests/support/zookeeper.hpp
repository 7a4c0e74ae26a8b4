// A real ZooKeeper server for integration tests (dcos/zookeeper_server.hpp)
// on a free loopback port, with its data in a scratch directory: started by
// the test that needs it and always stopped.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include <unistd.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/zk_url.hpp"
#include "dcos/zookeeper_server.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"

namespace dcos::test {

/// A session timeout short enough for tests of session loss.
constexpr auto test_zk_session = std::chrono::seconds(2);

/// `text` as a zk_url; fails the test if it is not one.
inline zk_url parse_test_zk_url(const std::string& text) {
  auto url = parse_zk_url(text, "test");
  DCOS_REQUIRE_OK(url);
  return *url;
}

/// ZooKeeper's nice value in tests: ahead of everything else when the tests
/// run as root (CI does). On a real cluster it has machines of its own; here
/// it shares two cores with launch storms and with the tests meson runs
/// beside, and a server starved for seconds expires the masters' sessions:
/// each then steps down as it must, and the test has no supervisor to
/// restart it.
inline int test_zk_nice() {
  return ::geteuid() == 0 ? -10 : 0;
}

class test_zookeeper {
public:
  test_zookeeper() {
    zookeeper_options opts;
    opts.dir = dir_.path;
    opts.port = free_port();
    opts.nice = test_zk_nice();
    auto zk = zookeeper_server::start(opts);
    DCOS_REQUIRE_OK(zk);
    server_.emplace(std::move(*zk));
  }

  std::string servers() const { return server_->servers(); }
  std::string url(const std::string& path) const { return server_->url(path); }

  void restart() {
    auto err = server_->restart();
    REQUIRE_MESSAGE(!err, describe(err));
  }

private:
  scratch_dir dir_; // outlives the server (declared first)
  std::optional<zookeeper_server> server_;
};

/// Three ZooKeeper servers on loopback forming one ensemble (a quorum is
/// two): each can be stopped and started again on its data.
class test_zookeeper_ensemble {
public:
  static constexpr size_t size = 3;

  test_zookeeper_ensemble() {
    auto ports = free_ports(3 * size);
    std::vector<zookeeper_peer> peers;
    for (size_t i = 0; i < size; ++i)
      peers.push_back({static_cast<int>(i + 1), "127.0.0.1", ports[3 * i],
                       ports[3 * i + 1], ports[3 * i + 2]});
    for (size_t i = 0; i < size; ++i) {
      auto& opts = options_[i];
      opts.dir = dirs_[i].path;
      opts.port = peers[i].client_port;
      opts.ensemble = peers;
      opts.id = peers[i].id;
      opts.nice = test_zk_nice();
      start(i);
    }
  }

  /// "IP:PORT,IP:PORT,IP:PORT" for zk:// URLs.
  std::string servers() const {
    std::string out;
    for (const auto& opts : options_)
      out += (out.empty() ? "" : ",") + fmt::format("{}:{}", opts.ip,
                                                    opts.port);
    return out;
  }
  std::string url(const std::string& path) const {
    return "zk://" + servers() + path;
  }

  void stop(size_t i) { servers_[i].reset(); }
  void start(size_t i) {
    auto zk = zookeeper_server::start(options_[i]);
    DCOS_REQUIRE_OK(zk);
    servers_[i].emplace(std::move(*zk));
  }

private:
  std::array<scratch_dir, size> dirs_; // outlive the servers (first)
  std::array<zookeeper_options, size> options_;
  std::array<std::optional<zookeeper_server>, size> servers_;
};

} // namespace dcos::test
