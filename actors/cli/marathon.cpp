// dcos marathon: Marathon's apps, deployments and tasks from the command
// line, spelled as the DC/OS CLI spells them, over Marathon's REST API:
//
//   dcos marathon app add [FILE|-]          POST /v2/apps (stdin without FILE)
//   dcos marathon app list [--json]
//   dcos marathon app show ID [--app_version=V]
//   dcos marathon app update ID [KEY=VALUE ...] [--force]
//                                           (JSON on stdin without pairs)
//   dcos marathon app remove ID [--force]
//   dcos marathon app restart ID [--force]
//   dcos marathon deployment list [APP_ID] [--json]
//   dcos marathon deployment rollback ID
//   dcos marathon task list [APP_ID] [--json]
//
// Every command takes --marathon=HOST:PORT (127.0.0.1:8080). Marathon's
// own error message is printed on failure (exit 1); bad usage exits 2.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "cli.hpp"
#include "rest_call.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"

namespace dcos::cli {

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr const char* default_marathon = "127.0.0.1:8080";

rest_service marathon_service(const std::string& address) {
  return {"Marathon", address, 8080};
}

// One call to Marathon: its answer on 2xx, else Marathon's message.
caf::expected<std::string> call(const std::string& marathon,
                                const std::string& method,
                                const std::string& target,
                                const std::string& body = {}) {
  return rest_call(marathon_service(marathon), method, target, body);
}

// The flags every `dcos marathon` command takes. REQUIRES: not moved
// once made (the flags point at its members).
struct marathon_flags {
  std::string marathon = default_marathon;
  bool json = false;
  flags f;

  marathon_flags(std::string usage, std::string description)
    : f{std::move(usage), std::move(description)} {
    f.add(&marathon, "marathon", "HOST:PORT of Marathon");
    f.add(&json, "json", "print Marathon's JSON (lists)");
  }
};

int fail(const std::string& what, const caf::error& err) {
  std::fprintf(stderr, "dcos marathon %s: %s\n", what.c_str(),
               describe_reason(err).c_str());
  return 1;
}

caf::expected<Struct> parse(const std::string& body) {
  return parse_answer(marathon_service(""), body);
}




std::string app_path(std::string id) {
  if (id.empty() || id.front() != '/')
    id.insert(id.begin(), '/');
  return "/v2/apps" + id;
}


// "Created deployment ID" from a {"deploymentId": ...} answer (or an app
// answer with its deployments).
void print_deployment(const std::string& body) {
  auto answer = parse(body);
  if (!answer)
    return;
  auto id = field(*answer, "deploymentId").string_value();
  if (id.empty() && field(*answer, "deployments").list_value().values_size())
    id = field(field(*answer, "deployments").list_value().values(0)
                 .struct_value(),
               "id")
           .string_value();
  std::printf("Created deployment %s\n", id.c_str());
}

int app_command(const std::string& sub, int argc, char** argv) {
  marathon_flags mf{"dcos marathon app add|list|show|update|remove|restart "
                    "...",
                    "Manages Marathon's apps."};
  std::string version;
  bool force = false;
  mf.f.add(&force, "force", "override a deployment that holds the app");
  mf.f.add(&version, "app_version", "the app version to show (show)");
  parse_or_exit(mf.f, argc, argv);
  const auto& marathon = mf.marathon;
  const auto json = mf.json;
  const auto& args = mf.f.positional();
  auto force_query = force ? "?force=true" : "";
  auto need_id = [&] { return args.empty() ? std::string{} : args[0]; };
  if (sub == "add") {
    auto body = read_input(args.empty() ? "" : args[0]);
    if (body.empty())
      return usage_error("marathon app add: no app definition (give a file, "
                         "or JSON on stdin)");
    auto r = call(marathon, "POST", "/v2/apps", body);
    if (!r)
      return fail("app add", r.error());
    print_deployment(*r);
    return 0;
  }
  if (sub == "list") {
    auto r = call(marathon, "GET", "/v2/apps");
    if (!r)
      return fail("app list", r.error());
    auto apps = parse(*r);
    if (!apps)
      return fail("app list", apps.error());
    if (json) {
      std::puts(pretty(field(*apps, "apps").list_value()).c_str());
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
      {"ID", "MEM", "CPUS", "TASKS", "HEALTH", "DEPLOYMENT", "WAITING",
       "CONTAINER", "CMD"}};
    for (const auto& v : field(*apps, "apps").list_value().values()) {
      const auto& app = v.struct_value();
      bool checked = field(app, "healthChecks").list_value().values_size() > 0;
      auto instances = number(field(app, "instances"));
      rows.push_back(
        {field(app, "id").string_value(), number(field(app, "mem")),
         number(field(app, "cpus")),
         fmt::format("{}/{}", number(field(app, "tasksRunning")), instances),
         checked ? fmt::format("{}/{}", number(field(app, "tasksHealthy")),
                               instances)
                 : "---",
         field(app, "deployments").list_value().values_size() > 0 ? "yes"
                                                                   : "---",
         field(app, "tasksStaged").number_value() > 0 ? "True" : "False",
         "mesos", field(app, "cmd").string_value()});
    }
    print_table(rows);
    return 0;
  }
  auto id = need_id();
  if (id.empty())
    return usage_error("marathon app " + sub + ": which app? (give its id)");
  if (sub == "show") {
    auto target = version.empty() ? app_path(id)
                                  : app_path(id) + "/versions/" + version;
    auto r = call(marathon, "GET", target);
    if (!r)
      return fail("app show", r.error());
    auto answer = parse(*r);
    if (!answer)
      return fail("app show", answer.error());
    std::puts(version.empty() ? pretty(field(*answer, "app").struct_value())
                                  .c_str()
                              : pretty(*answer).c_str());
    return 0;
  }
  if (sub == "update") {
    // KEY=VALUE pairs, each VALUE JSON (or a plain string); else stdin.
    std::string body;
    if (args.size() > 1) {
      Struct update;
      for (size_t i = 1; i < args.size(); ++i) {
        auto eq = args[i].find('=');
        if (eq == std::string::npos || eq == 0)
          return usage_error("marathon app update: '" + args[i]
                             + "' is not KEY=VALUE");
        Value value;
        auto text = args[i].substr(eq + 1);
        if (!google::protobuf::util::JsonStringToMessage(text, &value).ok())
          value.set_string_value(text);
        (*update.mutable_fields())[args[i].substr(0, eq)] = value;
      }
      body = to_json(update);
    } else {
      body = read_input("-");
    }
    if (body.empty())
      return usage_error("marathon app update: no change given");
    auto r = call(marathon, "PUT",
                  app_path(id) + (force ? "?force=true&" : "?")
                    + "partialUpdate=true",
                  body);
    if (!r)
      return fail("app update", r.error());
    print_deployment(*r);
    return 0;
  }
  if (sub == "remove" || sub == "restart") {
    auto r = sub == "remove"
               ? call(marathon, "DELETE", app_path(id) + force_query)
               : call(marathon, "POST", app_path(id) + "/restart" + force_query);
    if (!r)
      return fail("app " + sub, r.error());
    if (sub == "restart")
      print_deployment(*r);
    return 0;
  }
  return usage_error("unknown command 'marathon app " + sub
                     + "' (add, list, show, update, remove, restart)");
}

int deployment_command(const std::string& sub, int argc, char** argv) {
  marathon_flags mf{"dcos marathon deployment list [APP_ID] | rollback ID",
                    "Lists Marathon's deployments, or rolls one back."};
  parse_or_exit(mf.f, argc, argv);
  const auto& marathon = mf.marathon;
  const auto& args = mf.f.positional();
  if (sub == "rollback") {
    if (args.empty())
      return usage_error("marathon deployment rollback: which deployment?");
    auto r = call(marathon, "DELETE", "/v2/deployments/" + args[0]);
    if (!r)
      return fail("deployment rollback", r.error());
    print_deployment(*r);
    return 0;
  }
  if (sub != "list")
    return usage_error("unknown command 'marathon deployment " + sub
                       + "' (list, rollback)");
  auto r = call(marathon, "GET", "/v2/deployments");
  if (!r)
    return fail("deployment list", r.error());
  auto wrapped = parse("{\"d\":" + *r + "}");
  if (!wrapped)
    return fail("deployment list", wrapped.error());
  ListValue shown;
  std::string app_filter;
  if (!args.empty())
    app_filter = args[0].front() == '/' ? args[0] : "/" + args[0];
  for (const auto& v : field(*wrapped, "d").list_value().values()) {
    const auto& affected = field(v.struct_value(), "affectedApps").list_value();
    if (app_filter.empty()
        || std::any_of(affected.values().begin(), affected.values().end(),
                       [&](const Value& a) {
                         return a.string_value() == app_filter;
                       }))
      *shown.add_values() = v;
  }
  if (mf.json) {
    std::puts(pretty(shown).c_str());
    return 0;
  }
  if (shown.values_size() == 0) {
    std::puts("There are no deployments");
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
    {"APP", "POD", "ACTION", "PROGRESS", "ID"}};
  for (const auto& v : shown.values()) {
    const auto& d = v.struct_value();
    auto progress = fmt::format("{}/{}", number(field(d, "currentStep")),
                                number(field(d, "totalSteps")));
    for (const auto& a : field(d, "currentActions").list_value().values()) {
      const auto& action = a.struct_value();
      rows.push_back({field(action, "app").string_value(), "-",
                      field(action, "action").string_value(), progress,
                      field(d, "id").string_value()});
    }
  }
  print_table(rows);
  return 0;
}

int task_command(const std::string& sub, int argc, char** argv) {
  marathon_flags mf{"dcos marathon task list [APP_ID] [--json]",
                    "Lists the tasks Marathon runs."};
  parse_or_exit(mf.f, argc, argv);
  if (sub != "list")
    return usage_error("unknown command 'marathon task " + sub + "' (list)");
  const auto& marathon = mf.marathon;
  const auto& args = mf.f.positional();
  auto r = args.empty() ? call(marathon, "GET", "/v2/tasks")
                        : call(marathon, "GET", app_path(args[0]) + "/tasks");
  if (!r)
    return fail("task list", r.error());
  auto answer = parse(*r);
  if (!answer)
    return fail("task list", answer.error());
  const auto& tasks = field(*answer, "tasks").list_value();
  if (mf.json) {
    std::puts(pretty(tasks).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
    {"APP", "HEALTHY", "STARTED", "HOST", "ID"}};
  for (const auto& v : tasks.values()) {
    const auto& t = v.struct_value();
    const auto& results = field(t, "healthCheckResults").list_value();
    bool healthy
      = std::all_of(results.values().begin(), results.values().end(),
                    [](const Value& r) {
                      return field(r.struct_value(), "alive").bool_value();
                    });
    auto started = field(t, "startedAt").string_value();
    rows.push_back({field(t, "appId").string_value(),
                    healthy ? "True" : "False",
                    started.empty() ? "N/A" : started,
                    field(t, "host").string_value(),
                    field(t, "id").string_value()});
  }
  print_table(rows);
  return 0;
}

} // namespace

int marathon(int argc, char** argv) {
  // argv[0] is "marathon"; then the noun and the verb.
  if (argc < 3)
    return usage_error("usage: dcos marathon app|deployment|task <command> "
                       "[...] (try 'dcos marathon app list')");
  std::string noun = argv[1], verb = argv[2];
  // The verb's flags and arguments follow it; it sees itself as argv[0].
  if (noun == "app")
    return app_command(verb, argc - 2, argv + 2);
  if (noun == "deployment")
    return deployment_command(verb, argc - 2, argv + 2);
  if (noun == "task")
    return task_command(verb, argc - 2, argv + 2);
  return usage_error("unknown command 'marathon " + noun
                     + "' (app, deployment, task)");
}

} // namespace dcos::cli
