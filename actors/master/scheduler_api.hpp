// POST /api/v1/scheduler: the Mesos v1 scheduler API over HTTP, so that a
// framework written in any language drives this master as it drives Mesos.
//
// SUBSCRIBE answers 200 with a chunked stream of RecordIO records (one
// Event each, JSON or protobuf as the Accept header asks) and a fresh
// Mesos-Stream-Id header; each subscription is an http_scheduler actor,
// which the master treats as any other framework. Every other call must
// carry that stream id, and is answered 202 once handed to the framework's
// actor; what it does then arrives as events. UPDATE_FRAMEWORK is the
// exception, as in Mesos: 200 once the master has made the change. Refusals follow Mesos:
//  - 400: a body that does not parse, a call that fails validation (type,
//    framework_id and the call's own field present), a stream id on
//    SUBSCRIBE, none or another connection's on any other call, an
//    unknown framework;
//  - 403: a framework that is known but not subscribed over HTTP now;
//  - 406 / 415: an Accept / Content-Type that is neither JSON nor protobuf;
//  - 4xx/503 for a SUBSCRIBE the master refuses (invalid FrameworkInfo,
//    a removed framework, a master still recovering), with its reason.
//
// Thread-safety: handle() may be called from any thread, concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "dcos/http_server.hpp"
#include "dcos/master_actor.hpp"
#include "http_scheduler.hpp"

namespace dcos::kernel {

class scheduler_api {
public:
  /// REQUIRES: `sys` outlives every request handled.
  explicit scheduler_api(caf::actor_system& sys);

  /// Answers one request to the scheduler API of `master`.
  void handle(const master_actor& master, const http_request& req,
              http_responder respond);

private:
  // The frameworks subscribed over HTTP now, by framework id.
  struct connection {
    std::string stream_id;
    http_scheduler_actor actor;
  };
  struct connections {
    std::mutex mtx;
    std::map<std::string, connection> by_framework;

    void put(const std::string& framework_id, connection c);
    std::optional<connection> find(const std::string& framework_id);
    /// Forgets the framework's connection if it is still `stream_id`'s (a
    /// newer subscription of the same framework stays).
    void erase(const std::string& framework_id, const std::string& stream_id);
    /// Forgets the connection of `stream_id`, whichever framework's it is.
    void erase_stream(const std::string& stream_id);
  };

  void subscribe(const master_actor& master, const http_request& req,
                 v1::scheduler::Call& call, http_responder respond);
  void call(const master_actor& master, const http_request& req,
            v1::scheduler::Call& call, http_responder respond);

  caf::actor_system* sys_;
  std::shared_ptr<connections> connections_
    = std::make_shared<connections>();
};

} // namespace dcos::kernel
