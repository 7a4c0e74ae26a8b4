// The scheduler HTTP API (see dcos/service_http.hpp): each route asks the
// service scheduler actor and turns its answer into dcos-commons' JSON.
#include "dcos/service_http.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/http_ask.hpp"
#include "dcos/json.hpp"
#include "dcos/json_request.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"
#include "dcos/plan.hpp"
#include "dcos/pod_launch.hpp"
#include "dcos/service_spec.hpp"

namespace dcos {

namespace {

unsigned status_for(const caf::error& err) {
  switch (code_of(err)) {
    case errc::not_found:
      return 404;
    case errc::invalid_argument:
      return 400;
    case errc::unavailable:
      return 503;
    default:
      return 500;
  }
}

http_response failure(const caf::error& err) {
  return message_response(status_for(err), describe_reason(err));
}

// 200 when done, 417 with errors, else 202: dcos-commons' plan codes.
unsigned code_of_status(v1::PlanState::Status s) {
  return s == v1::PlanState::COMPLETE ? 200
         : s == v1::PlanState::ERROR  ? 417
                                      : 202;
}

// A start's parameters: a JSON object of strings.
caf::expected<v1::Environment> parameters_of(const std::string& body) {
  v1::Environment env;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return env;
  google::protobuf::Struct object;
  if (auto err = from_json(body, &object, "parameters"))
    return err;
  std::map<std::string, std::string> sorted;
  for (const auto& [key, value] : object.fields()) {
    if (value.kind_case() != google::protobuf::Value::kStringValue)
      return make_error(errc::invalid_argument,
                        fmt::format("parameters: '{}' must be a string",
                                    key));
    sorted[key] = value.string_value();
  }
  for (const auto& [key, value] : sorted) {
    auto* var = env.add_variables();
    var->set_name(key);
    var->set_value(value);
  }
  return env;
}

class service_api_routes {
public:
  service_api_routes(caf::actor_system& sys, service_scheduler_actor service,
                     v1::ServiceSpec spec, caf::timespan timeout)
    : sys_(sys),
      service_(std::move(service)),
      spec_(std::make_shared<v1::ServiceSpec>(std::move(spec))),
      timeout_(timeout) {
  }

  void add_to(http_router& routes) {
    auto self = std::make_shared<service_api_routes>(*this);
    routes.get("/v1/plans", [self](const http_request&, http_responder r) {
      self->plan_names(r);
    });
    routes.add_prefix("GET", "/v1/plans/",
                      [self](const http_request& req, http_responder r) {
                        self->get_plan(req, r);
                      });
    routes.add_prefix("POST", "/v1/plans/",
                      [self](const http_request& req, http_responder r) {
                        self->operate(req, r);
                      });
    routes.get("/v1/pod", [self](const http_request&, http_responder r) {
      self->pod_names(r);
    });
    routes.get("/v1/pod/status",
               [self](const http_request&, http_responder r) {
                 self->pod_status(r, "");
               });
    routes.add_prefix("GET", "/v1/pod/",
                      [self](const http_request& req, http_responder r) {
                        auto parts = path_segments(
                          std::string_view{req.path}.substr(8));
                        if (parts.size() != 2
                            || (parts[1] != "status" && parts[1] != "info"))
                          return r(message_response(404, "Unknown route."));
                        if (parts[1] == "info")
                          return self->pod_info(r, parts[0]);
                        self->pod_status(r, parts[0]);
                      });
    routes.add_prefix("POST", "/v1/pod/",
                      [self](const http_request& req, http_responder r) {
                        auto parts = path_segments(
                          std::string_view{req.path}.substr(8));
                        if (parts.size() != 2
                            || (parts[1] != "restart"
                                && parts[1] != "replace"))
                          return r(message_response(404, "Unknown route."));
                        self->pod_command(r, parts[0], parts[1]);
                      });
    routes.get("/v1/endpoints",
               [self](const http_request&, http_responder r) {
                 self->endpoints(r, "");
               });
    routes.add_prefix("GET", "/v1/endpoints/",
                      [self](const http_request& req, http_responder r) {
                        auto parts = path_segments(
                          std::string_view{req.path}.substr(14));
                        if (parts.size() != 1)
                          return r(message_response(404, "Unknown route."));
                        self->endpoints(r, parts[0]);
                      });
    routes.get("/v1/health", [self](const http_request&, http_responder r) {
      self->health(r);
    });
    routes.get("/v1/state/frameworkId",
               [self](const http_request&, http_responder r) {
                 self->framework_id(r);
               });
    routes.get("/v1/state/properties",
               [self](const http_request&, http_responder r) {
                 self->property(r, std::nullopt);
               });
    routes.add_prefix("GET", "/v1/state/properties/",
                      [self](const http_request& req, http_responder r) {
                        auto parts = path_segments(
                          std::string_view{req.path}.substr(21));
                        if (parts.size() != 1)
                          return r(message_response(404, "Unknown route."));
                        self->property(r, parts[0]);
                      });
    auto sys = &sys_;
    auto service = service_;
    auto timeout = timeout_;
    route_metrics(routes, [sys, service, timeout](auto done) {
      ask(
        *sys, service, timeout,
        [done](metrics_snapshot& m) { done(std::move(m)); },
        [done](const caf::error& err) { done(err); }, get_atom::value,
        metrics_atom::value);
    });
  }

private:
  template <class OnReply, class... Ts>
  void call(const http_responder& respond, OnReply on_reply,
            Ts... msg) const {
    ask_for_response(sys_, service_, timeout_, respond, std::move(on_reply),
                     failure, std::move(msg)...);
  }

  void plan_names(const http_responder& respond) {
    call(
      respond,
      [](const std::vector<v1::PlanState>& plans) {
        json_writer w;
        w.begin_array();
        for (const auto& p : plans)
          w.value(p.name());
        w.end_array();
        return json_response(200, w.take());
      },
      get_atom::value, plans_atom::value);
  }

  void get_plan(const http_request& req, const http_responder& respond) {
    auto parts = path_segments(std::string_view{req.path}.substr(10));
    if (parts.size() != 1)
      return respond(message_response(404, "Unknown route."));
    auto name = parts[0];
    call(
      respond,
      [name](const std::vector<v1::PlanState>& plans) {
        for (const auto& p : plans)
          if (p.name() == name)
            return json_response(code_of_status(plan_status(p)),
                                 plan_json(p));
        return message_response(404, fmt::format("Plan {} not found", name));
      },
      get_atom::value, plans_atom::value);
  }

  void operate(const http_request& req, const http_responder& respond) {
    auto parts = path_segments(std::string_view{req.path}.substr(10));
    if (parts.size() != 2)
      return respond(message_response(404, "Unknown route."));
    auto op = parts[1];
    if (auto parsed = parse_plan_operation(op); !parsed)
      return respond(message_response(404, describe_reason(parsed.error())));
    auto phase = req.query.count("phase") ? req.query.at("phase") : "";
    auto step = req.query.count("step") ? req.query.at("step") : "";
    v1::Environment params;
    if (op == "start") {
      auto parsed = parameters_of(req.body);
      if (!parsed)
        return respond(message_response(400, describe_reason(parsed.error())));
      params = std::move(*parsed);
    }
    call(
      respond,
      [op](bool changed) {
        json_writer w;
        w.begin_object().field("message", "Received cmd: " + op).end_object();
        return json_response(changed ? 200 : 208, w.take());
      },
      operate_atom::value, parts[0], op, phase, step, std::move(params));
  }

  std::vector<std::string> instance_names() const {
    std::vector<std::string> out;
    for (const auto& pod : spec_->pods())
      for (uint32_t i = 0; i < pod.count(); ++i)
        out.push_back(pod_instance_name(pod.name(), i));
    return out;
  }

  void pod_names(const http_responder& respond) {
    json_writer w;
    w.begin_array();
    for (const auto& name : instance_names())
      w.value(name);
    w.end_array();
    respond(json_response(200, w.take()));
  }

  // {"service", "pods": [{"name", "instances": [{"name", "tasks": [...]}]}]}
  // for all, or {"name", "tasks": [...]} for `only`.
  void pod_status(const http_responder& respond, std::string only) {
    if (!only.empty()) {
      auto names = instance_names();
      if (std::find(names.begin(), names.end(), only) == names.end())
        return respond(
          message_response(404, fmt::format("Pod {} not found", only)));
    }
    auto spec = spec_;
    auto sys = &sys_;
    auto service = service_;
    auto timeout = timeout_;
    call(
      respond,
      [=](const std::vector<v1::PodInstance>& pods) {
        // The task states come from a second question.
        auto instances = std::make_shared<std::vector<v1::PodInstance>>(pods);
        ask_for_response(
          *sys, service, timeout, respond,
          [spec, instances, only](
            const std::vector<std::pair<std::string, int32_t>>& states) {
            std::map<std::string, int32_t> state_of(states.begin(),
                                                    states.end());
            std::map<std::string, const v1::PodInstance*> by_name;
            for (const auto& p : *instances)
              by_name[pod_instance_name(p.pod(), p.index())] = &p;
            auto instance_json = [&](json_writer& w, const std::string& name,
                                     const v1::ServiceSpec::Pod& pod) {
              w.begin_object().field("name", name).key("tasks").begin_array();
              auto at = by_name.find(name);
              for (const auto& t : pod.tasks()) {
                if (at == by_name.end()
                    || at->second->task_ids().count(t.name()) == 0)
                  continue;
                const auto& id = at->second->task_ids().at(t.name());
                auto s = state_of.find(id);
                auto index = at->second->index();
                w.begin_object()
                  .field("id", id)
                  .field("name", pod_task_name(pod.name(), index, t.name()))
                  .field("status",
                         s == state_of.end()
                           ? std::string{"UNKNOWN"}
                           : v1::TaskState_Name(
                               static_cast<v1::TaskState>(s->second))
                               .substr(5))
                  .end_object();
              }
              w.end_array().end_object();
            };
            json_writer w;
            if (!only.empty()) {
              for (const auto& pod : spec->pods())
                for (uint32_t i = 0; i < pod.count(); ++i)
                  if (pod_instance_name(pod.name(), i) == only)
                    instance_json(w, only, pod);
              return json_response(200, w.take());
            }
            w.begin_object().field("service", spec->name());
            w.key("pods").begin_array();
            for (const auto& pod : spec->pods()) {
              w.begin_object().field("name", pod.name());
              w.key("instances").begin_array();
              for (uint32_t i = 0; i < pod.count(); ++i)
                instance_json(w, pod_instance_name(pod.name(), i), pod);
              w.end_array().end_object();
            }
            w.end_array().end_object();
            return json_response(200, w.take());
          },
          failure, get_atom::value, state_atom::value);
        return answered_later();
      },
      get_atom::value, pods_atom::value);
  }

  // [{"info": TaskInfo, "status": TaskStatus}, ...] for each task the
  // instance launched, in the spec's order, in protobuf's JSON mapping (as
  // dcos-commons writes them); "status" only once the task reported one.
  void pod_info(const http_responder& respond, const std::string& name) {
    auto spec = spec_;
    call(
      respond,
      [spec](const dcos::pod_info& info) {
        const auto& [inst, statuses] = info;
        std::map<std::string, const v1::TaskStatus*> status_of;
        for (const auto& s : statuses)
          status_of[s.task_id().value()] = &s;
        // (An instance of a pod the spec has no more is decommissioned:
        // its tasks in the order they are stored.)
        std::vector<std::string> order;
        if (const auto* pod = find_pod(*spec, inst.pod()); pod != nullptr)
          for (const auto& t : pod->tasks())
            order.push_back(t.name());
        else
          for (const auto& [task, info] : inst.task_infos())
            order.push_back(task);
        json_writer w;
        w.begin_array();
        for (const auto& task : order) {
          auto at = inst.task_infos().find(task);
          if (at == inst.task_infos().end())
            continue;
          w.begin_object().key("info").raw(
            to_json(at->second, json_style::marathon));
          if (auto s = status_of.find(at->second.task_id().value());
              s != status_of.end())
            w.key("status").raw(to_json(*s->second, json_style::marathon));
          w.end_object();
        }
        w.end_array();
        return json_response(200, w.take());
      },
      get_atom::value, pods_atom::value, name);
  }

  // ["<framework id>"], or [] before the first subscription.
  void framework_id(const http_responder& respond) {
    call(
      respond,
      [](const std::map<std::string, std::string>& props) {
        json_writer w;
        w.begin_array();
        if (auto at = props.find("framework-id"); at != props.end())
          w.value(at->second);
        w.end_array();
        return json_response(200, w.take());
      },
      get_atom::value, properties_atom::value);
  }

  // The properties' names, or one's value (text), or 404.
  void property(const http_responder& respond,
                std::optional<std::string> name) {
    call(
      respond,
      [name](const std::map<std::string, std::string>& props) {
        if (name) {
          auto at = props.find(*name);
          if (at == props.end())
            return message_response(
              404, fmt::format("Property {} not found", *name));
          http_response r;
          r.status = 200;
          r.content_type = "text/plain";
          r.body = at->second;
          return r;
        }
        json_writer w;
        w.begin_array();
        for (const auto& [key, value] : props)
          w.value(key);
        w.end_array();
        return json_response(200, w.take());
      },
      get_atom::value, properties_atom::value);
  }

  // {"pod": name, "tasks": [task names]}, as dcos-commons answers both.
  void pod_command(const http_responder& respond, const std::string& name,
                   const std::string& command) {
    auto on_reply = [name](const std::vector<std::string>& tasks) {
      json_writer w;
      w.begin_object().field("pod", name).key("tasks").begin_array();
      for (const auto& t : tasks)
        w.value(t);
      w.end_array().end_object();
      return json_response(200, w.take());
    };
    if (command == "restart")
      call(respond, on_reply, restart_atom::value, name);
    else
      call(respond, on_reply, replace_atom::value, name);
  }

  // The names of the advertised ports (`only` empty), or one's
  // {"address": [...], "dns": [...], "vip": "..."}.
  void endpoints(const http_responder& respond, std::string only) {
    auto spec = spec_;
    call(
      respond,
      [spec, only](const std::vector<v1::PodInstance>& pods) {
        std::map<std::string, std::vector<pod_endpoint>> by_name;
        for (const auto& inst : pods)
          for (auto& e : pod_endpoints(*spec, inst))
            by_name[e.name].push_back(std::move(e));
        json_writer w;
        if (only.empty()) {
          w.begin_array();
          for (const auto& [name, list] : by_name)
            w.value(name);
          w.end_array();
          return json_response(200, w.take());
        }
        auto at = by_name.find(only);
        if (at == by_name.end())
          return message_response(
            404, fmt::format("Endpoint {} not found", only));
        std::string vip;
        w.begin_object().key("address").begin_array();
        for (const auto& e : at->second) {
          w.value(e.address);
          if (!e.vip.empty())
            vip = e.vip;
        }
        w.end_array().key("dns").begin_array();
        for (const auto& e : at->second)
          w.value(e.dns);
        w.end_array();
        if (!vip.empty())
          w.field("vip", vip);
        w.end_object();
        return json_response(200, w.take());
      },
      get_atom::value, pods_atom::value);
  }

  void health(const http_responder& respond) {
    call(
      respond,
      [](const std::vector<v1::PlanState>& plans) {
        json_writer w;
        w.begin_object();
        unsigned code = 200;
        for (const auto& p : plans) {
          if (p.name() != "deploy" && p.name() != "recovery")
            continue;
          auto s = plan_status(p);
          w.field(p.name(), status_name(s));
          auto c = code_of_status(s);
          if (c == 417 || (c == 202 && code == 200))
            code = c;
        }
        w.end_object();
        return json_response(code, w.take());
      },
      get_atom::value, plans_atom::value);
  }

  caf::actor_system& sys_;
  service_scheduler_actor service_;
  std::shared_ptr<const v1::ServiceSpec> spec_;
  caf::timespan timeout_;
};

} // namespace

void add_service_routes(http_router& routes, caf::actor_system& sys,
                        service_scheduler_actor service,
                        const v1::ServiceSpec& spec, caf::timespan timeout) {
  service_api_routes{sys, std::move(service), spec, timeout}.add_to(routes);
}

} // namespace dcos
