// dcos agents | frameworks | tasks: readable tables, or --json for scripts.
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"
#include "dcos/resources.hpp"

namespace dcos::cli {

namespace {

std::string amount(const google::protobuf::RepeatedPtrField<v1::Resource>& rs,
                   const char* name) {
  auto parsed = resources::from_proto(rs);
  if (!parsed)
    return "?";
  return format_milli(to_milli(parsed->scalar(name).value_or(0)));
}

} // namespace

int list(const std::string& what, int argc, char** argv) {
  std::string master = "127.0.0.1:5050";
  bool json = false;
  flags f{"dcos " + what + " [--master=HOST:PORT] [--json]",
          "Lists the cluster's " + what + "."};
  f.add(&master, "master", "HOST:PORT of the master");
  f.add(&json, "json", "print the operator API's JSON");
  parse_or_exit(f, argc, argv);
  using T = v1::master::Call;
  auto type = what == "agents"       ? T::GET_AGENTS
              : what == "frameworks" ? T::GET_FRAMEWORKS
                                     : T::GET_TASKS;
  auto r = operator_call(master, type);
  if (!r) {
    std::fprintf(stderr, "dcos %s: %s\n", what.c_str(),
                 describe_reason(r.error()).c_str());
    return 1;
  }
  if (json) {
    std::puts(what == "agents"       ? to_json(r->get_agents()).c_str()
              : what == "frameworks" ? to_json(r->get_frameworks()).c_str()
                                     : to_json(r->get_tasks()).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  if (what == "agents") {
    rows.push_back({"HOSTNAME", "ID", "ACTIVE", "CPUS", "MEM", "USED CPUS",
                    "USED MEM"});
    for (const auto& a : r->get_agents().agents())
      rows.push_back({a.agent_info().hostname(), a.agent_info().id().value(),
                      a.active() ? "true" : "false",
                      amount(a.total_resources(), "cpus"),
                      amount(a.total_resources(), "mem"),
                      amount(a.allocated_resources(), "cpus"),
                      amount(a.allocated_resources(), "mem")});
  } else if (what == "frameworks") {
    rows.push_back({"NAME", "ID", "ACTIVE", "CONNECTED", "CPUS", "MEM"});
    for (const auto& f : r->get_frameworks().frameworks())
      rows.push_back({f.framework_info().name(), f.framework_info().id().value(),
                      f.active() ? "true" : "false",
                      f.connected() ? "true" : "false",
                      amount(f.allocated_resources(), "cpus"),
                      amount(f.allocated_resources(), "mem")});
  } else {
    auto agents = operator_call(master, T::GET_AGENTS);
    std::map<std::string, std::string> hostnames;
    if (agents)
      for (const auto& a : agents->get_agents().agents())
        hostnames[a.agent_info().id().value()] = a.agent_info().hostname();
    rows.push_back({"NAME", "ID", "STATE", "HOST", "FRAMEWORK"});
    const auto& t = r->get_tasks();
    for (const auto* list : {&t.tasks(), &t.unreachable_tasks(),
                             &t.completed_tasks()})
      for (const auto& task : *list)
        rows.push_back({task.name(), task.task_id().value(),
                        v1::TaskState_Name(task.state()),
                        hostnames.count(task.agent_id().value())
                          ? hostnames[task.agent_id().value()]
                          : task.agent_id().value(),
                        task.framework_id().value()});
  }
  print_table(rows);
  return 0;
}

} // namespace dcos::cli
