// A real ZooKeeper server for integration tests: Debian's `zookeeper`
// package, standalone on a free loopback port, with its data in a scratch
// directory. Started by the test that needs it and always stopped.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "dcos/subprocess.hpp"
#include "dcos/zk_url.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"

namespace dcos::test {

constexpr const char* zookeeper_jar = "/usr/share/java/zookeeper.jar";

/// A session timeout short enough for tests of session loss.
constexpr auto test_zk_session = std::chrono::seconds(2);

/// `text` as a zk_url; fails the test if it is not one.
inline zk_url parse_test_zk_url(const std::string& text) {
  auto url = parse_zk_url(text, "test");
  DCOS_REQUIRE_OK(url);
  return *url;
}

class zookeeper_server {
public:
  /// Starts the server and waits (up to 60 s: the JVM is slow to start)
  /// until it accepts connections. Sessions may last 1 to 60 s.
  zookeeper_server() : port_(free_port()) {
    write_file(dir_ / "zoo.cfg",
               "tickTime=500\n"
               "minSessionTimeout=1000\n"
               "maxSessionTimeout=60000\n"
               "dataDir=" + dir_.path + "/data\n"
               "clientPortAddress=127.0.0.1\n"
               "clientPort=" + std::to_string(port_) + "\n"
               "admin.enableServer=false\n");
    start();
  }

  /// "127.0.0.1:PORT", for zk:// URLs.
  std::string servers() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  /// "zk://127.0.0.1:PORT" + `path`.
  std::string url(const std::string& path) const {
    return "zk://" + servers() + path;
  }

  /// Freezes and thaws the server (SIGSTOP/SIGCONT): its clients lose the
  /// connection, and their sessions expire once it runs again.
  void pause() { process_->kill(SIGSTOP); }
  void resume() { process_->kill(SIGCONT); }

  /// Stops the server (its data stays) and starts it again.
  void restart() {
    process_->kill(SIGCONT);
    process_->terminate();
    start();
  }

  ~zookeeper_server() {
    if (process_) {
      process_->kill(SIGCONT);
      process_->terminate();
    }
  }

private:
  void start() {
    subprocess_options opts;
    opts.argv = {"java", "-Xmx256m", "-XX:+UseSerialGC",
                 "-XX:TieredStopAtLevel=1", "-cp", zookeeper_jar,
                 "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                 dir_ / "zoo.cfg"};
    opts.stdout_path = dir_ / "zookeeper.log";
    opts.stderr_path = dir_ / "zookeeper.log";
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    process_.emplace(std::move(*p));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!accepts()) {
      REQUIRE_MESSAGE(!process_->poll().has_value(),
                      "ZooKeeper exited: " << read_file(dir_ / "zookeeper.log"));
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "ZooKeeper did not start in 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  bool accepts() const {
    int fd = connect_loopback(port_);
    if (fd >= 0)
      ::close(fd);
    return fd >= 0;
  }

  scratch_dir dir_;
  uint16_t port_;
  std::optional<subprocess> process_;
};

} // namespace dcos::test
