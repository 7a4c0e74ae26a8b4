// Debug sessions in a running task's container, against a real master and
// agent: Mesos' LAUNCH_NESTED_CONTAINER_SESSION (the output streamed back
// as RecordIO ProcessIO records), WAIT_NESTED_CONTAINER and
// KILL_NESTED_CONTAINER over curl, `dcos task exec` on top of them, a
// session ended when its client leaves, and the refusals of bad calls.
#include <sys/wait.h>

#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/recordio.hpp"
#include "dcos/wire_types.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

http_result call(const std::string& agent, const std::string& body,
                 std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-X", "POST", "-H",
                                "Content-Type: application/json", "-H",
                                "Accept: application/json"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"--data-binary", body,
                           "http://" + agent + "/api/v1"});
  return curl(args);
}

const std::vector<std::string> streaming = {
  "-H", "Accept: application/recordio", "-H",
  "Message-Accept: application/json"};

std::string session_body(const std::string& id, const std::string& parent,
                         const std::string& command) {
  return R"({"type":"LAUNCH_NESTED_CONTAINER_SESSION",)"
         R"("launch_nested_container_session":{"container_id":{"value":")"
         + id + R"(","parent":)" + parent
         + R"(},"command":{"shell":true,"value":")" + command + R"("}}})";
}

struct output {
  std::string out, err;
};

// The session's stdout and stderr, from its RecordIO stream.
output decode(const std::string& stream) {
  recordio::decoder decoder;
  auto records = decoder.decode(stream);
  REQUIRE_MESSAGE(records, describe(records.error()));
  CHECK(decoder.at_boundary());
  output o;
  for (const auto& r : *records) {
    v1::agent::ProcessIO io;
    REQUIRE(google::protobuf::util::JsonStringToMessage(r, &io).ok());
    REQUIRE(io.type() == v1::agent::ProcessIO::DATA);
    (io.data().type() == v1::agent::ProcessIO::Data::STDOUT ? o.out : o.err)
      += io.data().data();
  }
  return o;
}

// The session's wait(2) status.
int wait_status(const std::string& agent, const std::string& container) {
  auto r = call(agent, R"({"type":"WAIT_NESTED_CONTAINER",)"
                       R"("wait_nested_container":{"container_id":)"
                         + container + "}}");
  INFO(r.body);
  REQUIRE(r.status == 200);
  v1::agent::Response response;
  REQUIRE(google::protobuf::util::JsonStringToMessage(r.body, &response).ok());
  CHECK(response.type() == v1::agent::Response::WAIT_NESTED_CONTAINER);
  return response.wait_nested_container().exit_status();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("debug sessions in a running task: output, exit status, "
          "`dcos task exec`, a client that leaves, bad calls") {
  scratch_dir dir;
  master_process master;
  auto agent = std::make_unique<agent_process>(master.address(),
                                               dir / "agent");
  const auto a = agent->address();
  subprocess_options exec;
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master.address(),
               "--name=exec-task", "--command=sleep 600"};
  exec.stdout_path = "/dev/null";
  exec.stderr_path = dir / "execute.err";
  auto run = subprocess::spawn(exec);
  DCOS_REQUIRE_OK(run);
  // The task's container, as its statuses name it.
  v1::agent::Response tasks;
  REQUIRE(eventually([&] {
    auto r = call(a, R"({"type":"GET_TASKS"})");
    tasks.Clear();
    if (r.status != 200
        || !google::protobuf::util::JsonStringToMessage(r.body, &tasks).ok())
      return false;
    const auto& launched = tasks.get_tasks().launched_tasks();
    return launched.size() == 1 && launched[0].state() == v1::TASK_RUNNING;
  }, 60s));
  const auto& task = tasks.get_tasks().launched_tasks(0);
  const auto& container = task.statuses(0).container_status().container_id();
  REQUIRE(container.has_parent());
  CHECK(container.value() == task.task_id().value());
  std::string parent;
  REQUIRE(google::protobuf::util::MessageToJsonString(container, &parent)
            .ok());
  auto sandbox = parse_json_object(curl({"http://" + a + "/state"}).body)
                   .fields().at("frameworks").list_value().values(0)
                   .struct_value().fields().at("executors").list_value()
                   .values(0).struct_value().fields().at("directory")
                   .string_value();

  // A session: the task's environment and sandbox, both streams, its status.
  auto r = call(a,
                session_body("s1", parent,
                             "echo $MESOS_TASK_ID; pwd; echo oops >&2; exit 3"),
                streaming);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = decode(r.body);
  CHECK(o.out == task.task_id().value() + "\n" + sandbox + "\n");
  CHECK(o.err == "oops\n");
  auto s1 = R"({"value":"s1","parent":)" + parent + "}";
  auto status = wait_status(a, s1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  // An id used before is refused: its end is kept for WAIT, as in Mesos.
  auto again = call(a, session_body("s1", parent, "true"), streaming);
  CHECK(again.status == 409);

  // `dcos task exec`: the command's output, its exit status ours, and its
  // own flags passed through.
  auto cli = run_to_end({binary("DCOS_CLI"), "task", "exec",
                         "--master=" + master.address(),
                         task.task_id().value(), "sh", "-c",
                         "echo via-cli $MESOS_TASK_ID; exit 4"});
  CHECK(cli.status == 4);
  CHECK(cli.out == "via-cli " + task.task_id().value() + "\n");
  auto flags = run_to_end({binary("DCOS_CLI"), "task", "exec",
                           "--master=" + master.address(),
                           task.task_id().value(), "printf", "%s,",
                           "--all", "-l"});
  CHECK(flags.status == 0);
  CHECK(flags.out == "--all,-l,");
  auto no_task = run_to_end({binary("DCOS_CLI"), "task", "exec",
                             "--master=" + master.address(), "no-such-task",
                             "true"});
  CHECK(no_task.status == 1);
  CHECK(contains(no_task.out, "no task 'no-such-task'"));

  // A client that leaves ends its session: curl gives up after a second.
  auto left = call(a, session_body("s2", parent, "sleep 600"),
                   {"-H", "Accept: application/recordio", "--max-time", "1"});
  CHECK(left.status == 200); // the head came; curl left mid-stream
  auto s2 = R"({"value":"s2","parent":)" + parent + "}";
  status = wait_status(a, s2);
  CHECK(WIFSIGNALED(status));
  // KILL_NESTED_CONTAINER ends a session that runs; the task stays.
  auto kill_body = [&](const std::string& id) {
    return R"({"type":"KILL_NESTED_CONTAINER",)"
           R"("kill_nested_container":{"container_id":)" + id + "}}";
  };
  auto long_one = subprocess_options{};
  long_one.argv = {"curl", "-s", "-N", "-X", "POST", "-H",
                   "Content-Type: application/json", "-H",
                   "Accept: application/recordio", "--data-binary",
                   session_body("s3", parent, "echo started; sleep 600"),
                   "http://" + a + "/api/v1"};
  long_one.capture_stdout = true;
  auto reader = subprocess::spawn(long_one);
  DCOS_REQUIRE_OK(reader);
  auto first = reader->read_line(30s); // the record's length
  DCOS_REQUIRE_OK(first);
  auto s3 = R"({"value":"s3","parent":)" + parent + "}";
  auto killed = call(a, kill_body(s3));
  CHECK(killed.status == 200);
  status = wait_status(a, s3);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(reader->wait() == 0); // the stream ended with the session
  CHECK(call(a, kill_body(s3)).status == 404); // it has ended
  // The task's own container is not the operator's to kill here.
  CHECK(call(a, kill_body(parent)).status == 404);
  auto still = call(a, R"({"type":"GET_TASKS"})");
  CHECK(contains(still.body, "TASK_RUNNING"));

  // Bad calls: Mesos' status codes, a body naming the field.
  auto no_parent = call(a, R"({"type":"LAUNCH_NESTED_CONTAINER_SESSION",)"
                           R"("launch_nested_container_session":{)"
                           R"("container_id":{"value":"x"},)"
                           R"("command":{"value":"true"}}})",
                        streaming);
  CHECK(no_parent.status == 400);
  CHECK(contains(no_parent.body,
                 "launch_nested_container_session.container_id.parent: "
                 "required"));
  auto bad_id = call(a, session_body("a/b", parent, "true"), streaming);
  CHECK(bad_id.status == 400);
  CHECK(contains(bad_id.body, "container_id.value: 'a/b' is not a valid"));
  auto no_command = call(a, R"({"type":"LAUNCH_NESTED_CONTAINER_SESSION",)"
                            R"("launch_nested_container_session":{)"
                            R"("container_id":{"value":"x","parent":)"
                              + parent + "}}}",
                         streaming);
  CHECK(no_command.status == 400);
  CHECK(contains(no_command.body, "command.value: required"));
  auto unknown = call(a,
                      session_body("x", R"({"value":"no-such-container"})",
                                   "true"),
                      streaming);
  CHECK(unknown.status == 404);
  CHECK(contains(unknown.body, "no running container 'no-such-container'"));
  auto not_streamed = call(a, session_body("x", parent, "true"));
  CHECK(not_streamed.status == 406);
  CHECK(contains(not_streamed.body, "application/recordio"));
  auto wait_unknown = call(a, R"({"type":"WAIT_NESTED_CONTAINER",)"
                              R"("wait_nested_container":{"container_id":)"
                              R"({"value":"nope","parent":)"
                                + parent + "}}}");
  CHECK(wait_unknown.status == 404);

  run->terminate(5s);
  agent.reset();
  cleanup_agent_dir(master.address(), dir / "agent");
}
