#include "master_http.hpp"

#include <optional>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/json.hpp"
#include "dcos/metrics.hpp"
#include "dcos/api_encoding.hpp"
#include "operator_stream.hpp"
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

// Answers that carry no body in Mesos: the call was applied.
unsigned empty_answer_status(Call::Type type) {
  switch (type) {
    case Call::RESERVE_RESOURCES:
    case Call::UNRESERVE_RESOURCES:
    case Call::CREATE_VOLUMES:
    case Call::DESTROY_VOLUMES:
    case Call::GROW_VOLUME:
    case Call::SHRINK_VOLUME:
      return 202;
    default:
      return 200;
  }
}

// SUBSCRIBE: 200 and a RecordIO stream of events once the master took the
// subscription; its refusal (503 while it recovers) otherwise.
void subscribe(caf::actor_system& sys, const master_actor& master,
               bool protobuf, http_responder respond) {
  auto sink = std::make_shared<stream_sink>();
  operator_stream_config cfg;
  cfg.master = master;
  cfg.sink = sink;
  cfg.protobuf = protobuf;
  cfg.subscribed = [respond, sink, protobuf](
                     const master_subscriber_actor& actor,
                     const caf::error& err) {
    if (err) {
      respond(error_response(err));
      return;
    }
    http_response ok;
    ok.content_type = protobuf ? protobuf_media_type : json_media_type;
    ok.stream = [sink, actor](std::shared_ptr<http_stream> stream) {
      // The reader went away (or fell too far behind): the actor ends, and
      // the master forgets it.
      stream->on_close(
        [actor] { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); });
      sink->attach(std::move(stream));
    };
    respond(std::move(ok));
  };
  spawn_operator_stream(sys, std::move(cfg));
}

http_response encoded(const Response& response, bool protobuf) {
  http_response r;
  r.content_type = protobuf ? protobuf_media_type : json_media_type;
  r.body = encode_answer(response, protobuf);
  return r;
}

// GET_FLAGS: the master's flags, as GET /flags lists them.
Response flags_answer(
  const std::vector<std::pair<std::string, std::string>>& flags) {
  Response out;
  out.set_type(Response::GET_FLAGS);
  for (const auto& [name, value] : flags) {
    auto& flag = *out.mutable_get_flags()->add_flags();
    flag.set_name(name);
    flag.set_value(value);
  }
  return out;
}

// The agent whose sandbox holds `path`: the id after "slaves/" in the
// agents' (Mesos') layout, WORK_DIR/slaves/AGENT_ID[/frameworks/...].
std::optional<std::string> sandbox_agent(const std::string& path) {
  constexpr std::string_view marker = "/slaves/";
  for (auto at = path.find(marker); at != std::string::npos;
       at = path.find(marker, at + 1)) {
    auto start = at + marker.size();
    auto end = path.find('/', start);
    auto id = path.substr(start, end == std::string::npos ? std::string::npos
                                                          : end - start);
    if (!id.empty()
        && (end == std::string::npos
            || path.compare(end, 12, "/frameworks/") == 0
            || path.compare(end, std::string::npos, "/frameworks") == 0))
      return id;
  }
  return std::nullopt;
}

// LIST_FILES and READ_FILE: the agent named by the path answers (its own
// v1 API, in protobuf), as if the master did; its refusals (404 for a
// missing file, 400 for a path outside its work directory) pass through.
void agent_files(caf::actor_system& sys, const master_actor& master,
                 std::shared_ptr<http_client> client, const Call& call,
                 bool protobuf, http_responder respond) {
  bool list = call.type() == Call::LIST_FILES;
  const auto& path = list ? call.list_files().path() : call.read_file().path();
  const char* field = list ? "list_files.path" : "read_file.path";
  auto agent_id = sandbox_agent(path);
  if (!agent_id) {
    respond(json_error(404, fmt::format("{}: '{}' is not in an agent's "
                                        "sandbox (WORK_DIR/slaves/AGENT_ID/"
                                        "...)",
                                        field, path)));
    return;
  }
  v1::agent::Call forward;
  if (list) {
    forward.set_type(v1::agent::Call::LIST_FILES);
    forward.mutable_list_files()->set_path(path);
  } else {
    forward.set_type(v1::agent::Call::READ_FILE);
    auto& rf = *forward.mutable_read_file();
    rf.set_path(path);
    rf.set_offset(call.read_file().offset());
    if (call.read_file().has_length())
      rf.set_length(call.read_file().length());
  }
  Call get_agents;
  get_agents.set_type(Call::GET_AGENTS);
  ask(
    sys, master, master_timeout,
    [client, forward, list, protobuf, respond, field,
     id = *agent_id](const Response& agents) {
      const Response::GetAgents::Agent* agent = nullptr;
      for (const auto& a : agents.get_agents().agents())
        if (a.agent_info().id().value() == id)
          agent = &a;
      if (agent == nullptr) {
        respond(json_error(404, fmt::format("{}: agent {} is not registered",
                                            field, id)));
        return;
      }
      auto at = agent->pid().find('@');
      auto where = parse_host_port(
        at == std::string::npos ? agent->pid() : agent->pid().substr(at + 1),
        5051);
      if (!where) {
        respond(error_response(where.error()));
        return;
      }
      http_call c;
      c.method = "POST";
      c.host = where->first;
      c.port = where->second;
      c.target = "/api/v1";
      c.body = forward.SerializeAsString();
      c.content_type = std::string{protobuf_media_type};
      c.headers.emplace_back("Accept", std::string{protobuf_media_type});
      c.timeout = master_timeout;
      auto address = fmt::format("{}:{}", c.host, c.port);
      client->fetch(std::move(c), [list, protobuf, respond, id, address](
                                    caf::expected<http_reply> reply) {
        if (!reply) {
          respond(json_error(503, fmt::format("agent {} at {}: {}", id,
                                              address,
                                              describe_reason(reply.error()))));
          return;
        }
        if (reply->status != 200) {
          http_response r;
          r.status = reply->status;
          r.content_type = reply->content_type;
          r.body = std::move(reply->body);
          respond(std::move(r));
          return;
        }
        v1::agent::Response answer;
        if (!answer.ParseFromString(reply->body)) {
          respond(json_error(502, fmt::format("agent {} at {} answered "
                                              "what is not a Response",
                                              id, address)));
          return;
        }
        Response out;
        if (list) {
          out.set_type(Response::LIST_FILES);
          *out.mutable_list_files()->mutable_file_infos()
            = answer.list_files().file_infos();
        } else {
          out.set_type(Response::READ_FILE);
          out.mutable_read_file()->set_size(answer.read_file().size());
          out.mutable_read_file()->set_data(answer.read_file().data());
        }
        respond(encoded(out, protobuf));
      });
    },
    [respond](const caf::error& err) { respond(error_response(err)); },
    std::move(get_agents));
}

void operator_api(caf::actor_system& sys, const master_actor& master,
                  const master_http_config& cfg,
                  const std::shared_ptr<http_client>& client,
                  const http_request& req, http_responder respond) {
  Call call;
  auto answer_protobuf = read_call(req, &call, respond);
  if (!answer_protobuf)
    return;
  if (call.type() == Call::UNKNOWN) {
    respond(json_error(400, "type: missing or unknown call type"));
    return;
  }
  if (call.type() == Call::SUBSCRIBE) {
    subscribe(sys, master, *answer_protobuf, std::move(respond));
    return;
  }
  if (call.type() == Call::GET_FLAGS) {
    respond(encoded(flags_answer(cfg.flags), *answer_protobuf));
    return;
  }
  if (call.type() == Call::LIST_FILES || call.type() == Call::READ_FILE) {
    agent_files(sys, master, client, call, *answer_protobuf,
                std::move(respond));
    return;
  }
  auto type = call.type();
  ask(
    sys, master, master_timeout,
    [respond, protobuf = *answer_protobuf, type](const Response& response) {
      if (response.type() == Response::UNKNOWN) {
        http_response r;
        r.status = empty_answer_status(type);
        r.content_type = "text/plain";
        respond(std::move(r));
        return;
      }
      respond(encoded(response, protobuf));
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

// Mesos' redirect to the leader: 307 with a scheme-relative Location.
http_response redirect_to(const std::string& leader, const std::string& target) {
  http_response r;
  r.status = 307;
  r.content_type.clear();
  r.headers.emplace_back("Location", "//" + leader + target);
  return r;
}

} // namespace

master_http::master_http(caf::actor_system& sys, master_http_config cfg)
  : sys_(&sys),
    cfg_(std::move(cfg)),
    scheduler_api_(std::make_shared<scheduler_api>(sys)),
    client_(std::make_shared<http_client>()) {
}

void master_http::attach(master_actor master, uint16_t actor_port,
                         std::string self_address) {
  std::lock_guard guard{target_->mtx};
  target_->now = {std::move(master), actor_port, std::move(self_address)};
}

void master_http::set_leader(std::string address) {
  std::lock_guard guard{target_->mtx};
  target_->now.leader = std::move(address);
}

http_router master_http::routes() const {
  // Every route needs the master: until it exists, 503, or on a standby
  // 307 to the leader.
  using with_master = std::function<void(const http_request&, http_responder,
                                         const target::view&)>;
  auto guarded = [target = target_](with_master handler) {
    return [target, handler](const http_request& req, http_responder respond) {
      auto now = target->get();
      if (!now.master) {
        respond(now.leader.empty()
                  ? json_error(503, "the master is starting, or no leading "
                                    "master is elected")
                  : redirect_to(now.leader, req.target));
        return;
      }
      handler(req, std::move(respond), now);
    };
  };
  auto& sys = *sys_;
  auto cfg = cfg_;
  http_router routes;
  routes.post("/api/v1",
              guarded([&sys, cfg, client = client_](
                        const http_request& req, http_responder respond,
                        const target::view& now) {
                operator_api(sys, now.master, cfg, client, req,
                             std::move(respond));
              }));
  routes.post("/api/v1/scheduler",
              guarded([api = scheduler_api_](const http_request& req,
                                             http_responder respond,
                                             const target::view& now) {
                api->handle(now.master, req, std::move(respond));
              }));
  auto state_route = guarded([&sys, cfg](const http_request&,
                                         http_responder respond,
                                         const target::view& now) {
    state(sys, now.master, cfg.flags, std::move(respond));
  });
  for (const char* path :
       {"/master/state", "/master/state.json", "/state", "/state.json"})
    routes.get(path, state_route);
  routes.get("/master/redirect", [target = target_](const http_request&,
                                                    http_responder respond) {
    auto now = target->get();
    respond(now.leader.empty() ? json_error(503, "no leading master is elected")
                               : redirect_to(now.leader, ""));
  });
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
