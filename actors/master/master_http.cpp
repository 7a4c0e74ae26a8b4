#include "master_http.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/version.hpp"
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

http_response method_not_allowed(std::string_view allowed) {
  auto r = json_error(405, fmt::format("use {}", allowed));
  r.headers.emplace_back("Allow", std::string{allowed});
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
  if (req.method != "POST") {
    respond(method_not_allowed("POST"));
    return;
  }
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

void metrics(caf::actor_system& sys, const master_actor& master,
             bool prometheus, http_responder respond) {
  Call call;
  call.set_type(Call::GET_METRICS);
  ask(
    sys, master, master_timeout,
    [respond, prometheus](const Response& r) {
      const auto& values = r.get_metrics().metrics();
      if (prometheus) {
        http_response out;
        out.content_type = "text/plain; version=0.0.4";
        out.body = prometheus_text(values);
        respond(std::move(out));
        return;
      }
      json_writer w;
      w.begin_object();
      for (const auto& m : values)
        w.field(m.name(), m.value());
      w.end_object();
      respond(json_ok(w.take()));
    },
    [respond](const caf::error& err) { respond(error_response(err)); },
    std::move(call));
}

} // namespace

std::string prometheus_text(
  const google::protobuf::RepeatedPtrField<v1::master::Metric>& metrics) {
  std::string out;
  for (const auto& m : metrics) {
    std::string name;
    for (char c : m.name())
      name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    fmt::format_to(std::back_inserter(out), "# TYPE {} gauge\n{} {}\n", name,
                   name, m.value());
  }
  return out;
}

void master_http::attach(master_actor master, uint16_t actor_port) {
  std::lock_guard guard{target_->mtx};
  target_->master = std::move(master);
  target_->actor_port = actor_port;
}

caf::expected<std::unique_ptr<master_http>>
master_http::start(caf::actor_system& sys, master_http_config cfg) {
  auto edge = std::unique_ptr<master_http>(new master_http);
  auto target = edge->target_;
  auto handler = [&sys, target, cfg](http_request req,
                                     http_responder respond) {
    master_actor master;
    uint16_t actor_port = 0;
    {
      std::lock_guard guard{target->mtx};
      master = target->master;
      actor_port = target->actor_port;
    }
    if (!master) {
      respond(json_error(503, "the master is starting"));
      return;
    }
    const auto& path = req.path;
    bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/api/v1") {
      operator_api(sys, master, req, std::move(respond));
      return;
    }
    static const std::vector<std::string> get_paths
      = {"/health",        "/version",          "/flags",
         "/master/state",  "/master/state.json", "/state",
         "/state.json",    "/metrics/snapshot", "/metrics",
         "/master/actor_endpoint"};
    if (std::find(get_paths.begin(), get_paths.end(), path)
        == get_paths.end()) {
      respond(json_error(404, fmt::format("no endpoint {}", path)));
      return;
    }
    if (!get) {
      respond(method_not_allowed("GET"));
      return;
    }
    if (path == "/health") {
      http_response r;
      r.content_type = "text/plain";
      respond(std::move(r));
    } else if (path == "/version") {
      json_writer w;
      w.begin_object().field("version", dcos::version).end_object();
      respond(json_ok(w.take()));
    } else if (path == "/flags") {
      json_writer w;
      w.begin_object().key("flags").begin_object();
      for (const auto& [name, value] : cfg.flags)
        w.field(name, value);
      w.end_object().end_object();
      respond(json_ok(w.take()));
    } else if (path == "/master/actor_endpoint") {
      v1::Address address;
      address.set_ip(cfg.ip);
      address.set_port(actor_port);
      respond(json_ok(to_json(address)));
    } else if (path == "/metrics/snapshot" || path == "/metrics") {
      metrics(sys, master, path == "/metrics", std::move(respond));
    } else {
      state(sys, master, cfg.flags, std::move(respond));
    }
  };
  auto server = http_server::start(cfg.ip, cfg.port, std::move(handler),
                                   cfg.threads);
  if (!server)
    return server.error();
  edge->server_ = std::move(*server);
  return edge;
}

} // namespace dcos::kernel
