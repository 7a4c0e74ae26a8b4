// The master's HTTP edge (dcos-master's --port): health, version, the actor
// endpoint for detectors, the state and metrics endpoints, and the operator
// API (POST /api/v1, Mesos JSON or protobuf).
//
// Each request is answered by a short-lived actor that asks the master and
// renders the answer, so neither the HTTP threads nor the master block.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "dcos/http_server.hpp"
#include "dcos/master_actor.hpp"

namespace dcos::kernel {

struct master_http_config {
  std::string ip = "127.0.0.1";
  uint16_t port = 5050;      // 0: any free port (see master_http::port)
  size_t threads = 2;
  std::vector<std::pair<std::string, std::string>> flags; // for /flags
};

/// The edge, bound before the master exists so that the master can be told
/// the real port (with --port=0): requests get 503 until attach().
class master_http {
public:
  static caf::expected<std::unique_ptr<master_http>>
  start(caf::actor_system& sys, master_http_config cfg);

  uint16_t port() const noexcept { return server_->port(); }

  /// Serve for `master` from now on; `actor_port` is announced.
  void attach(master_actor master, uint16_t actor_port);

  void stop() { server_->stop(); }

private:
  struct target {
    std::mutex mtx;
    master_actor master;
    uint16_t actor_port = 0;
  };

  std::shared_ptr<target> target_ = std::make_shared<target>();
  std::unique_ptr<http_server> server_;
};

/// Prometheus text exposition of flat metrics ("master/tasks_running" is
/// written as master_tasks_running).
std::string prometheus_text(
  const google::protobuf::RepeatedPtrField<v1::master::Metric>& metrics);

} // namespace dcos::kernel
