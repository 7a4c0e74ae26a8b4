// The master's HTTP endpoints, served by daemon_runtime on dcos-master's
// --port: the actor endpoint for detectors, the state and metrics endpoints,
// the operator API (POST /api/v1, Mesos JSON or protobuf) and the scheduler
// API (POST /api/v1/scheduler, see scheduler_api.hpp). /health,
// /version and /flags come from the runtime.
//
// Each request is answered by a short-lived actor that asks the master and
// renders the answer, so neither the HTTP threads nor the master block. Two
// operator calls are the edge's own: GET_FLAGS (the daemon's flags) and
// LIST_FILES / READ_FILE, which it forwards, without blocking, to the agent
// whose sandbox the path names (its v1 API), answering as the master.
//
// The edge exists before the master (so that the master can be told the real
// port, with --port=0): until attach(), every endpoint answers 503, or,
// on a standby among several masters once set_leader() named the leader,
// 307 to the same path on the leader, as Mesos' standbys answer. GET
// /master/redirect answers 307 to the leader (this master, once attached).
//
// Thread-safety: attach() and the routes' handlers may run on any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "dcos/http_client.hpp"
#include "dcos/http_router.hpp"
#include "dcos/master_actor.hpp"
#include "scheduler_api.hpp"

namespace dcos::kernel {

struct master_http_config {
  std::string ip = "127.0.0.1"; // where the actor endpoint is announced
  // For /state and GET_FLAGS.
  std::vector<std::pair<std::string, std::string>> flags;
};

class master_http {
public:
  /// REQUIRES: `sys` outlives the routes' handlers.
  master_http(caf::actor_system& sys, master_http_config cfg);

  /// The master's routes, for daemon_runtime::serve.
  http_router routes() const;

  /// Serve for `master` from now on; `actor_port` is announced.
  /// `self_address` ("HOST:PORT") is where /master/redirect points then.
  void attach(master_actor master, uint16_t actor_port,
              std::string self_address = {});

  /// On a standby: the leader's HTTP address ("HOST:PORT"; empty: none is
  /// known), where requests are redirected.
  void set_leader(std::string address);

private:
  struct target {
    struct view {
      master_actor master; // none until attach()
      uint16_t actor_port = 0;
      std::string leader;  // HTTP address of the leader, "" if unknown
    };

    view get() {
      std::lock_guard guard{mtx};
      return now;
    }

    std::mutex mtx;
    view now;
  };

  caf::actor_system* sys_;
  master_http_config cfg_;
  std::shared_ptr<target> target_ = std::make_shared<target>();
  std::shared_ptr<scheduler_api> scheduler_api_;
  std::shared_ptr<http_client> client_; // to the agents (LIST_FILES, ...)
};

} // namespace dcos::kernel
