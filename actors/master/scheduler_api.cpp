#include "scheduler_api.hpp"

#include <chrono>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/api_encoding.hpp"
#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/type_bridge.hpp"

namespace dcos::kernel {

namespace {

using v1::scheduler::Call;
using v1::scheduler::Event;

constexpr auto master_timeout = std::chrono::seconds(30);
constexpr std::string_view stream_id_header = "Mesos-Stream-Id";

// Mesos' validation of a scheduler call before it is routed: the problem,
// or nothing. The type-specific content (offers, operations, task ids) is
// the master's to check; its verdicts arrive as events.
std::optional<std::string> validate(const Call& call) {
  if (call.type() == Call::UNKNOWN)
    return "Expecting 'type' to be present";
  if (call.type() == Call::SUBSCRIBE) {
    if (!call.has_subscribe())
      return "Expecting 'subscribe' to be present";
    if (call.subscribe().framework_info().id().value()
        != call.framework_id().value())
      return "'framework_id' differs from 'subscribe.framework_info.id'";
    return std::nullopt;
  }
  if (call.framework_id().value().empty())
    return "Expecting 'framework_id' to be present";
  auto expect = [](bool present, std::string_view field)
    -> std::optional<std::string> {
    if (present)
      return std::nullopt;
    return fmt::format("Expecting '{}' to be present", field);
  };
  switch (call.type()) {
    case Call::ACCEPT:
      return expect(call.has_accept(), "accept");
    case Call::DECLINE:
      return expect(call.has_decline(), "decline");
    case Call::KILL:
      return expect(call.has_kill(), "kill");
    case Call::SHUTDOWN:
      return expect(call.has_shutdown(), "shutdown");
    case Call::ACKNOWLEDGE:
      if (!call.has_acknowledge())
        return "Expecting 'acknowledge' to be present";
      if (call.acknowledge().uuid().size() != 16)
        return "'acknowledge.uuid' is not a UUID: expecting 16 bytes";
      return std::nullopt;
    case Call::RECONCILE:
      return expect(call.has_reconcile(), "reconcile");
    case Call::MESSAGE:
      return expect(call.has_message(), "message");
    case Call::ACCEPT_INVERSE_OFFERS:
      return expect(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case Call::DECLINE_INVERSE_OFFERS:
      return expect(call.has_decline_inverse_offers(),
                    "decline_inverse_offers");
    case Call::REQUEST:
      return expect(call.has_request(), "request");
    case Call::ACKNOWLEDGE_OPERATION_STATUS:
      if (!call.has_acknowledge_operation_status())
        return "Expecting 'acknowledge_operation_status' to be present";
      if (call.acknowledge_operation_status().uuid().size() != 16)
        return "'acknowledge_operation_status.uuid' is not a valid UUID: "
               "expecting 16 bytes";
      if (!call.acknowledge_operation_status().has_operation_id())
        return "Expecting 'acknowledge_operation_status.operation_id' to be "
               "present";
      return std::nullopt;
    case Call::RECONCILE_OPERATIONS:
      return expect(call.has_reconcile_operations(), "reconcile_operations");
    case Call::UPDATE_FRAMEWORK:
      if (!call.has_update_framework())
        return "Expecting 'update_framework' to be present";
      if (call.update_framework().framework_info().id().value()
          != call.framework_id().value())
        return "'framework_id' differs from "
               "'update_framework.framework_info.id'";
      return std::nullopt;
    default: // TEARDOWN, REVIVE, SUPPRESS: nothing more is required
      return std::nullopt;
  }
}

http_response bad_request(std::string_view message) {
  return json_error(400, message);
}

std::string new_stream_id() {
  // Stream ids only have to be unguessable and unique; they never enter an
  // actor, so the simulation's seeded randomness does not apply here.
  thread_local boost::uuids::random_generator generate;
  return boost::uuids::to_string(generate());
}

// Mesos' answer when a SUBSCRIBE is refused by the master.
http_response refusal(const caf::error& err) {
  if (code_of(err) == errc::conflict)
    return json_error(403, describe_reason(err)); // a removed framework
  return error_response(err);
}

} // namespace

void scheduler_api::connections::put(const std::string& framework_id,
                                     connection c) {
  std::lock_guard guard{mtx};
  by_framework[framework_id] = std::move(c);
}

std::optional<scheduler_api::connection>
scheduler_api::connections::find(const std::string& framework_id) {
  std::lock_guard guard{mtx};
  auto i = by_framework.find(framework_id);
  if (i == by_framework.end())
    return std::nullopt;
  return i->second;
}

void scheduler_api::connections::erase_stream(const std::string& stream_id) {
  std::lock_guard guard{mtx};
  for (auto i = by_framework.begin(); i != by_framework.end(); ++i)
    if (i->second.stream_id == stream_id) {
      by_framework.erase(i);
      return;
    }
}

void scheduler_api::connections::erase(const std::string& framework_id,
                                       const std::string& stream_id) {
  std::lock_guard guard{mtx};
  auto i = by_framework.find(framework_id);
  if (i != by_framework.end() && i->second.stream_id == stream_id)
    by_framework.erase(i);
}

scheduler_api::scheduler_api(caf::actor_system& sys) : sys_(&sys) {
}

void scheduler_api::handle(const master_actor& master,
                           const http_request& req, http_responder respond) {
  Call call;
  if (auto refused = parse_call(req, &call)) {
    respond(std::move(*refused));
    return;
  }
  if (auto problem = validate(call)) {
    respond(bad_request("Failed to validate scheduler::Call: " + *problem));
    return;
  }
  if (call.type() == Call::SUBSCRIBE)
    subscribe(master, req, call, std::move(respond));
  else
    this->call(master, req, call, std::move(respond));
}

void scheduler_api::subscribe(const master_actor& master,
                              const http_request& req, Call& call,
                              http_responder respond) {
  auto protobuf = answer_in_protobuf(req);
  if (!protobuf) {
    respond(not_acceptable());
    return;
  }
  if (!req.header(stream_id_header).empty()) {
    respond(bad_request(
      "Subscribe calls should not include the 'Mesos-Stream-Id' header"));
    return;
  }
  auto sink = std::make_shared<stream_sink>();
  auto stream_id = new_stream_id();
  http_scheduler_config cfg;
  cfg.master = master;
  cfg.subscribe = std::move(*call.mutable_subscribe());
  cfg.sink = sink;
  cfg.protobuf = *protobuf;
  // A call after the stream's end must not find the connection (the client
  // may post one the moment it reads the end).
  cfg.ended = [conns = connections_, stream_id] {
    conns->erase_stream(stream_id);
  };
  cfg.subscribed = [respond, sink, stream_id, protobuf = *protobuf,
                    conns = connections_](
                     const http_scheduler_actor& actor,
                     caf::expected<Event::Subscribed> subscribed) {
    if (!subscribed) {
      respond(refusal(subscribed.error()));
      return;
    }
    auto framework_id = subscribed->framework_id().value();
    // Known before the client can read SUBSCRIBED, so that its first call
    // finds the connection.
    conns->put(framework_id, {stream_id, actor});
    http_response ok;
    ok.content_type = protobuf ? protobuf_media_type : json_media_type;
    ok.headers.emplace_back(stream_id_header, stream_id);
    ok.stream = [sink, conns, framework_id, stream_id,
                 actor](std::shared_ptr<http_stream> stream) {
      stream->on_close([conns, framework_id, stream_id, actor] {
        conns->erase(framework_id, stream_id);
        caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      });
      sink->attach(std::move(stream));
    };
    respond(std::move(ok));
  };
  spawn_http_scheduler(*sys_, std::move(cfg));
}

void scheduler_api::call(const master_actor& master, const http_request& req,
                         Call& call, http_responder respond) {
  const auto& framework_id = call.framework_id().value();
  auto connection = connections_->find(framework_id);
  if (!connection) {
    // Not subscribed over HTTP here: Mesos tells apart a framework it does
    // not know (400) from one that is not subscribed now, or not over HTTP
    // (403). Only this refusal needs the master's view.
    v1::master::Call get;
    get.set_type(v1::master::Call::GET_FRAMEWORKS);
    ask(
      *sys_, master, master_timeout,
      [respond, framework_id](const v1::master::Response& r) {
        for (const auto& fw : r.get_frameworks().frameworks())
          if (fw.framework_info().id().value() == framework_id) {
            respond(json_error(403, fw.connected()
                                      ? "Framework is not connected via HTTP"
                                      : "Framework is not subscribed"));
            return;
          }
        respond(bad_request("Framework cannot be found"));
      },
      [respond](const caf::error& err) { respond(error_response(err)); },
      std::move(get));
    return;
  }
  auto stream_id = req.header(stream_id_header);
  if (stream_id.empty()) {
    respond(bad_request(
      "All non-subscribe calls should include the 'Mesos-Stream-Id' header"));
    return;
  }
  if (stream_id != connection->stream_id) {
    respond(bad_request(fmt::format(
      "The stream ID '{}' included in this request didn't match the stream "
      "ID currently associated with framework ID {}",
      stream_id, framework_id)));
    return;
  }
  if (call.type() == Call::UPDATE_FRAMEWORK) {
    // Answered with the outcome, as in Mesos: 200, or 400 with the reason.
    ask(
      *sys_, master, master_timeout,
      [respond](const v1::FrameworkInfo&) {
        http_response ok;
        ok.content_type.clear();
        respond(std::move(ok));
      },
      [respond](const caf::error& err) { respond(error_response(err)); },
      call.framework_id(), std::move(*call.mutable_update_framework()));
    return;
  }
  caf::anon_send(connection->actor, std::move(call));
  http_response accepted;
  accepted.status = 202;
  accepted.content_type.clear();
  respond(std::move(accepted));
}

} // namespace dcos::kernel
