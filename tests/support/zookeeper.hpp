// A real ZooKeeper server for integration tests (dcos/zookeeper_server.hpp)
// on a free loopback port, with its data in a scratch directory: started by
// the test that needs it and always stopped.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <doctest/doctest.h>

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

class test_zookeeper {
public:
  test_zookeeper() {
    zookeeper_options opts;
    opts.dir = dir_.path;
    opts.port = free_port();
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

} // namespace dcos::test
