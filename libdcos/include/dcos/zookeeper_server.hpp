// A ZooKeeper server of our own (Debian's `zookeeper` package, standalone or
// one member of an ensemble), for tools and tests that need one: `dcos up
// --masters=3` and the integration tests. Never for actors (a process, as
// subprocess.hpp says).
//
// Its configuration and data live in the directory it is given; it listens
// on the given address only. The destructor stops it (the data stays).
//
// Thread-safety: one object per thread, as subprocess.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include <dcos/subprocess.hpp>

namespace dcos {

/// One server of an ensemble, as every member's configuration names it.
struct zookeeper_peer {
  int id = 0; // 1..255, unique in the ensemble
  std::string ip = "127.0.0.1";
  uint16_t client_port = 0;
  uint16_t quorum_port = 0;   // followers to the leader
  uint16_t election_port = 0; // leader election among the servers
};

struct zookeeper_options {
  std::string dir;              // zoo.cfg, data/ and zookeeper.log go here
  std::string ip = "127.0.0.1"; // where clients connect
  uint16_t port = 2181;
  // Sessions may last from min to max (ZooKeeper's own bounds).
  std::chrono::milliseconds min_session_timeout = std::chrono::seconds(1);
  std::chrono::milliseconds max_session_timeout = std::chrono::seconds(60);
  // An ensemble member: every member (this one too, with ip and port as
  // above) and this one's id. Empty: a standalone server.
  std::vector<zookeeper_peer> ensemble;
  int id = 0;
  // The JVM's nice(1) value. Negative (root only) puts it ahead of the
  // host's other work: on a real cluster ZooKeeper has machines of its own,
  // and one sharing two cores with a launch storm answers too late for
  // short sessions.
  int nice = 0;
};

class zookeeper_server {
public:
  /// Starts the server and waits up to `ready_within` (the JVM is slow to
  /// start) until it accepts connections (an ensemble member serves
  /// requests once a quorum of members runs). Fails naming what is missing (no
  /// Java, no ZooKeeper package) or what the server said.
  static caf::expected<zookeeper_server>
  start(zookeeper_options opts,
        std::chrono::milliseconds ready_within = std::chrono::seconds(60));

  zookeeper_server(zookeeper_server&& other) noexcept;
  zookeeper_server& operator=(zookeeper_server&& other) noexcept;
  ~zookeeper_server();

  /// "IP:PORT", for zk:// URLs.
  std::string servers() const;

  /// "zk://IP:PORT" + `path`.
  std::string url(const std::string& path) const;

  /// The log it writes.
  std::string log_path() const;

  /// Stops and starts it again on the same data.
  caf::error restart();

  /// Freezes and thaws it (SIGSTOP/SIGCONT): its clients lose the
  /// connection, and their sessions expire once it runs again.
  void pause();
  void resume();

  /// Stops it (also done by the destructor).
  void stop();

  /// True while it runs.
  bool running();

private:
  explicit zookeeper_server(zookeeper_options opts) : opts_(std::move(opts)) {}
  caf::error launch(std::chrono::milliseconds ready_within);

  zookeeper_options opts_;
  std::optional<subprocess> process_;
};

} // namespace dcos
