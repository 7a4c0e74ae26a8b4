// Debug sessions in a running task's container, against a real master and
// agent: Mesos' LAUNCH_NESTED_CONTAINER_SESSION (the output streamed back
// as RecordIO ProcessIO records), ATTACH_CONTAINER_INPUT (a streamed
// request), ATTACH_CONTAINER_OUTPUT, WAIT_NESTED_CONTAINER and
// KILL_NESTED_CONTAINER over curl, `dcos task exec` (with --interactive) on
// top of them, a session ended when its client leaves, the refusals of bad
// calls, and sessions at a terminal (--tty).
#include <sys/wait.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/http_client.hpp"
#include "dcos/http_upload.hpp"
#include "dcos/recordio.hpp"
#include "dcos/wire_types.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/executed_task.hpp"
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

// ATTACH_CONTAINER_INPUT's records: the container, then stdin's bytes
// (base64), an empty piece being EOF.
std::string attach_record(const std::string& container) {
  return recordio::encode(R"({"type":"ATTACH_CONTAINER_INPUT",)"
                          R"("attach_container_input":{"type":"CONTAINER_ID",)"
                          R"("container_id":)" + container + "}}");
}

std::string stdin_record(const std::string& base64) {
  return recordio::encode(
    R"({"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{)"
    R"("type":"PROCESS_IO","process_io":{"type":"DATA","data":{)"
    R"("type":"STDIN","data":")" + base64 + R"("}}}})");
}

// POST `body` to the agent's /api/v1.
http_call api_post(const std::string& agent, std::string content_type,
                   std::string body) {
  auto where = parse_host_port(agent, 5051);
  REQUIRE(where);
  http_call c;
  c.method = "POST";
  c.host = where->first;
  c.port = where->second;
  c.target = "/api/v1";
  c.content_type = std::move(content_type);
  c.body = std::move(body);
  return c;
}

// An ATTACH_CONTAINER_INPUT stream, opened with `first` as its first bytes.
std::unique_ptr<http_upload> open_input(const std::string& agent,
                                        const std::string& first,
                                        const std::string& records_type
                                        = "application/json") {
  auto c = api_post(agent, "application/recordio", first);
  c.headers = {{"Message-Content-Type", records_type}};
  auto up = http_upload::open(c);
  DCOS_REQUIRE_OK(up);
  return std::move(*up);
}

// A curl that streams a session's output (LAUNCH_NESTED_CONTAINER_SESSION
// or ATTACH_CONTAINER_OUTPUT) until it ends, its stdout captured.
std::unique_ptr<subprocess> stream_reader(const std::string& agent,
                                          const std::string& body) {
  subprocess_options o;
  o.argv = {"curl", "-s", "-N", "-X", "POST", "-H",
            "Content-Type: application/json", "-H",
            "Accept: application/recordio", "--data-binary", body,
            "http://" + agent + "/api/v1"};
  o.capture_stdout = true;
  auto p = subprocess::spawn(o);
  DCOS_REQUIRE_OK(p);
  return std::make_unique<subprocess>(std::move(*p));
}

} // namespace

TEST_CASE("debug sessions in a running task: output, exit status, "
          "`dcos task exec`, a client that leaves, bad calls") {
  task_on_agent cluster{"exec-task", "sleep 600"};
  const auto& dir = cluster.dir;
  const auto& master = cluster.master;
  const auto& a = cluster.address;
  const auto& task = cluster.run.task;
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
  // Without --interactive the command reads an empty stdin and ends.
  auto no_input = run_to_end({binary("DCOS_CLI"), "task", "exec",
                              "--master=" + master.address(),
                              task.task_id().value(), "sh", "-c",
                              "cat; echo read-to-eof"});
  CHECK(no_input.status == 0);
  CHECK(no_input.out == "read-to-eof\n");
  // With it, our stdin reaches the command as we write it, a line now and
  // one a second later, and its end ends the command's loop.
  auto typed = run_to_end(
    {"sh", "-c",
     "(echo one; sleep 1; echo two) | \"$0\" task exec -i --master=$1 $2 "
     "sh -c 'while read line; do echo got-$line; done; exit 6'",
     binary("DCOS_CLI"), master.address(), task.task_id().value()});
  CHECK(typed.status == 6);
  CHECK(typed.out == "got-one\ngot-two\n");

  // ATTACH_CONTAINER_OUTPUT and ATTACH_CONTAINER_INPUT over curl: a session
  // waits for a line; a second client follows its output; the line comes
  // from a third, as a RecordIO body.
  auto s4 = R"({"value":"s4","parent":)" + parent + "}";
  auto launcher = stream_reader(a, session_body("s4", parent,
                                                "echo ready; read x; "
                                                "echo got-$x"));
  DCOS_REQUIRE_OK(launcher->read_line(30s)); // its first record: it runs
  // The follower (a client that tells when the answer's head is in: curl
  // holds it back until the body comes).
  auto follow_call = api_post(a, "application/json",
                              R"({"type":"ATTACH_CONTAINER_OUTPUT",)"
                              R"("attach_container_output":{"container_id":)"
                                + s4 + "}}");
  follow_call.headers = {{"Accept", "application/recordio"}};
  struct following {
    std::promise<unsigned> head;
    std::promise<caf::error> end;
    std::mutex mtx;
    std::string body;
  };
  auto follow = std::make_shared<following>();
  http_client follower;
  http_stream_reader follow_reader;
  follow_reader.head = [follow](const http_reply& r) {
    follow->head.set_value(r.status);
  };
  follow_reader.data = [follow](std::string_view data) {
    std::lock_guard<std::mutex> guard{follow->mtx};
    follow->body.append(data);
    return true;
  };
  follow_reader.end = [follow](const caf::error& err) {
    follow->end.set_value(err);
  };
  auto follow_head = follow->head.get_future();
  auto follow_end = follow->end.get_future();
  follower.stream(follow_call, std::move(follow_reader));
  REQUIRE(follow_head.wait_for(30s) == std::future_status::ready);
  CHECK(follow_head.get() == 200);
  // One input at a time: while ours is attached, another is refused.
  // (Two clients attaching at once race for it: start over until the
  // first one has won. The loser of a round leaves stdin open.)
  std::unique_ptr<http_upload> held;
  std::string refusal;
  CHECK(eventually([&] {
    held = open_input(a, attach_record(s4));
    auto second = open_input(a, attach_record(s4))->finish(10s);
    if (second && second->status == 409) {
      refusal = second->body;
      return true;
    }
    (void) held->finish(10s);
    held.reset();
    return false;
  }, 20s));
  REQUIRE(held);
  CHECK(contains(refusal, "input attached already"));
  // The parent is part of the session's name.
  auto wrong_parent = open_input(a, attach_record(R"({"value":"s4",)"
                                                  R"("parent":{"value":"x"}})"))
                        ->finish(10s);
  DCOS_REQUIRE_OK(wrong_parent);
  CHECK(wrong_parent->status == 404);
  auto released = held->finish(10s); // the stream ends, stdin stays open
  DCOS_REQUIRE_OK(released);
  CHECK(released->status == 200);
  write_file(dir / "input", attach_record(s4) + stdin_record("aGkK")
                              + stdin_record(""));
  auto fed = curl({"-X", "POST", "-H", "Content-Type: application/recordio",
                   "-H", "Message-Content-Type: application/json",
                   "--data-binary", "@" + (dir / "input"),
                   "http://" + a + "/api/v1"});
  INFO(fed.body);
  CHECK(fed.status == 200);
  auto launched_rest = launcher->read_all(30s);
  DCOS_REQUIRE_OK(launched_rest);
  CHECK(contains(*launched_rest, "Z290LWhpCg==")); // "got-hi\n"
  CHECK(launcher->wait() == 0);
  // The follower's stream has it too, and ended with the session.
  REQUIRE(follow_end.wait_for(30s) == std::future_status::ready);
  CHECK(!follow_end.get());
  {
    std::lock_guard<std::mutex> guard{follow->mtx};
    CHECK(contains(follow->body, "Z290LWhpCg=="));
  }
  status = wait_status(a, s4);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // Refusals of the streamed calls.
  auto ended = open_input(a, attach_record(s4))->finish(10s);
  DCOS_REQUIRE_OK(ended);
  CHECK(ended->status == 404);
  CHECK(contains(ended->body, "is not a debug session"));
  auto no_id = open_input(a, stdin_record("aGkK"))->finish(10s);
  DCOS_REQUIRE_OK(no_id);
  CHECK(no_id->status == 400);
  CHECK(contains(no_id->body, "attach_container_input.container_id"));
  auto garbage = open_input(a, "5\nnot j")->finish(10s);
  DCOS_REQUIRE_OK(garbage);
  CHECK(garbage->status == 400);
  auto bad_type = open_input(a, attach_record(s4), "text/plain")->finish(10s);
  DCOS_REQUIRE_OK(bad_type);
  CHECK(bad_type->status == 415);
  CHECK(contains(bad_type->body, "Message-Content-Type"));
  auto unstreamed = call(a, R"({"type":"ATTACH_CONTAINER_INPUT",)"
                            R"("attach_container_input":{)"
                            R"("type":"CONTAINER_ID","container_id":)"
                              + s4 + "}}");
  CHECK(unstreamed.status == 415);
  auto output_of = [&](const std::string& id) {
    return R"({"type":"ATTACH_CONTAINER_OUTPUT","attach_container_output":{)"
           R"("container_id":)" + id + "}}";
  };
  auto follow_ended = call(a, output_of(s4), streaming);
  CHECK(follow_ended.status == 404);
  auto follow_json = call(a, output_of(s4));
  CHECK(follow_json.status == 406);

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
}

namespace {

std::string tty_session_body(const std::string& id, const std::string& parent,
                             const std::string& command, unsigned rows,
                             unsigned columns) {
  return R"({"type":"LAUNCH_NESTED_CONTAINER_SESSION",)"
         R"("launch_nested_container_session":{"container_id":{"value":")"
         + id + R"(","parent":)" + parent
         + R"(},"command":{"shell":true,"value":")" + command
         + R"("},"container":{"type":"MESOS","tty_info":{"window_size":{)"
         + fmt::format(R"("rows":{},"columns":{})", rows, columns) + "}}}}}";
}

std::string tty_record(unsigned rows, unsigned columns) {
  return recordio::encode(
    R"({"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{)"
    R"("type":"PROCESS_IO","process_io":{"type":"CONTROL","control":{)"
    R"("type":"TTY_INFO","tty_info":{"window_size":{)"
    + fmt::format(R"("rows":{},"columns":{})", rows, columns) + "}}}}}}");
}

} // namespace

TEST_CASE("debug sessions at a terminal: its size, resizes, EOF, "
          "`dcos task exec -it`") {
  task_on_agent cluster{"tty-task", "sleep 600"};
  const auto& master = cluster.master;
  const auto& a = cluster.address;
  const auto& task = cluster.run.task;
  std::string parent;
  REQUIRE(google::protobuf::util::MessageToJsonString(
            task.statuses(0).container_status().container_id(), &parent)
            .ok());

  // All three streams are the terminal, of the size asked, which the
  // session controls; its output comes as stdout, with the terminal's line
  // ends; TERM says what it is.
  auto r = call(a,
                tty_session_body("t1", parent,
                                 "test -t 0 && test -t 1 && test -t 2 && "
                                 "echo on-a-tty; stty size; echo $TERM; "
                                 "echo oops >&2; "
                                 "ps -o pid=,tpgid= -p $$ | awk '$1 == $2 "
                                 "{print \\\"in-front\\\"}'",
                                 33, 101),
                streaming);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = decode(r.body);
  CHECK(o.out == "on-a-tty\r\n33 101\r\nxterm\r\noops\r\nin-front\r\n");
  CHECK(o.err.empty());

  // Input for a session once it runs (404 until then).
  auto feed = [&](const std::string& id, const std::string& records) {
    CHECK(eventually([&] {
      auto fed = open_input(a, attach_record(id) + records)->finish(10s);
      return fed && fed->status == 200;
    }, 30s));
  };
  // TTY_INFO resizes it, in order with the input around it.
  auto resized = stream_reader(a, tty_session_body("t2", parent,
                                                   "read x; stty size",
                                                   24, 80));
  feed(R"({"value":"t2","parent":)" + parent + "}",
       tty_record(40, 120) + stdin_record("Z28K")); // "go\n"
  auto resized_out = resized->read_all(30s);
  DCOS_REQUIRE_OK(resized_out);
  CHECK(resized->wait() == 0);
  // The terminal echoes what it is typed.
  CHECK(decode(*resized_out).out == "go\r\n40 120\r\n");

  // EOF at a terminal is its EOF character: a reader ends, the terminal
  // stays for the output after it.
  auto eof = stream_reader(a, tty_session_body("t3", parent,
                                               "cat; echo after-eof", 24, 80));
  auto t3 = R"({"value":"t3","parent":)" + parent + "}";
  feed(t3, stdin_record("aGkK") + stdin_record("")); // "hi\n", EOF
  auto eof_out = eof->read_all(30s);
  DCOS_REQUIRE_OK(eof_out);
  CHECK(decode(*eof_out).out == "hi\r\nhi\r\nafter-eof\r\n");
  CHECK(wait_status(a, t3) == 0);

  // `dcos task exec -it`: a shell at a terminal, fed by our stdin (not a
  // terminal here: ours stays as it is), its status ours.
  auto shell = run_to_end(
    {"sh", "-c",
     "printf 'echo in-$((1+2))\\nexit 3\\n' | \"$0\" task exec -it "
     "--master=$1 $2 sh",
     binary("DCOS_CLI"), master.address(), task.task_id().value()});
  INFO(shell.out);
  CHECK(shell.status == 3);
  CHECK(contains(shell.out, "in-3\r\n"));
  // -t alone: a terminal for the output, an empty input.
  auto out_only = run_to_end({binary("DCOS_CLI"), "task", "exec", "-t",
                              "--master=" + master.address(),
                              task.task_id().value(), "sh", "-c",
                              "test -t 1 && echo tty-out; exit 5"});
  CHECK(out_only.status == 5);
  CHECK(out_only.out == "tty-out\r\n");

  // A size the kernel cannot take is refused, naming the field.
  auto huge = call(a, tty_session_body("t4", parent, "true", 70000, 80),
                   streaming);
  CHECK(huge.status == 400);
  CHECK(contains(huge.body,
                 "launch_nested_container_session.container.tty_info."
                 "window_size"));
}
