// dcos service: a stateful service's scheduler (dcos/service_http.hpp) from
// the command line, with the commands dcos-commons' service CLIs have:
//
//   dcos service plan list
//   dcos service plan show PLAN [--json]
//   dcos service plan start PLAN [KEY=VALUE ...]   the plan's parameters
//   dcos service plan stop PLAN
//   dcos service plan pause PLAN [PHASE]           interrupt
//   dcos service plan resume PLAN [PHASE]          continue
//   dcos service plan force-restart PLAN [PHASE [STEP]]
//   dcos service plan force-complete PLAN PHASE STEP
//   dcos service pod list
//   dcos service pod status [NAME] [--json]
//   dcos service pod restart NAME
//   dcos service pod replace NAME
//   dcos service endpoints [NAME]
//
// Every command takes --service=HOST:PORT, the scheduler's HTTP API. The
// scheduler's own message is printed on failure (exit 1); bad usage
// exits 2.
#include <cstdio>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "rest_call.hpp"

namespace dcos::cli {

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

int fail(const std::string& what, const caf::error& err) {
  std::fprintf(stderr, "dcos service %s: %s\n", what.c_str(),
               describe_reason(err).c_str());
  return 1;
}

// Tree lines as dcos-commons' CLI draws them.
std::string branch(bool last) {
  return last ? "└─ " : "├─ ";
}

std::string indent(bool last) {
  return last ? "   " : "│  ";
}

// dcos-commons' `plan show`: the plan, its phases and steps, with their
// strategies and statuses, then the errors.
void print_plan(const Struct& plan, const std::string& name) {
  std::printf("%s (%s strategy) (%s)\n", name.c_str(),
              field(plan, "strategy").string_value().c_str(),
              field(plan, "status").string_value().c_str());
  const auto& phases = field(plan, "phases").list_value().values();
  for (int i = 0; i < phases.size(); ++i) {
    const auto& phase = phases[i].struct_value();
    bool last = i + 1 == phases.size();
    std::printf("%s%s (%s strategy) (%s)\n", branch(last).c_str(),
                field(phase, "name").string_value().c_str(),
                field(phase, "strategy").string_value().c_str(),
                field(phase, "status").string_value().c_str());
    const auto& steps = field(phase, "steps").list_value().values();
    for (int j = 0; j < steps.size(); ++j) {
      const auto& step = steps[j].struct_value();
      std::printf("%s%s%s (%s)\n", indent(last).c_str(),
                  branch(j + 1 == steps.size()).c_str(),
                  field(step, "name").string_value().c_str(),
                  field(step, "status").string_value().c_str());
    }
  }
  const auto& errors = field(plan, "errors").list_value().values();
  if (!errors.empty()) {
    std::puts("\nErrors:");
    for (const auto& e : errors)
      std::printf("- %s\n", e.string_value().c_str());
  }
}

// One instance's tasks: "└─ node-0-server (RUNNING)".
void print_tasks(const Struct& instance, const std::string& prefix) {
  const auto& tasks = field(instance, "tasks").list_value().values();
  for (int i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i].struct_value();
    std::printf("%s%s%s (%s)\n", prefix.c_str(),
                branch(i + 1 == tasks.size()).c_str(),
                field(t, "name").string_value().c_str(),
                field(t, "status").string_value().c_str());
  }
}

// The plan operation an operator command names, as the API spells it.
const std::map<std::string, std::string>& plan_operations() {
  static const std::map<std::string, std::string> ops{
    {"start", "start"},
    {"stop", "stop"},
    {"pause", "interrupt"},
    {"resume", "continue"},
    {"force-restart", "restart"},
    {"force-complete", "forceComplete"},
  };
  return ops;
}

} // namespace

int service(int argc, char** argv) {
  std::string address;
  bool json = false;
  flags f{"dcos service plan|pod|endpoints ... --service=HOST:PORT",
          "Operates a stateful service through its scheduler's API."};
  f.add(&address, "service", "HOST:PORT of the service's scheduler");
  f.add(&json, "json", "print the scheduler's JSON (plan show, pod status)");
  parse_or_exit(f, argc, argv);
  auto args = f.positional();
  if (args.empty())
    return usage_error("service: which command? (plan, pod, endpoints)");
  auto group = args.front();
  args.erase(args.begin());
  if (address.empty())
    return usage_error("service: --service=HOST:PORT is required (the "
                       "scheduler's HTTP API)");
  rest_service scheduler{"the scheduler", address, 80};
  auto print_answer = [&](const std::string& what,
                          caf::expected<std::string> r) {
    if (!r)
      return fail(what, r.error());
    std::puts(r->c_str());
    return 0;
  };

  if (group == "endpoints")
    return print_answer("endpoints",
                        rest_call(scheduler, "GET",
                                  args.empty() ? "/v1/endpoints"
                                               : "/v1/endpoints/" + args[0]));

  if (group == "plan") {
    if (args.empty())
      return usage_error("service plan: which command? (list, show, start, "
                         "stop, pause, resume, force-restart, "
                         "force-complete)");
    auto sub = args[0];
    if (sub == "list")
      return print_answer("plan list",
                          rest_call(scheduler, "GET", "/v1/plans"));
    if (args.size() < 2)
      return usage_error("service plan " + sub + ": which plan?");
    const auto& plan = args[1];
    if (sub == "show") {
      // 202 while in progress and 417 with errors carry the plan too.
      auto reply = get_reply(address, "/v1/plans/" + plan);
      if (!reply)
        return fail("plan show", reply.error());
      auto answer = parse_answer(scheduler, reply->body);
      if (!answer || reply->status == 404)
        return fail("plan show",
                    make_error(errc::not_found,
                               fmt::format("the scheduler answered {}: {}",
                                           reply->status, reply->body)));
      if (json)
        std::puts(pretty(*answer).c_str());
      else
        print_plan(*answer, plan);
      return 0;
    }
    auto op = plan_operations().find(sub);
    if (op == plan_operations().end())
      return usage_error("unknown command 'service plan " + sub + "'");
    std::string query, body;
    if (sub == "start" || sub == "stop") {
      Struct params;
      for (size_t i = 2; i < args.size(); ++i) {
        auto eq = args[i].find('=');
        if (sub == "stop" || eq == std::string::npos || eq == 0)
          return usage_error(fmt::format("service plan {}: '{}' is not a "
                                         "KEY=VALUE parameter",
                                         sub, args[i]));
        (*params.mutable_fields())[args[i].substr(0, eq)].set_string_value(
          args[i].substr(eq + 1));
      }
      if (params.fields_size() > 0)
        body = pretty(params);
    } else {
      // pause and resume: PLAN [PHASE]; force-restart: PLAN [PHASE
      // [STEP]]; force-complete: PLAN PHASE STEP.
      bool fits = sub == "force-complete" ? args.size() == 4
                  : sub == "force-restart" ? args.size() <= 4
                                           : args.size() <= 3;
      if (!fits)
        return usage_error(fmt::format(
          "service plan {}: give PLAN{}", sub,
          sub == "force-complete"   ? " PHASE STEP"
          : sub == "force-restart" ? " [PHASE [STEP]]"
                                   : " [PHASE]"));
      if (args.size() > 2)
        query = "?phase=" + args[2];
      if (args.size() > 3)
        query += "&step=" + args[3];
    }
    return print_answer("plan " + sub,
                        rest_call(scheduler, "POST",
                                  "/v1/plans/" + plan + "/" + op->second
                                    + query,
                                  body));
  }

  if (group == "pod") {
    if (args.empty())
      return usage_error("service pod: which command? (list, status, "
                         "restart, replace)");
    auto sub = args[0];
    if (sub == "list")
      return print_answer("pod list", rest_call(scheduler, "GET", "/v1/pod"));
    if (sub == "status") {
      bool one = args.size() > 1;
      auto r = rest_call(scheduler, "GET",
                         one ? "/v1/pod/" + args[1] + "/status"
                             : "/v1/pod/status");
      if (!r)
        return fail("pod status", r.error());
      auto answer = parse_answer(scheduler, *r);
      if (!answer)
        return fail("pod status", answer.error());
      if (json) {
        std::puts(pretty(*answer).c_str());
        return 0;
      }
      if (one) {
        std::puts(field(*answer, "name").string_value().c_str());
        print_tasks(*answer, "");
        return 0;
      }
      std::puts(field(*answer, "service").string_value().c_str());
      const auto& pods = field(*answer, "pods").list_value().values();
      for (int i = 0; i < pods.size(); ++i) {
        const auto& pod = pods[i].struct_value();
        bool last = i + 1 == pods.size();
        std::printf("%s%s\n", branch(last).c_str(),
                    field(pod, "name").string_value().c_str());
        const auto& instances
          = field(pod, "instances").list_value().values();
        for (int j = 0; j < instances.size(); ++j) {
          const auto& inst = instances[j].struct_value();
          bool last_inst = j + 1 == instances.size();
          std::printf("%s%s%s\n", indent(last).c_str(),
                      branch(last_inst).c_str(),
                      field(inst, "name").string_value().c_str());
          print_tasks(inst, indent(last) + indent(last_inst));
        }
      }
      return 0;
    }
    if (sub == "restart" || sub == "replace") {
      if (args.size() != 2)
        return usage_error("service pod " + sub + ": which pod? (give one "
                           "name, as `pod list` prints them)");
      auto r = rest_call(scheduler, "POST", "/v1/pod/" + args[1] + "/" + sub);
      if (!r)
        return fail("pod " + sub, r.error());
      auto answer = parse_answer(scheduler, *r);
      if (!answer)
        return fail("pod " + sub, answer.error());
      std::puts(pretty(*answer).c_str());
      return 0;
    }
    return usage_error("unknown command 'service pod " + sub + "'");
  }
  return usage_error("unknown command 'service " + group
                     + "' (plan, pod, endpoints)");
}

} // namespace dcos::cli
