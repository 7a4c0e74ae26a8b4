// The agent's v1 operator API (POST /api/v1 on dcos-agent) against a real
// master and agent running a task launched with `dcos execute`: the agent's
// state, containers (with their usage), metrics, flags, logging level and
// sandbox files as Mesos' agent answers them, the same sandbox through the
// master, over curl, and Mesos' answers to bad input.
#include <signal.h>

#include <memory>
#include <string>

#include <boost/beast/core/detail/base64.hpp>
#include <doctest/doctest.h>

#include "dcos/wire_types.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/executed_task.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

http_result agent_call(const std::string& agent, const std::string& body,
                       const std::string& accept = "application/json") {
  return curl({"-X", "POST", "-H", "Content-Type: application/json", "-H",
               "Accept: " + accept, "--data-binary", body,
               "http://" + agent + "/api/v1"});
}

// The answer to a call, parsed; fails the test unless it is 200.
google::protobuf::Struct answer(const std::string& agent,
                                const std::string& body) {
  auto r = agent_call(agent, body);
  INFO(body, " -> ", r.body);
  REQUIRE(r.status == 200);
  return parse_json_object(r.body);
}

const google::protobuf::Struct& field(const google::protobuf::Struct& s,
                                      const std::string& name) {
  auto i = s.fields().find(name);
  REQUIRE_MESSAGE(i != s.fields().end(), "no field ", name);
  return i->second.struct_value();
}

const google::protobuf::ListValue& list(const google::protobuf::Struct& s,
                                        const std::string& name) {
  static const google::protobuf::ListValue empty;
  auto i = s.fields().find(name);
  return i == s.fields().end() ? empty : i->second.list_value();
}

std::string base64_decode(const std::string& in) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::decoded_size(in.size()), '\0');
  auto [written, read] = b64::decode(out.data(), in.data(), in.size());
  out.resize(written);
  return out;
}

} // namespace

TEST_CASE("the agent's v1 API: state, containers, metrics and sandbox files "
          "of a running task; bad calls refused") {
  task_on_agent cluster{"api-task", "echo hello-api; sleep 600"};
  const auto& dir = cluster.dir;
  const auto& master = cluster.master;
  const auto& a = cluster.address;
  const auto& run = cluster.run;
  CHECK(run.task.name() == "api-task");

  auto health = answer(a, R"({"type":"GET_HEALTH"})");
  CHECK(health.fields().at("type").string_value() == "GET_HEALTH");
  CHECK(field(health, "get_health").fields().at("healthy").bool_value());
  // The same answer in protobuf when asked for.
  auto binary = agent_call(a, R"({"type":"GET_HEALTH"})",
                           "application/x-protobuf");
  REQUIRE(binary.status == 200);
  v1::agent::Response parsed;
  REQUIRE(parsed.ParseFromString(binary.body));
  CHECK(parsed.get_health().healthy());
  auto version = answer(a, R"({"type":"GET_VERSION"})");
  CHECK_FALSE(field(field(version, "get_version"), "version_info")
                .fields().at("version").string_value().empty());

  auto state = field(answer(a, R"({"type":"GET_STATE"})"), "get_state");
  CHECK(list(field(state, "get_tasks"), "launched_tasks").values_size() == 1);
  CHECK(list(field(state, "get_executors"), "executors").values_size() == 1);
  const auto& frameworks = list(field(state, "get_frameworks"), "frameworks");
  REQUIRE(frameworks.values_size() == 1);
  CHECK(field(frameworks.values(0).struct_value(), "framework_info")
          .fields().at("name").string_value()
        == "dcos-execute (api-task)");

  auto containers = field(answer(a, R"({"type":"GET_CONTAINERS"})"),
                          "get_containers");
  REQUIRE(list(containers, "containers").values_size() == 1);
  const auto& container = list(containers, "containers").values(0)
                            .struct_value();
  auto pid = static_cast<pid_t>(field(container, "container_status")
                                  .fields().at("executor_pid").number_value());
  CHECK(pid > 0);
  CHECK(::kill(pid, 0) == 0); // the executor the agent reports is alive
  // Its usage, as /monitor/statistics reports it.
  const auto& stats = field(container, "resource_statistics");
  CHECK(stats.fields().at("timestamp").number_value() > 0);
  CHECK(stats.fields().at("processes").number_value() >= 1);
  CHECK(stats.fields().at("mem_rss_bytes").number_value() > 0);
  CHECK(stats.fields().count("cpus_user_time_secs") == 1);
  CHECK(stats.fields().at("cpus_limit").number_value() > 0);

  auto agent_info = field(field(answer(a, R"({"type":"GET_AGENT"})"),
                                "get_agent"),
                          "agent_info");
  // Every resource says its type, SCALAR too, as Mesos' JSON does.
  for (const auto& r : list(agent_info, "resources").values())
    CHECK(r.struct_value().fields().count("type") == 1);
  CHECK_FALSE(field(agent_info, "id").fields().at("value").string_value()
                .empty());

  auto metrics = field(answer(a, R"({"type":"GET_METRICS"})"), "get_metrics");
  bool running_one = false;
  for (const auto& m : list(metrics, "metrics").values()) {
    const auto& f = m.struct_value().fields();
    if (f.at("name").string_value() == "slave/tasks_running")
      running_one = f.at("value").number_value() == 1;
  }
  CHECK(running_one);

  // The sandbox, as /state names it.
  auto legacy = parse_json_object(curl({"http://" + a + "/state"}).body);
  auto sandbox = list(legacy, "frameworks").values(0).struct_value()
                   .fields().at("executors").list_value().values(0)
                   .struct_value().fields().at("directory").string_value();
  auto files = field(answer(a, R"({"type":"LIST_FILES","list_files":{"path":")"
                                 + sandbox + R"("}})"),
                     "list_files");
  bool has_stdout = false;
  for (const auto& f : list(files, "file_infos").values()) {
    const auto& fields = f.struct_value().fields();
    if (fields.at("path").string_value() == sandbox + "/stdout")
      has_stdout = fields.at("size").number_value() > 0;
  }
  CHECK(has_stdout);
  auto read_body = [&](const std::string& extra) {
    return R"({"type":"READ_FILE","read_file":{"path":")" + sandbox
           + R"(/stdout","offset":)" + extra + "}}";
  };
  auto whole = field(answer(a, read_body("0")), "read_file");
  CHECK(base64_decode(whole.fields().at("data").string_value())
        == "hello-api\n");
  CHECK(whole.fields().at("size").number_value() == 10);
  auto part = field(answer(a, read_body(R"(6,"length":3)")), "read_file");
  CHECK(base64_decode(part.fields().at("data").string_value()) == "api");

  // Bad input: the documented status and a body that says what is wrong.
  auto outside = agent_call(a, R"({"type":"LIST_FILES","list_files":{"path":"/etc"}})");
  CHECK(outside.status == 400);
  CHECK(outside.body.find("outside the agent's work directory")
        != std::string::npos);
  auto missing = agent_call(a, R"({"type":"READ_FILE","read_file":{"path":")"
                                 + sandbox + R"(/no-such-file"}})");
  CHECK(missing.status == 404);
  auto directory = agent_call(a, R"({"type":"READ_FILE","read_file":{"path":")"
                                   + sandbox + R"("}})");
  CHECK(directory.status == 400);
  CHECK(directory.body.find("is a directory") != std::string::npos);
  auto malformed = agent_call(a, R"({"type": )");
  CHECK(malformed.status == 400);
  auto unknown = agent_call(a, R"({"type":"NO_SUCH_CALL"})");
  CHECK(unknown.status == 400);
  CHECK(curl({"http://" + a + "/api/v1"}).status == 405);
  CHECK(curl({"-X", "POST", "-H", "Content-Type: text/plain", "-d", "x",
              "http://" + a + "/api/v1"})
          .status
        == 415);

  // The same sandbox through the master, which asks the agent the path
  // names; the agent's refusals pass through.
  const auto m = master.address();
  auto via_master = field(answer(m, R"({"type":"LIST_FILES","list_files":{"path":")"
                                      + sandbox + R"("}})"),
                          "list_files");
  bool master_lists_stdout = false;
  for (const auto& f : list(via_master, "file_infos").values())
    master_lists_stdout = master_lists_stdout
                          || f.struct_value().fields().at("path").string_value()
                               == sandbox + "/stdout";
  CHECK(master_lists_stdout);
  auto read_via_master = field(answer(m, read_body(R"(6,"length":3)")),
                               "read_file");
  CHECK(base64_decode(read_via_master.fields().at("data").string_value())
        == "api");
  CHECK(read_via_master.fields().at("size").number_value() == 10);
  v1::master::Response master_binary;
  auto binary_read = agent_call(m, read_body("0"), "application/x-protobuf");
  REQUIRE(binary_read.status == 200);
  REQUIRE(master_binary.ParseFromString(binary_read.body));
  CHECK(master_binary.read_file().data() == "hello-api\n");
  auto missing_via_master = agent_call(
    m, R"({"type":"READ_FILE","read_file":{"path":")" + sandbox
         + R"(/no-such-file"}})");
  CHECK(missing_via_master.status == 404);
  auto not_sandbox = agent_call(
    m, R"({"type":"LIST_FILES","list_files":{"path":"/etc"}})");
  CHECK(not_sandbox.status == 404);
  CHECK(not_sandbox.body.find("list_files.path: '/etc' is not in an agent's "
                              "sandbox")
        != std::string::npos);
  auto unknown_agent = agent_call(
    m, R"({"type":"LIST_FILES","list_files":{"path":"/tmp/slaves/no-such-agent/frameworks/f"}})");
  CHECK(unknown_agent.status == 404);
  CHECK(unknown_agent.body.find("agent no-such-agent is not registered")
        != std::string::npos);

  // GET_FLAGS, on the agent and on the master: every flag, as /flags.
  auto flag_value = [&](const std::string& address, const std::string& name) {
    std::string value = "(absent)";
    auto flags = field(answer(address, R"({"type":"GET_FLAGS"})"), "get_flags");
    for (const auto& f : list(flags, "flags").values())
      if (f.struct_value().fields().at("name").string_value() == name)
        value = f.struct_value().fields().at("value").string_value();
    return value;
  };
  CHECK(flag_value(a, "work_dir") == dir / "agent");
  CHECK(flag_value(m, "ip") == "127.0.0.1");

  // The agent's logging level: raised for a while, then back to 0.
  auto level = [&] {
    return field(answer(a, R"({"type":"GET_LOGGING_LEVEL"})"),
                 "get_logging_level")
      .fields()
      .at("level")
      .number_value();
  };
  CHECK(level() == 0);
  auto set = agent_call(a, R"({"type":"SET_LOGGING_LEVEL","set_logging_level":)"
                           R"({"level":1,"duration":{"nanoseconds":5000000000}}})");
  CHECK(set.status == 200);
  CHECK(set.body.empty());
  CHECK(level() == 1);
  CHECK(eventually([&] { return level() == 0; }, 20s));
  auto forever = agent_call(a, R"({"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":2}})");
  CHECK(forever.status == 400);
  CHECK(forever.body.find("set_logging_level.duration: must be positive")
        != std::string::npos);
  CHECK(level() == 0);
}
