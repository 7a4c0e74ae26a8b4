#include "marathon_http.hpp"

#include <cctype>
#include <chrono>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include <dcos/http_ask.hpp>
#include <dcos/error.hpp>
#include <dcos/flags.hpp>
#include <dcos/json.hpp>
#include <dcos/metrics.hpp>

#include "app_definition.hpp"
#include "group_tree.hpp"

namespace dcos::marathon {

namespace {

using namespace std::chrono_literals;

constexpr caf::timespan api_timeout = 30s;

// Marathon's answer to DELETE of tasks with both ?scale and ?wipe.
http_response scale_and_wipe() {
  return message_response(400,
                          "You cannot use scale and wipe at the same time.");
}

// Marathon's answer to a failed call.
http_response failure(const caf::error& err) {
  switch (code_of(err)) {
    case errc::not_found: return message_response(404, describe_reason(err));
    case errc::conflict: return message_response(409, describe_reason(err));
    case errc::unavailable: return message_response(503, describe_reason(err));
    case errc::invalid_argument:
      return invalid_object({{"/", describe_reason(err)}});
    default:
      return message_response(500, describe(err));
  }
}

// Asks Marathon and answers with `on_reply`'s response (unless it is
// answered_later()), or the failure.
template <class OnReply, class... Ts>
void call(caf::actor_system& sys, const marathon_actor& marathon,
          const http_responder& respond, OnReply on_reply, Ts... msg) {
  ask_for_response(sys, marathon, api_timeout, respond, std::move(on_reply),
                   failure, std::move(msg)...);
}

bool flag(const http_request& req, const std::string& name) {
  auto at = req.query.find(name);
  return at != req.query.end() && (at->second == "true" || at->second == "1");
}

std::string deployment_result(const Deployment& d) {
  std::string body = "{\"deploymentId\":";
  append_json_string(body, d.id());
  body += ",\"version\":";
  append_json_string(body, d.version());
  body += '}';
  return body;
}

// ["a","b"]: a JSON array of strings.
std::string string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
  return out;
}

// A task as Marathon shows it: without what only this Marathon keeps.
Task shown(Task t) {
  t.clear_killing();
  t.clear_unreachable_since();
  t.clear_inactive();
  t.clear_health_checked();
  t.clear_readiness_checked();
  t.clear_ready();
  t.clear_reservation_id();
  return t;
}

std::string task_json(const Task& t) {
  return to_marathon_json(shown(t));
}

std::string tasks_json(const std::vector<Task>& tasks) {
  std::string body = "{\"tasks\":[";
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (i > 0)
      body += ',';
    body += task_json(tasks[i]);
  }
  body += "]}";
  return body;
}

// An app as GET shows it; `embed` says which of tasks and lastTaskFailure
// stay in.
std::string app_json(App app, bool tasks, bool last_failure) {
  if (!tasks)
    app.clear_tasks();
  else
    for (auto& t : *app.mutable_tasks())
      t = shown(std::move(t));
  if (!last_failure)
    app.clear_last_task_failure();
  return to_marathon_json(app);
}

// The label filter of GET /v2/apps: "key", "key==value" or "key!=value".
bool label_matches(const App& app, const std::string& selector) {
  if (selector.empty())
    return true;
  auto op = selector.find("==");
  bool negate = false;
  if (op == std::string::npos) {
    op = selector.find("!=");
    negate = op != std::string::npos;
  }
  if (op == std::string::npos)
    return app.labels().count(selector) > 0;
  auto key = selector.substr(0, op);
  auto value = selector.substr(op + 2);
  auto at = app.labels().find(key);
  bool equal = at != app.labels().end() && at->second == value;
  return negate ? !equal : equal;
}

std::set<std::string> embeds(const http_request& req) {
  std::set<std::string> out;
  auto at = req.query.find("embed");
  if (at == req.query.end())
    return out;
  // A repeated parameter arrives joined by ", " (http_request keeps the
  // last); both spellings are split here.
  for (auto& part : split_list(at->second)) {
    auto first = part.find_first_not_of(' ');
    if (first != std::string::npos)
      out.insert(part.substr(first));
  }
  return out;
}

// Every value of a repeated query parameter (http_request::query keeps
// only the last), percent-decoding left out: event types need none.
std::vector<std::string> query_values(std::string_view target,
                                      std::string_view name) {
  std::vector<std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return out;
  for (const auto& pair : split_list(target.substr(q + 1), '&')) {
    auto eq = pair.find('=');
    if (eq != std::string::npos && std::string_view{pair}.substr(0, eq) == name)
      out.push_back(pair.substr(eq + 1));
  }
  return out;
}

// The pieces of a path under /v2/apps/: the app's id and what follows it
// (restart, tasks, tasks/ID).
struct app_path {
  std::string id;
  std::string what;    // "", "restart", "tasks", "versions"
  std::string task_id; // for tasks/ID
  std::string version; // for versions/VERSION
};

app_path parse_app_path(const std::string& path) {
  app_path out;
  std::string rest = path.substr(std::string_view{"/v2/apps"}.size());
  for (const char* suffix : {"/restart", "/tasks", "/versions"}) {
    std::string s{suffix};
    if (rest.size() > s.size() && rest.compare(rest.size() - s.size(),
                                               s.size(), s) == 0) {
      out.what = s.substr(1);
      rest.resize(rest.size() - s.size());
      out.id = absolute_app_id(rest);
      return out;
    }
  }
  if (auto at = rest.rfind("/tasks/"); at != std::string::npos && at > 0) {
    out.what = "tasks";
    out.task_id = rest.substr(at + 7);
    rest.resize(at);
  } else if (auto v = rest.rfind("/versions/");
             v != std::string::npos && v > 0) {
    out.what = "versions";
    out.version = rest.substr(v + 10);
    rest.resize(v);
  }
  out.id = absolute_app_id(rest);
  return out;
}

http_response no_such_app(const std::string& id) {
  return message_response(404, fmt::format("App '{}' does not exist", id));
}

// The version a PUT of {"version": "..."} (nothing else but an id) puts
// an app or a group back to; "" for any other body.
std::string rollback_version(std::string_view body) {
  google::protobuf::Struct parsed;
  if (from_json(body, &parsed, "app update"))
    return {};
  const auto& fields = parsed.fields();
  auto version = fields.find("version");
  if (version == fields.end() || !version->second.has_string_value())
    return {};
  for (const auto& [name, value] : fields)
    if (name != "version" && name != "id")
      return {};
  return version->second.string_value();
}

// The requests under /v2/apps/{id}: what follows the id picks the handler.
struct app_requests {
  caf::actor_system* sys;
  marathon_actor marathon;

  void operator()(const http_request& req, http_responder respond) const {
    auto where = parse_app_path(req.path);
    auto method = req.method == "HEAD" ? std::string{"GET"} : req.method;
    if (where.what == "versions")
      return method == "GET" ? show_versions(where, respond)
                             : respond(method_not_allowed({"GET"}));
    if (where.what == "restart")
      return method == "POST" ? restart(req, where.id, respond)
                              : respond(method_not_allowed({"POST"}));
    if (where.what == "tasks") {
      if (method == "GET" && where.task_id.empty())
        return list_tasks(where.id, respond);
      if (method != "DELETE")
        return respond(method_not_allowed({"DELETE", "GET"}));
      return kill_tasks(req, where, respond);
    }
    if (method == "GET")
      return show(where.id, respond);
    if (method == "DELETE")
      return call(
        *sys, marathon, respond,
        [](const Deployment& d) {
          return json_response(200, deployment_result(d));
        },
        erase_atom::value, where.id, flag(req, "force"));
    if (method == "PUT" || method == "PATCH")
      return update(req, where.id, method == "PATCH" || flag(req, "partialUpdate"),
                    respond);
    respond(method_not_allowed({"DELETE", "GET", "PATCH", "PUT"}));
  }

  // GET /v2/apps/{id}/versions: {"versions": [newest, ...]}; with a
  // version, the app as it was then.
  void show_versions(const app_path& where,
                     const http_responder& respond) const {
    if (!where.version.empty())
      return call(
        *sys, marathon, respond,
        [](const App& app) {
          return json_response(200, to_marathon_json(app));
        },
        get_atom::value, versions_atom::value, where.id, where.version);
    call(
      *sys, marathon, respond,
      [](const std::vector<std::string>& versions) {
        return json_response(200, "{\"versions\":" + string_array(versions)
                                    + "}");
      },
      get_atom::value, versions_atom::value, where.id);
  }

  void restart(const http_request& req, const std::string& id,
               const http_responder& respond) const {
    call(
      *sys, marathon, respond,
      [](const Deployment& d) {
        return json_response(200, deployment_result(d));
      },
      restart_atom::value, id, flag(req, "force"));
  }

  void list_tasks(const std::string& id, const http_responder& respond) const {
    call(
      *sys, marathon, respond,
      [id](const std::vector<App>& apps) {
        for (const auto& app : apps)
          if (app.id() == id)
            return json_response(
              200, tasks_json({app.tasks().begin(), app.tasks().end()}));
        return no_such_app(id);
      },
      get_atom::value, apps_atom::value);
  }

  // DELETE of one task, or of every task of the app (on `host`, if given);
  // with `scale`, the app's instances shrink by as many; with `wipe`, a
  // resident app's reservations and volumes go too.
  void kill_tasks(const http_request& req, const app_path& where,
                  const http_responder& respond) const {
    auto scale = flag(req, "scale");
    auto wipe = flag(req, "wipe");
    if (scale && wipe)
      return respond(scale_and_wipe());
    if (!where.task_id.empty())
      return call(
        *sys, marathon, respond,
        [task_id = where.task_id](const std::vector<Task>& killed) {
          if (killed.empty())
            return message_response(
              404, fmt::format("Task '{}' does not exist", task_id));
          return json_response(200,
                               "{\"task\":" + task_json(killed[0]) + "}");
        },
        kill_atom::value, std::vector<std::string>{where.task_id}, scale,
        wipe);
    auto host = req.query.count("host") ? req.query.at("host") : "";
    auto self = *this;
    call(
      *sys, marathon, respond,
      [self, respond, id = where.id, host, scale,
       wipe](const std::vector<App>& apps) {
        for (const auto& app : apps) {
          if (app.id() != id)
            continue;
          std::vector<std::string> ids;
          for (const auto& t : app.tasks())
            if (host.empty() || t.host() == host)
              ids.push_back(t.id());
          call(
            *self.sys, self.marathon, respond,
            [](const std::vector<Task>& killed) {
              return json_response(200, tasks_json(killed));
            },
            kill_atom::value, ids, scale, wipe);
          return answered_later();
        }
        return no_such_app(id);
      },
      get_atom::value, apps_atom::value);
  }

  void show(const std::string& id, const http_responder& respond) const {
    call(
      *sys, marathon, respond,
      [id](const std::vector<App>& apps) {
        for (const auto& app : apps)
          if (app.id() == id)
            return json_response(200,
                                 "{\"app\":" + app_json(app, true, true) + "}");
        return no_such_app(id);
      },
      get_atom::value, apps_atom::value);
  }

  // PUT (the whole definition; 201 when it creates the app, as Marathon
  // answers) or PATCH (the fields given).
  void update(const http_request& req, const std::string& id, bool partial,
              const http_responder& respond) const {
    auto put = [self = *this, respond, force = flag(req, "force")](
                 App app, bool existed) {
      call(
        *self.sys, self.marathon, respond,
        [existed](const Deployment& d) {
          return json_response(existed ? 200 : 201, deployment_result(d));
        },
        put_atom::value, std::move(app), false, force);
    };
    if (!partial)
      if (auto version = rollback_version(req.body); !version.empty())
        return call(
          *sys, marathon, respond,
          [](const Deployment& d) {
            return json_response(200, deployment_result(d));
          },
          put_atom::value, versions_atom::value, id, version,
          flag(req, "force"));
    App app;
    if (!partial)
      if (auto refused = read_app(req.body, id, &app))
        return respond(std::move(*refused));
    call(
      *sys, marathon, respond,
      [put, partial, app, body = req.body, id](const std::vector<App>& apps) {
        for (const auto& current : apps) {
          if (current.id() != id)
            continue;
          App changed = app;
          if (partial)
            if (auto refused = patch_app(body, current, &changed))
              return std::move(*refused);
          put(std::move(changed), true);
          return answered_later();
        }
        if (partial)
          return no_such_app(id);
        put(app, false);
        return answered_later();
      },
      get_atom::value, apps_atom::value);
  }
};

// The requests on /v2/groups[/{id}]: GET (the group with its apps and
// groups), POST (create), PUT (update, scaleBy), DELETE.
struct group_requests {
  caf::actor_system* sys;
  marathon_actor marathon;

  void operator()(const http_request& req, http_responder respond) const {
    std::string rest = req.path.substr(std::string_view{"/v2/groups"}.size());
    auto method = req.method == "HEAD" ? std::string{"GET"} : req.method;
    // {id}/versions and {id}/versions/{version}: the last "/versions" in
    // the path counts.
    std::string version;
    bool versions = false;
    if (auto at = rest.rfind("/versions"); at != std::string::npos
        && (at + 9 == rest.size() || rest[at + 9] == '/')) {
      versions = true;
      version = rest.size() > at + 10 ? rest.substr(at + 10) : "";
      rest.resize(at);
    }
    auto id = absolute_app_id(rest);
    auto force = flag(req, "force");
    auto deployed = [](unsigned status) {
      return [status](const Deployment& d) {
        return json_response(status, deployment_result(d));
      };
    };
    if (versions) {
      if (method != "GET")
        return respond(method_not_allowed({"GET"}));
      if (!version.empty())
        return call(
          *sys, marathon, respond,
          [](const Group& g) {
            return json_response(200, to_marathon_json(g));
          },
          get_atom::value, groups_atom::value, versions_atom::value, id,
          version);
      return call(
        *sys, marathon, respond,
        [](const std::vector<std::string>& versions) {
          return json_response(200, string_array(versions));
        },
        get_atom::value, groups_atom::value, versions_atom::value, id);
    }
    if (method == "GET")
      return show(req, id, respond);
    if (method == "PUT")
      if (auto rollback = rollback_version(req.body); !rollback.empty())
        return call(*sys, marathon, respond, deployed(200), put_atom::value,
                    groups_atom::value, versions_atom::value, id, rollback,
                    force);
    if (method == "DELETE")
      return call(*sys, marathon, respond, deployed(200), erase_atom::value,
                  groups_atom::value, id, force);
    if (method != "POST" && method != "PUT")
      return respond(method_not_allowed({"DELETE", "GET", "POST", "PUT"}));
    bool create = method == "POST";
    GroupUpdate update;
    // The URL's group, if it names one, is the group; else the body's id.
    if (auto refused = read_group_update(req.body, id == "/" ? "" : id,
                                         &update))
      return respond(std::move(*refused));
    if (create && update.id() == "/")
      return respond(invalid_object({{"/id", "a group to create needs an "
                                             "id"}}));
    call(*sys, marathon, respond, deployed(create ? 201 : 200),
         put_atom::value, std::move(update), create, force);
  }

  void show(const http_request& req, const std::string& id,
            const http_responder& respond) const {
    auto embed = embeds(req);
    bool tasks = embed.count("group.apps.tasks") > 0;
    bool failures = embed.count("group.apps.lastTaskFailure") > 0;
    call(
      *sys, marathon, respond,
      [id, tasks, failures](const Group& root) {
        const auto* group = find_group(root, id);
        if (!group)
          return message_response(
            404, fmt::format("Group '{}' does not exist", id));
        Group shown_group = *group;
        shape(shown_group, tasks, failures);
        return json_response(200,
                             to_marathon_json(shown_group));
      },
      get_atom::value, groups_atom::value);
  }

  // Leaves in the apps of `g` (and its groups) what `embed` asked for.
  static void shape(Group& g, bool tasks, bool failures) {
    for (auto& app : *g.mutable_apps()) {
      if (!tasks)
        app.clear_tasks();
      else
        for (auto& t : *app.mutable_tasks())
          t = shown(std::move(t));
      if (!failures)
        app.clear_last_task_failure();
    }
    for (auto& sub : *g.mutable_groups())
      shape(sub, tasks, failures);
  }
};

} // namespace

http_router marathon_routes(caf::actor_system& sys, marathon_actor marathon,
                            marathon_http_info info) {
  http_router routes;
  auto* s = &sys;

  routes.get("/ping", [](const http_request&, http_responder respond) {
    http_response r;
    r.content_type = "text/plain";
    r.body = "pong\n";
    respond(std::move(r));
  });

  routes.get("/v2/info", [s, marathon, info](const http_request&,
                                            http_responder respond) {
    call(
      *s, marathon, respond,
      [info](const marathon_info& m) {
        std::string body = "{\"name\":";
        append_json_string(body, info.name);
        body += ",\"version\":";
        append_json_string(body, info.version);
        body += ",\"elected\":true,\"leader\":";
        append_json_string(body, info.leader);
        body += ",\"frameworkId\":";
        append_json_string(body, m.framework_id);
        body += ",\"marathon_config\":{\"master\":";
        append_json_string(body, info.master);
        body += ",\"framework_name\":";
        append_json_string(body, info.name);
        body += fmt::format(",\"ha\":{},\"subscribed\":{}}}",
                            !info.zk.empty(), m.subscribed);
        if (!info.zk.empty()) {
          body += ",\"zookeeper_config\":{\"zk\":";
          append_json_string(body, info.zk);
          body += '}';
        }
        body += '}';
        return json_response(200, std::move(body));
      },
      get_atom::value, info_atom::value);
  });

  routes.get("/v2/leader", [info](const http_request&,
                                  http_responder respond) {
    std::string body = "{\"leader\":";
    append_json_string(body, info.leader);
    body += '}';
    respond(json_response(200, std::move(body)));
  });

  // Marathon's abdication: the answer goes out, then this instance stops
  // leading; another one is elected.
  routes.add("DELETE", "/v2/leader", [info](const http_request&,
                                            http_responder respond) {
    if (!info.abdicate)
      return respond(message_response(503, "This Marathon cannot abdicate"));
    respond(message_response(200, "Leadership abdicated"));
    info.abdicate();
  });

  routes.get("/v2/apps", [s, marathon](const http_request& req,
                                       http_responder respond) {
    auto embed = embeds(req);
    bool tasks = embed.count("apps.tasks") || embed.count("app.tasks");
    bool failures = embed.count("apps.lastTaskFailure")
                    || embed.count("app.lastTaskFailure");
    auto id = req.query.count("id") ? req.query.at("id") : "";
    auto cmd = req.query.count("cmd") ? req.query.at("cmd") : "";
    auto label = req.query.count("label") ? req.query.at("label") : "";
    call(
      *s, marathon, respond,
      [=](const std::vector<App>& apps) {
        std::string body = "{\"apps\":[";
        bool first = true;
        for (const auto& app : apps) {
          if (app.id().find(id) == std::string::npos
              || app.cmd().find(cmd) == std::string::npos
              || !label_matches(app, label))
            continue;
          if (!first)
            body += ',';
          first = false;
          body += app_json(app, tasks, failures);
        }
        body += "]}";
        return json_response(200, std::move(body));
      },
      get_atom::value, apps_atom::value);
  });

  routes.post("/v2/apps", [s, marathon](const http_request& req,
                                        http_responder respond) {
    App app;
    if (auto refused = read_app(req.body, "", &app))
      return respond(std::move(*refused));
    auto force = flag(req, "force");
    call(
      *s, marathon, respond,
      [app](const Deployment& d) {
        App created = app;
        created.set_version(d.version());
        created.add_deployments()->set_id(d.id());
        created.set_tasks_staged(0);
        created.set_tasks_running(0);
        created.set_tasks_healthy(0);
        created.set_tasks_unhealthy(0);
        auto r = json_response(201, to_marathon_json(created));
        r.headers.emplace_back("Location", "/v2/apps" + app.id());
        return r;
      },
      put_atom::value, app, true, force);
  });

  group_requests groups{s, marathon};
  for (const char* method : {"GET", "PUT", "POST", "DELETE"}) {
    routes.add(method, "/v2/groups", groups);
    routes.add_prefix(method, "/v2/groups/", groups);
  }

  app_requests one_app{s, marathon};
  for (const char* method : {"GET", "PUT", "PATCH", "DELETE", "POST"})
    routes.add_prefix(method, "/v2/apps/", one_app);

  routes.get("/v2/tasks", [s, marathon](const http_request& req,
                                        http_responder respond) {
    // ?status=running: the tasks in TASK_RUNNING.
    std::string state;
    if (auto at = req.query.find("status"); at != req.query.end()) {
      state = "TASK_";
      for (char c : at->second)
        state += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    call(
      *s, marathon, respond,
      [state](const std::vector<App>& apps) {
        std::vector<Task> tasks;
        for (const auto& app : apps)
          for (const auto& t : app.tasks())
            if (state.empty() || t.state() == state)
              tasks.push_back(t);
        return json_response(200, tasks_json(tasks));
      },
      get_atom::value, apps_atom::value);
  });

  routes.post("/v2/tasks/delete", [s, marathon](const http_request& req,
                                                http_responder respond) {
    if (flag(req, "scale") && flag(req, "wipe"))
      return respond(scale_and_wipe());
    google::protobuf::Struct body;
    auto err = from_json(req.body, &body, "request body");
    const auto& fields = body.fields();
    auto ids = fields.find("ids");
    if (err || ids == fields.end() || !ids->second.has_list_value())
      return respond(invalid_object(
        {{"/ids", err ? describe_reason(err)
                      : std::string{"an array of task ids is required"}}}));
    std::vector<std::string> task_ids;
    for (const auto& v : ids->second.list_value().values()) {
      if (!v.has_string_value())
        return respond(invalid_object({{"/ids", "task ids are strings"}}));
      task_ids.push_back(v.string_value());
    }
    call(
      *s, marathon, respond,
      [](const std::vector<Task>& killed) {
        return json_response(200, tasks_json(killed));
      },
      kill_atom::value, task_ids, flag(req, "scale"), flag(req, "wipe"));
  });

  routes.get("/v2/deployments", [s, marathon](const http_request&,
                                              http_responder respond) {
    call(
      *s, marathon, respond,
      [](const std::vector<Deployment>& deployments) {
        std::string body = "[";
        for (size_t i = 0; i < deployments.size(); ++i) {
          if (i > 0)
            body += ',';
          body += to_marathon_json(deployments[i]);
        }
        body += ']';
        return json_response(200, std::move(body));
      },
      get_atom::value, deploys_atom::value);
  });

  routes.add_prefix("DELETE", "/v2/deployments/",
                    [s, marathon](const http_request& req,
                                  http_responder respond) {
                      auto id = req.path.substr(
                        std::string_view{"/v2/deployments/"}.size());
                      auto force = flag(req, "force");
                      call(
                        *s, marathon, respond,
                        [force](const Deployment& d) {
                          if (force)
                            return json_response(202, "");
                          return json_response(200, deployment_result(d));
                        },
                        erase_atom::value, deploys_atom::value, id, force);
                    });

  routes.get("/v2/queue", [s, marathon](const http_request& req,
                                        http_responder respond) {
    bool unused_offers = embeds(req).count("lastUnusedOffers") > 0;
    call(
      *s, marathon, respond,
      [unused_offers](std::vector<QueueItem> items) {
        std::string body = "{\"queue\":[";
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0)
            body += ',';
          if (!unused_offers)
            items[i].clear_last_unused_offers();
          body += to_marathon_json(items[i]);
        }
        body += "]}";
        return json_response(200, std::move(body));
      },
      get_atom::value, queue_atom::value);
  });

  // DELETE /v2/queue/{appId}/delay: launch now, backoff or not.
  routes.add_prefix("DELETE", "/v2/queue/", [s, marathon](
                                              const http_request& req,
                                              http_responder respond) {
    std::string_view rest{req.path};
    rest.remove_prefix(std::string_view{"/v2/queue"}.size());
    constexpr std::string_view suffix = "/delay";
    if (rest.size() <= suffix.size()
        || rest.substr(rest.size() - suffix.size()) != suffix)
      return respond(message_response(404, "use /v2/queue/{appId}/delay"));
    rest.remove_suffix(suffix.size());
    call(
      *s, marathon, respond,
      [](ok_atom) { return json_response(204, ""); }, erase_atom::value,
      queue_atom::value, absolute_app_id(rest));
  });

  // Server-sent events; ?event_type=X (repeatable) picks the types.
  routes.get("/v2/events", [s, marathon](const http_request& req,
                                         http_responder respond) {
    if (!req.accepts("text/event-stream"))
      return respond(message_response(
        406, "the event stream needs Accept: text/event-stream"));
    auto sink = std::make_shared<stream_sink>();
    call(
      *s, marathon, respond,
      [sink](ok_atom) {
        http_response ok;
        ok.content_type = "text/event-stream";
        ok.stream = [sink](std::shared_ptr<http_stream> stream) {
          sink->attach(std::move(stream));
        };
        return ok;
      },
      subscribe_atom::value, events_atom::value, sink,
      query_values(req.target, "event_type"));
  });

  route_metrics(routes, [s, marathon](auto done) {
    ask(
      *s, marathon, api_timeout,
      [done](const std::vector<App>& apps) {
        metrics_snapshot m;
        double tasks = 0, running = 0, staged = 0;
        for (const auto& app : apps) {
          for (const auto& t : app.tasks())
            tasks += !t.state().empty(); // not a suspended instance
          running += app.tasks_running();
          staged += app.tasks_staged();
        }
        add_metric(m, "marathon/apps", static_cast<double>(apps.size()));
        add_metric(m, "marathon/tasks", tasks);
        add_metric(m, "marathon/tasks_running", running);
        add_metric(m, "marathon/tasks_staged", staged);
        done(m);
      },
      [done](const caf::error& err) { done(err); }, get_atom::value,
      apps_atom::value);
  });
  return routes;
}

leader_proxy_dialect marathon_proxy_dialect() {
  leader_proxy_dialect d;
  d.service = "marathon";
  d.leader_header = "X-Marathon-Leader";
  d.leader_prefix = "http://";
  d.mark_own_answers = true;
  d.via_header = "X-Marathon-Via";
  d.via_prefix = "1.1 ";
  d.loop_status = 502;
  d.loop_message = "Detected proxying loop.";
  d.no_leader_message = "Could not determine the current leader";
  d.streamed_paths = {"/v2/events"};
  return d;
}

} // namespace dcos::marathon
