#include "master_http.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/metrics.hpp"
#include "state_json.hpp"

namespace dcos::kernel {

namespace {

using v1::master::Call;
using v1::master::Response;

constexpr auto master_timeout = std::chrono::seconds(30);

http_response json_ok(std::string body, unsigned status = 200) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool media_type_is(std::string_view header, std::string_view type) {
  auto semi = header.find(';');
  auto base = header.substr(0, semi);
  while (!base.empty() && base.back() == ' ')
    base.remove_suffix(1);
  return base == type;
}

// Answers that carry no body in Mesos: the call was applied.
unsigned empty_answer_status(Call::Type type) {
  switch (type) {
    case Call::RESERVE_RESOURCES:
    case Call::UNRESERVE_RESOURCES:
      return 202;
    default:
      return 200;
  }
}

void operator_api(caf::actor_system& sys, const master_actor& master,
                  const http_request& req, http_responder respond) {
  auto content_type = req.header("content-type");
  bool protobuf = media_type_is(content_type, "application/x-protobuf");
  if (!protobuf && !media_type_is(content_type, "application/json")) {
    respond(json_error(415, "Content-Type must be application/json or "
                            "application/x-protobuf"));
    return;
  }
  auto accept = req.header("accept");
  bool answer_protobuf = protobuf
                           ? !media_type_is(accept, "application/json")
                           : media_type_is(accept, "application/x-protobuf");
  if (!accept.empty() && !media_type_is(accept, "*/*")
      && !media_type_is(accept, "application/json")
      && !media_type_is(accept, "application/x-protobuf")) {
    respond(json_error(406, "Accept must allow application/json or "
                            "application/x-protobuf"));
    return;
  }
  Call call;
  if (protobuf) {
    if (!call.ParseFromString(req.body)) {
      respond(json_error(400, "request body: not a valid "
                              "dcos.v1.master.Call protobuf"));
      return;
    }
  } else if (auto err = from_json(req.body, &call, "request body")) {
    respond(json_error(400, describe_reason(err)));
    return;
  }
  if (call.type() == Call::UNKNOWN) {
    respond(json_error(400, "type: missing or unknown call type"));
    return;
  }
  auto type = call.type();
  ask(
    sys, master, master_timeout,
    [respond, answer_protobuf, type](const Response& response) {
      if (response.type() == Response::UNKNOWN) {
        http_response r;
        r.status = empty_answer_status(type);
        r.content_type = "text/plain";
        respond(std::move(r));
        return;
      }
      http_response r;
      if (answer_protobuf) {
        r.content_type = "application/x-protobuf";
        r.body = response.SerializeAsString();
      } else {
        r.body = to_json(response);
      }
      respond(std::move(r));
    },
    [respond](const caf::error& err) { respond(error_response(err)); },
    std::move(call));
}

void state(caf::actor_system& sys, const master_actor& master,
           std::vector<std::pair<std::string, std::string>> flags,
           http_responder respond) {
  Call get_state;
  get_state.set_type(Call::GET_STATE);
  auto on_error = [respond](const caf::error& err) {
    respond(error_response(err));
  };
  ask(
    sys, master, master_timeout,
    [&sys, master, flags, respond, on_error](const Response& state) {
      Call get_master;
      get_master.set_type(Call::GET_MASTER);
      ask(
        sys, master, master_timeout,
        [state, flags, respond](const Response& m) {
          respond(json_ok(legacy_state_json(state.get_state(),
                                            m.get_master(), flags)));
        },
        on_error, std::move(get_master));
    },
    on_error, std::move(get_state));
}

} // namespace

master_http::master_http(caf::actor_system& sys, master_http_config cfg)
  : sys_(&sys), cfg_(std::move(cfg)) {
}

void master_http::attach(master_actor master, uint16_t actor_port) {
  std::lock_guard guard{target_->mtx};
  target_->now = {std::move(master), actor_port};
}

http_router master_http::routes() const {
  // Every route needs the master: until it exists, 503.
  using with_master = std::function<void(const http_request&, http_responder,
                                         const target::view&)>;
  auto guarded = [target = target_](with_master handler) {
    return [target, handler](const http_request& req, http_responder respond) {
      auto now = target->get();
      if (!now.master) {
        respond(json_error(503, "the master is starting"));
        return;
      }
      handler(req, std::move(respond), now);
    };
  };
  auto& sys = *sys_;
  auto cfg = cfg_;
  http_router routes;
  routes.post("/api/v1",
              guarded([&sys](const http_request& req, http_responder respond,
                             const target::view& now) {
                operator_api(sys, now.master, req, std::move(respond));
              }));
  auto state_route = guarded([&sys, cfg](const http_request&,
                                         http_responder respond,
                                         const target::view& now) {
    state(sys, now.master, cfg.flags, std::move(respond));
  });
  for (const char* path :
       {"/master/state", "/master/state.json", "/state", "/state.json"})
    routes.get(path, state_route);
  routes.get("/master/actor_endpoint",
             guarded([cfg](const http_request&, http_responder respond,
                           const target::view& now) {
               v1::Address address;
               address.set_ip(cfg.ip);
               address.set_port(now.actor_port);
               respond(json_ok(to_json(address)));
             }));
  route_metrics(routes, [&sys, target = target_](auto done) {
    auto now = target->get();
    if (!now.master) {
      done(make_error(errc::unavailable, "the master is starting"));
      return;
    }
    Call call;
    call.set_type(Call::GET_METRICS);
    ask(
      sys, now.master, master_timeout,
      [done](const Response& r) { done(r.get_metrics()); },
      [done](const caf::error& err) { done(err); }, std::move(call));
  });
  return routes;
}

} // namespace dcos::kernel
