// How a service daemon (dcos-marathon, dcos-metronome) runs its service:
// alone on a store of its own (--work_dir), or as one instance among several
// (--zk), as Marathon's and Metronome's high availability work.
//
// Among several, every instance contends in a ZooKeeper election at
// PATH/leader; the leader runs the service on its state at PATH/state, and
// the standbys forward their requests to it (leader_proxy.hpp).
//
// Once elected, the instance starts the service on the store under
// PATH/state, fenced by its own membership (so that a deposed leader can
// never write over its successor), waits until the service has loaded the
// state, and only then serves the service's routes. The new leader fails
// over to the framework id in the store and reconciles its tasks, as a
// restarted service does.
//
// An instance whose candidacy ends (its session expired, ZooKeeper stayed
// out of reach for the session timeout, another member leads after it led,
// or the service stopped) exits the process with status 1 at once, as
// Marathon does: from that moment another instance may lead. Its supervisor
// restarts it as a standby. (A leader told to abdicate shuts down in order:
// its session ends and the next instance leads.)
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/flags.hpp>
#include <dcos/http_server.hpp>
#include <dcos/leader_proxy.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/zk_url.hpp>

namespace dcos {

/// Called once with the routes of a service that has loaded its state, or
/// with the reason it could not (it ended).
using service_ready = std::function<void(caf::expected<http_handler>)>;

/// Starts the service on `store` and answers its actor, whose end ends the
/// service's run; calls `ready` once, from any thread.
using service_start = std::function<caf::actor(
  caf::actor_system& sys, store_actor store, service_ready ready)>;

struct service_leadership_config {
  std::string service;      // its logger's name: "marathon"
  zk_url zk;                // the election at PATH/leader, state at PATH/state
  caf::timespan session_timeout = default_zk_session_timeout;
  service_start start;
};

/// Spawns the candidacy; ending it ends the service and its store.
/// REQUIRES: `proxy` outlives the actor; every field is set.
caf::actor spawn_service_leadership(caf::actor_system& sys,
                                    service_leadership_config cfg,
                                    leader_proxy& proxy);

/// Where a service daemon keeps its state: --work_dir (alone) or --zk
/// (among several), with --zk_session_timeout.
struct service_state_flags {
  std::string work_dir;
  std::optional<zk_url> zk;
  uint64_t zk_session_timeout_ms = 10000; // as Marathon's and Metronome's

  /// Declares the three flags on `f`; `title` ("Marathon") and `contents`
  /// ("apps, tasks, deployments, framework id") go into their help.
  void add_to(flags& f, const std::string& title, const std::string& contents);

  /// After parsing: the message naming the bad flag (for usage_error()),
  /// if any: exactly one of --work_dir and --zk, a positive timeout.
  std::optional<std::string> check() const;
};

/// How a service daemon is a framework: --master, --failover_timeout and
/// --seed, as Marathon, Metronome and dcos-service take them.
struct framework_flags {
  std::string master = "127.0.0.1:5050";
  double failover_timeout_s; // seconds; the daemon's default
  uint64_t seed = 0;         // random unless --seed is given
  master_location where;     // --master, once check() parsed it

  explicit framework_flags(double default_failover_timeout_s);

  /// Declares the three flags on `f`; `title` ("Marathon") goes into their
  /// help.
  void add_to(flags& f, const std::string& title);

  /// After parsing: parses --master into `where`; the message naming the
  /// bad flag (for usage_error()), if any.
  std::optional<std::string> check();
};

/// How a service daemon runs its service.
struct service_daemon_config {
  std::string title;            // in messages: "Marathon"
  std::string service;          // its logger's name: "marathon"
  service_state_flags state;
  uint16_t port = 0;            // HTTP
  service_start start;
};

/// The rest of a service daemon's main(): runs the service alone on a file
/// store under `work_dir` (served once its state is loaded, so that the
/// first request finds it), or contends among several with `zk`; serves
/// `proxy` on `port`, announces it, and waits for SIGTERM/SIGINT. A service
/// that ends on its own (the master refused it, its state is unreadable)
/// ends the daemon too, so that a supervisor sees it. Answers the exit code
/// (0 after a signal; 1 if it could not start or the service ended).
/// REQUIRES: block_termination_signals() was called first in main().
int run_service_daemon(daemon_runtime& d, caf::actor_system& sys,
                       leader_proxy& proxy, service_daemon_config cfg);

} // namespace dcos
