// The operator event stream (SUBSCRIBE on POST /api/v1) against a real
// dcos-master and dcos-agent, read by curl as any operator tool reads it:
// while a framework in Python runs tasks, every launch arrives once as
// TASK_ADDED and every new state once as TASK_UPDATED, in order.
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/recordio.hpp"
#include "dcos/v1/master.pb.h"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using v1::master::Event;

namespace {

constexpr const char* subscribe_json = R"({"type": "SUBSCRIBE"})";

// curl following the stream at `url` into `out` (cut off after two
// minutes, far beyond the test); `accept` picks the encoding.
subprocess follow(const std::string& url, const std::string& out,
                  const std::string& headers, const std::string& body_file,
                  const std::string& content_type) {
  subprocess_options opts;
  opts.argv = {"curl", "-s", "-N", "--max-time", "120", "-D", headers,
               "-o", out, "-H", "Content-Type: " + content_type,
               "-H", "Accept: " + content_type, "--data-binary",
               "@" + body_file, url};
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  return std::move(*p);
}

// The records in `file` so far (a record cut in half waits for the next
// read).
std::vector<std::string> records_in(const std::string& file) {
  recordio::decoder decoder;
  auto got = decoder.decode(read_file(file));
  REQUIRE(got);
  return std::move(*got);
}

std::vector<Event> json_events(const std::string& file) {
  std::vector<Event> out;
  for (const auto& record : records_in(file)) {
    Event event;
    auto parsed = google::protobuf::util::JsonStringToMessage(record, &event);
    REQUIRE_MESSAGE(parsed.ok(), record);
    out.push_back(std::move(event));
  }
  return out;
}

// The id of the framework named `name` among FRAMEWORK_ADDED events.
std::string framework_named(const std::vector<Event>& events,
                            const std::string& name) {
  for (const auto& e : events)
    if (e.type() == Event::FRAMEWORK_ADDED
        && e.framework_added().framework().framework_info().name() == name)
      return e.framework_added().framework().framework_info().id().value();
  return "";
}

// Waits until the master at `address` has registered an agent.
void wait_for_agent(const std::string& address) {
  REQUIRE(eventually([&] {
    auto r = curl({"http://" + address + "/state"});
    return r.status == 200 && r.body.find("\"slaves\":[{") != std::string::npos;
  }));
}

} // namespace

TEST_CASE("the operator stream tells each launch and each new task state "
          "once, in order") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent");
  wait_for_agent(master.address());
  auto url = "http://" + master.address() + "/api/v1";
  write_file(dir / "subscribe", subscribe_json);
  auto stream = follow(url, dir / "events", dir / "headers",
                       dir / "subscribe", "application/json");

  // SUBSCRIBED first, with the state as it is: one agent, no framework.
  REQUIRE(eventually([&] { return !records_in(dir / "events").empty(); }));
  INFO(read_file(dir / "headers"));
  CHECK(read_file(dir / "headers").rfind("HTTP/1.1 200", 0) == 0);
  auto first = json_events(dir / "events").front();
  REQUIRE(first.type() == Event::SUBSCRIBED);
  CHECK(first.subscribed().heartbeat_interval_seconds() == 15);
  const auto& state = first.subscribed().get_state();
  REQUIRE(state.get_agents().agents_size() == 1);
  CHECK(state.get_agents().agents(0).agent_info().port() == agent.port);
  CHECK(state.get_frameworks().frameworks_size() == 0);

  // A framework runs 20 tasks to their end and tears down.
  constexpr int tasks = 20;
  auto run = run_http_framework(master.address(), tasks);
  REQUIRE_MESSAGE(run.status == 0, run.out);

  // Its removal is the last event it causes.
  std::vector<Event> events;
  std::string id;
  REQUIRE(eventually([&] {
    events = json_events(dir / "events");
    id = framework_named(events, "http-framework");
    for (const auto& e : events)
      if (e.type() == Event::FRAMEWORK_REMOVED
          && e.framework_removed().framework_info().id().value() == id)
        return true;
    return false;
  }));

  // Per task: added once, before any update; then RUNNING and FINISHED,
  // each once, the latest state matching the status.
  std::map<std::string, int> added;
  std::map<std::string, std::vector<v1::TaskState>> states;
  bool framework_known = false;
  bool removed = false;
  for (size_t i = 1; i < events.size(); ++i) {
    const auto& e = events[i];
    switch (e.type()) {
      case Event::FRAMEWORK_ADDED:
        if (e.framework_added().framework().framework_info().id().value()
            == id)
          framework_known = true;
        break;
      case Event::TASK_ADDED: {
        const auto& task = e.task_added().task();
        if (task.framework_id().value() != id)
          break;
        CHECK_MESSAGE(framework_known, "a task before its framework");
        CHECK_FALSE(removed);
        CHECK(task.state() == v1::TASK_STAGING);
        CHECK(task.agent_id().value()
              == state.get_agents().agents(0).agent_info().id().value());
        ++added[task.task_id().value()];
        break;
      }
      case Event::TASK_UPDATED: {
        const auto& u = e.task_updated();
        if (u.framework_id().value() != id)
          break;
        CHECK_FALSE(removed);
        const auto& task_id = u.status().task_id().value();
        CHECK_MESSAGE(added.count(task_id) == 1, "an update before the task "
                                                 "was added: " << task_id);
        // `state` is the task's state, which may be ahead of the status
        // being forwarded (an agent that retries a RUNNING update after
        // the task finished reports it as latest_state, as in Mesos).
        CHECK((u.status().state() == v1::TASK_RUNNING
               || u.status().state() == u.state()));
        states[task_id].push_back(u.state());
        break;
      }
      case Event::FRAMEWORK_REMOVED:
        if (e.framework_removed().framework_info().id().value() == id)
          removed = true;
        break;
      case Event::SUBSCRIBED:
        FAIL("SUBSCRIBED twice");
        break;
      default:
        break;
    }
  }
  CHECK(added.size() == tasks);
  for (const auto& [task_id, count] : added)
    CHECK_MESSAGE(count == 1, task_id);
  REQUIRE(states.size() == tasks);
  // Each new state once, in order; RUNNING is skipped when the master
  // learns of the end first.
  const std::vector<v1::TaskState> run_and_finish{v1::TASK_RUNNING,
                                                  v1::TASK_FINISHED};
  const std::vector<v1::TaskState> finish_only{v1::TASK_FINISHED};
  for (const auto& [task_id, seen] : states) {
    std::string names;
    for (auto s : seen)
      names += " " + v1::TaskState_Name(s);
    CHECK_MESSAGE((seen == run_and_finish || seen == finish_only),
                  task_id << " went through" << names);
  }

  // The stream stays open for what comes next; the master counts its
  // follower, and forgets it once curl is gone.
  CHECK_FALSE(stream.poll().has_value());
  auto metric = [&] {
    auto r = curl({"http://" + master.address() + "/metrics/snapshot"});
    REQUIRE(r.status == 200);
    auto at = r.body.find("\"master/operator_event_stream_subscribers\":");
    REQUIRE(at != std::string::npos);
    return r.body.substr(at + 43, 3);
  };
  CHECK(metric().rfind("1", 0) == 0);
  stream.terminate();
  CHECK(eventually([&] { return metric().rfind("0", 0) == 0; }, 10s));
}

TEST_CASE("a late follower starts from the state so far, in protobuf") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent");
  auto run = run_http_framework(master.address(), 5);
  REQUIRE_MESSAGE(run.status == 0, run.out);

  v1::master::Call call;
  call.set_type(v1::master::Call::SUBSCRIBE);
  write_file(dir / "subscribe", call.SerializeAsString());
  auto stream = follow("http://" + master.address() + "/api/v1",
                       dir / "events", dir / "headers", dir / "subscribe",
                       "application/x-protobuf");
  REQUIRE(eventually([&] { return !records_in(dir / "events").empty(); }));
  INFO(read_file(dir / "headers"));
  CHECK(read_file(dir / "headers").find("Content-Type: application/x-protobuf")
        != std::string::npos);
  Event first;
  REQUIRE(first.ParseFromString(records_in(dir / "events").front()));
  REQUIRE(first.type() == Event::SUBSCRIBED);
  const auto& state = first.subscribed().get_state();
  // Both of the script's frameworks were torn down; the one with tasks
  // left them completed, each FINISHED.
  CHECK(state.get_frameworks().completed_frameworks_size() == 2);
  CHECK(state.get_tasks().tasks_size() == 0);
  REQUIRE(state.get_tasks().completed_tasks_size() == 5);
  for (const auto& task : state.get_tasks().completed_tasks())
    CHECK(task.state() == v1::TASK_FINISHED);
}

TEST_CASE("the operator stream refuses what Mesos refuses") {
  master_process master;
  auto url = "http://" + master.address() + "/api/v1";
  // An Accept the stream cannot answer in.
  auto r = curl({"-X", "POST", "-H", "Content-Type: application/json", "-H",
                 "Accept: text/html", "-d", subscribe_json, url});
  CHECK(r.status == 406);
  // A body that is not a call.
  r = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
            R"({"type": "SUBSCRIBE",)", url});
  CHECK(r.status == 400);
  CHECK(r.body.find("Failed to parse body into JSON") != std::string::npos);
  // Not POST.
  r = curl({url});
  CHECK(r.status == 405);
}
