// The operator's calls on agents and frameworks against a real dcos-master
// and dcos-agent: an agent drained under a Python framework's long tasks,
// an agent marked gone, and the other operator calls over curl, with
// Mesos' answers to bad input.
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// POST /api/v1 with a JSON body, as an operator's script does.
http_result operator_call(const std::string& master, const std::string& body) {
  return curl({"-X", "POST", "-H", "Content-Type: application/json", "-H",
               "Accept: application/json", "--data-binary", body,
               "http://" + master + "/api/v1"});
}

// The id of the only agent registered with `master`, once it is.
std::string only_agent(const std::string& master) {
  std::string id;
  REQUIRE(eventually([&] {
    auto r = operator_call(master, R"({"type": "GET_AGENTS"})");
    if (r.status != 200)
      return false;
    auto doc = parse_json_object(r.body);
    const auto& agents = doc.fields().at("get_agents").struct_value().fields();
    auto list = agents.find("agents");
    if (list == agents.end() || list->second.list_value().values_size() != 1)
      return false;
    id = list->second.list_value()
           .values(0)
           .struct_value()
           .fields()
           .at("agent_info")
           .struct_value()
           .fields()
           .at("id")
           .struct_value()
           .fields()
           .at("value")
           .string_value();
    return true;
  }));
  return id;
}

} // namespace

TEST_CASE("DRAIN_AGENT under a framework's long tasks: killed within the "
          "cap, DRAINED, no offers until reactivated") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent",
                      {"--resources=cpus:2;mem:1024"});
  only_agent(master.address());
  auto run = run_framework_script(
    "DCOS_DRAIN_FRAMEWORK", {"--master=" + master.address(), "--tasks=5"},
    dir / "framework.err");
  INFO(run.out);
  INFO(read_file(dir / "framework.err"));
  CHECK(run.status == 0);
  CHECK(run.out.find("ok: 5 tasks drained") != std::string::npos);
  agent.process.terminate();
  cleanup_agent_dir(master.address(), dir / "agent");
}

TEST_CASE("a scheduled maintenance window produces inverse offers to the "
          "framework on the machine; its answers show in the status") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent",
                      {"--resources=cpus:2;mem:1024"});
  only_agent(master.address());
  auto run = run_framework_script("DCOS_MAINTENANCE_FRAMEWORK",
                                  {"--master=" + master.address()},
                                  dir / "framework.err");
  INFO(run.out);
  INFO(read_file(dir / "framework.err"));
  CHECK(run.status == 0);
  CHECK(run.out.find("ok: inverse offers asked, accepted, rescinded and "
                     "declined")
        != std::string::npos);
  // Its tasks sleep on: an agent stopped with SIGTERM keeps them for
  // recovery, so end them too.
  agent.process.terminate();
  cleanup_agent_dir(master.address(), dir / "agent");
}

TEST_CASE("MARK_AGENT_GONE shuts the agent down; it is gone for good") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent");
  auto id = only_agent(master.address());

  auto unknown = operator_call(
    master.address(),
    R"({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": "nope"}}})");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("agent 'nope' not found") != std::string::npos);

  auto gone = operator_call(master.address(),
                            R"({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": ")"
                              + id + R"("}}})");
  CHECK(gone.status == 200);
  // The agent is told to stop, and does.
  CHECK(eventually([&] { return agent.process.poll().has_value(); }, 30s));
  auto agents = operator_call(master.address(), R"({"type": "GET_AGENTS"})");
  CHECK(agents.body.find(id) == std::string::npos);
  // Asking again changes nothing and is no error (as Mesos).
  CHECK(operator_call(master.address(),
                      R"({"type": "MARK_AGENT_GONE", "mark_agent_gone": {"agent_id": {"value": ")"
                        + id + R"("}}})")
          .status
        == 200);
  // Restarted on its work directory, the agent is refused.
  agent_process again(master.address(), dir / "agent");
  CHECK(eventually([&] { return again.process.poll().has_value(); }, 30s));
  CHECK(read_file(dir / "agent.log").find("removed for good")
        != std::string::npos);
}

TEST_CASE("operator calls over curl: teardown, the older quota calls, the "
          "logging level, and their refusals") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent");
  only_agent(master.address());
  const auto& m = master.address();

  auto teardown = operator_call(
    m, R"({"type": "TEARDOWN", "teardown": {"framework_id": {"value": "x"}}})");
  CHECK(teardown.status == 400);
  CHECK(teardown.body.find("teardown.framework_id: no framework with id 'x'")
        != std::string::npos);

  auto set = operator_call(m, R"({"type": "SET_QUOTA", "set_quota":
    {"quota_request": {"role": "gold", "guarantee": [{"name": "cpus",
     "type": "SCALAR", "scalar": {"value": 1}}]}}})");
  CHECK(set.status == 200);
  auto quota = operator_call(m, R"({"type": "GET_QUOTA"})");
  CHECK(quota.body.find(R"("limits":{"cpus":{"value":1}})")
        != std::string::npos);
  auto again = operator_call(m, R"({"type": "SET_QUOTA", "set_quota":
    {"quota_request": {"role": "gold", "guarantee": [{"name": "cpus",
     "type": "SCALAR", "scalar": {"value": 1}}]}}})");
  CHECK(again.status == 400);
  CHECK(again.body.find("already has quota") != std::string::npos);
  auto too_much = operator_call(m, R"({"type": "SET_QUOTA", "set_quota":
    {"quota_request": {"role": "silver", "guarantee": [{"name": "cpus",
     "type": "SCALAR", "scalar": {"value": 1000}}]}}})");
  CHECK(too_much.status == 409);
  CHECK(operator_call(m, R"({"type": "REMOVE_QUOTA", "remove_quota":
    {"role": "gold"}})").status == 200);
  auto removed = operator_call(m, R"({"type": "REMOVE_QUOTA", "remove_quota":
    {"role": "gold"}})");
  CHECK(removed.status == 400);
  CHECK(removed.body.find("has no quota set") != std::string::npos);

  auto level = operator_call(m, R"({"type": "SET_LOGGING_LEVEL",
    "set_logging_level": {"level": 1, "duration": {"nanoseconds": 60000000000}}})");
  CHECK(level.status == 200);
  auto get = operator_call(m, R"({"type": "GET_LOGGING_LEVEL"})");
  CHECK(get.status == 200);
  CHECK(get.body.find(R"("get_logging_level":{"level":1})")
        != std::string::npos);
  auto no_duration = operator_call(
    m, R"({"type": "SET_LOGGING_LEVEL", "set_logging_level": {"level": 1}})");
  CHECK(no_duration.status == 400);
  CHECK(no_duration.body.find("set_logging_level.duration")
        != std::string::npos);
}

TEST_CASE("maintenance over curl: a scheduled machine goes DOWN with its "
          "agent, and comes back UP") {
  scratch_dir dir;
  master_process master;
  const auto& m = master.address();
  auto agent = std::make_unique<agent_process>(
    m, dir / "agent", std::vector<std::string>{"--hostname=maint-host"});
  only_agent(m);
  auto machine = std::string(R"({"hostname": "maint-host"})");

  auto bad = operator_call(m, R"({"type": "UPDATE_MAINTENANCE_SCHEDULE",
    "update_maintenance_schedule": {"schedule": {"windows": [{"machine_ids": [],
    "unavailability": {"start": {"nanoseconds": 1}}}]}}})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("the list of machines in the maintenance window is "
                      "empty")
        != std::string::npos);
  auto scheduled = operator_call(m, R"({"type": "UPDATE_MAINTENANCE_SCHEDULE",
    "update_maintenance_schedule": {"schedule": {"windows": [{"machine_ids": [)"
                                      + machine + R"(],
    "unavailability": {"start": {"nanoseconds": 1000000000},
                       "duration": {"nanoseconds": 3600000000000}}}]}}})");
  CHECK(scheduled.status == 200);
  auto status = operator_call(m, R"({"type": "GET_MAINTENANCE_STATUS"})");
  CHECK(status.body.find(R"("draining_machines":[{"id":{"hostname":"maint-host"}}])")
        != std::string::npos);

  auto down = operator_call(m, R"({"type": "START_MAINTENANCE",
    "start_maintenance": {"machines": [)" + machine + "]}}");
  CHECK(down.status == 200);
  CHECK(eventually([&] { return agent->process.poll().has_value(); }, 30s));
  status = operator_call(m, R"({"type": "GET_MAINTENANCE_STATUS"})");
  CHECK(status.body.find(R"("down_machines":[{"hostname":"maint-host"}])")
        != std::string::npos);

  auto up = operator_call(m, R"({"type": "STOP_MAINTENANCE",
    "stop_maintenance": {"machines": [)" + machine + "]}}");
  CHECK(up.status == 200);
  auto schedule = operator_call(m, R"({"type": "GET_MAINTENANCE_SCHEDULE"})");
  CHECK(schedule.body.find("maint-host") == std::string::npos);
  // Back up, the machine's agent joins again.
  agent = std::make_unique<agent_process>(
    m, dir / "agent2", std::vector<std::string>{"--hostname=maint-host"});
  only_agent(m);
}
