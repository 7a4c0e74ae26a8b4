// The cluster view (dcos/cluster_view_actor.hpp) against the real master on
// the deterministic scheduler, and the event rules of dcos/cluster_state.hpp.
#include <map>
#include <set>

#include <doctest/doctest.h>

#include "dcos/cluster_state.hpp"
#include "dcos/cluster_view_actor.hpp"
#include "support/cluster_fixture.hpp"

using namespace dcos;
using namespace dcos::test;
using v1::master::Event;

namespace {

struct observer_log {
  std::vector<cluster_snapshot> snapshots;
  int disconnected = 0;
};

cluster_observer_actor spawn_observer(caf::actor_system& sys,
                                      std::shared_ptr<observer_log> log) {
  return sys.spawn([log](cluster_observer_actor::pointer)
                     -> cluster_observer_actor::behavior_type {
    return {
      [log](cluster_snapshot& s) { log->snapshots.push_back(std::move(s)); },
      [log](disconnected_atom) { ++log->disconnected; },
    };
  });
}

// task id -> state, of the running and of the completed tasks.
std::map<std::string, v1::TaskState>
task_states(const v1::master::Response::GetTasks& tasks) {
  std::map<std::string, v1::TaskState> out;
  for (const auto& t : tasks.tasks())
    out[t.task_id().value()] = t.state();
  for (const auto& t : tasks.completed_tasks())
    out["completed:" + t.task_id().value()] = t.state();
  return out;
}

std::set<std::string>
agent_ids(const v1::master::Response::GetState& state) {
  std::set<std::string> out;
  for (const auto& a : state.get_agents().agents())
    out.insert(a.agent_info().id().value());
  return out;
}

v1::master::Response::GetState master_state(cluster& c) {
  v1::master::Call call;
  call.set_type(v1::master::Call::GET_STATE);
  auto r = c.call(call);
  REQUIRE(r);
  return r->get_state();
}

// The view's last snapshot says what the master says.
void check_same(cluster& c, const observer_log& log) {
  REQUIRE(!log.snapshots.empty());
  const auto& seen = *log.snapshots.back().state;
  auto truth = master_state(c);
  CHECK(task_states(seen.get_tasks()) == task_states(truth.get_tasks()));
  CHECK(agent_ids(seen) == agent_ids(truth));
  CHECK(seen.get_frameworks().frameworks_size()
        == truth.get_frameworks().frameworks_size());
}

v1::Task task(const std::string& framework, const std::string& id,
              v1::TaskState state = v1::TASK_STAGING) {
  v1::Task t;
  t.set_name(id);
  t.mutable_task_id()->set_value(id);
  t.mutable_framework_id()->set_value(framework);
  t.mutable_agent_id()->set_value("a1");
  t.set_state(state);
  return t;
}

Event added(const v1::Task& t) {
  Event e;
  e.set_type(Event::TASK_ADDED);
  *e.mutable_task_added()->mutable_task() = t;
  return e;
}

Event updated(const std::string& framework, const std::string& id,
              v1::TaskState state) {
  Event e;
  e.set_type(Event::TASK_UPDATED);
  auto* u = e.mutable_task_updated();
  u->mutable_framework_id()->set_value(framework);
  u->mutable_status()->mutable_task_id()->set_value(id);
  u->mutable_status()->set_state(state);
  u->set_state(state);
  return e;
}

} // namespace

TEST_CASE("cluster_state: tasks move between running, unreachable and "
          "completed") {
  cluster_state s{2};
  CHECK(s.apply(added(task("f", "t1"))));
  CHECK(s.apply(added(task("f", "t2"))));
  CHECK(s.apply(added(task("g", "t1")))); // same id, other framework
  CHECK(s.get().get_tasks().tasks_size() == 3);
  CHECK(s.apply(updated("f", "t1", v1::TASK_RUNNING)));
  CHECK(s.apply(updated("f", "t2", v1::TASK_UNREACHABLE)));
  CHECK(s.get().get_tasks().tasks_size() == 2);
  CHECK(s.get().get_tasks().unreachable_tasks_size() == 1);
  // Back from unreachable, then done.
  CHECK(s.apply(updated("f", "t2", v1::TASK_RUNNING)));
  CHECK(s.get().get_tasks().unreachable_tasks_size() == 0);
  CHECK(s.get().get_tasks().tasks_size() == 3);
  for (const auto& id : {"t1", "t2"})
    CHECK(s.apply(updated("f", id, v1::TASK_FINISHED)));
  CHECK(s.apply(updated("g", "t1", v1::TASK_KILLED)));
  CHECK(s.get().get_tasks().tasks_size() == 0);
  // Only the newest two completed tasks are kept.
  REQUIRE(s.get().get_tasks().completed_tasks_size() == 2);
  CHECK(s.get().get_tasks().completed_tasks(1).state() == v1::TASK_KILLED);
  CHECK(s.get().get_tasks().completed_tasks(1).statuses_size() == 1);
  // Unknown tasks and heartbeats change nothing.
  CHECK_FALSE(s.apply(updated("f", "nope", v1::TASK_RUNNING)));
  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  CHECK_FALSE(s.apply(heartbeat));
}

TEST_CASE("cluster_state: agents and frameworks come and go") {
  cluster_state s;
  for (const auto& id : {"a1", "a2", "a3"}) {
    Event e;
    e.set_type(Event::AGENT_ADDED);
    e.mutable_agent_added()->mutable_agent()->mutable_agent_info()
      ->mutable_id()->set_value(id);
    CHECK(s.apply(e));
  }
  Event removed;
  removed.set_type(Event::AGENT_REMOVED);
  removed.mutable_agent_removed()->mutable_agent_id()->set_value("a1");
  CHECK(s.apply(removed));
  CHECK_FALSE(s.apply(removed));
  CHECK(agent_ids(s.get()) == std::set<std::string>{"a2", "a3"});
  // The index still finds the agent that moved into a1's place.
  removed.mutable_agent_removed()->mutable_agent_id()->set_value("a3");
  CHECK(s.apply(removed));
  CHECK(agent_ids(s.get()) == std::set<std::string>{"a2"});

  Event fw;
  fw.set_type(Event::FRAMEWORK_ADDED);
  fw.mutable_framework_added()->mutable_framework()->mutable_framework_info()
    ->mutable_id()->set_value("f1");
  CHECK(s.apply(fw));
  Event gone;
  gone.set_type(Event::FRAMEWORK_REMOVED);
  gone.mutable_framework_removed()->mutable_framework_info()->mutable_id()
    ->set_value("f1");
  CHECK(s.apply(gone));
  CHECK(s.get().get_frameworks().frameworks_size() == 0);
  CHECK(s.get().get_frameworks().completed_frameworks_size() == 1);
}

TEST_CASE("the cluster view follows the master: its snapshots say what the "
          "master's state says") {
  cluster c;
  auto log = std::make_shared<observer_log>();
  auto observer = c.ds.track(spawn_observer(c.ds.sys(), log));
  c.ds.track(spawn_cluster_view(c.ds.sys(), c.detector, observer));
  c.ds.run();
  REQUIRE(log->snapshots.size() == 1); // SUBSCRIBED: the empty cluster
  CHECK(log->snapshots[0].leader.pid().rfind("master@", 0) == 0);
  auto a = c.add_agent();
  auto f = c.add_framework();
  c.ds.advance(10ms);
  check_same(c, *log);

  auto offer = f.log->take_offers().at(0);
  std::vector<v1::TaskInfo> tasks;
  for (int i = 0; i < 10; ++i)
    tasks.push_back(make_task("t" + std::to_string(i), offer, "cpus:0.1;mem:8"));
  c.launch(f, offer, tasks);
  auto before = log->snapshots.size();
  for (int i = 0; i < 10; ++i)
    caf::anon_send(a.actor, make_update(f.id(), a.id(), "t" + std::to_string(i),
                                        v1::TASK_RUNNING,
                                        "u" + std::to_string(i)));
  c.ds.advance(10ms);
  check_same(c, *log);
  // Ten launches and ten updates in one burst: a few snapshots, not twenty.
  CHECK(log->snapshots.size() - before <= 3);
  CHECK(log->snapshots.back().state->get_tasks().tasks_size() == 10);
  for (size_t i = 1; i < log->snapshots.size(); ++i)
    CHECK(log->snapshots[i].generation == log->snapshots[i - 1].generation + 1);

  c.update(a, f, "t3", v1::TASK_FINISHED, "u-done");
  c.ds.advance(10ms);
  check_same(c, *log);
  CHECK(log->snapshots.back().state->get_tasks().tasks_size() == 9);
}

TEST_CASE("the cluster view tells its observer when the master is lost") {
  cluster c;
  auto log = std::make_shared<observer_log>();
  auto observer = c.ds.track(spawn_observer(c.ds.sys(), log));
  c.ds.track(spawn_cluster_view(c.ds.sys(), c.detector, observer));
  c.ds.run();
  REQUIRE(log->snapshots.size() == 1);
  caf::anon_send_exit(c.master, caf::exit_reason::kill);
  c.ds.run();
  CHECK(log->disconnected == 1);
  // The last snapshot stays the observer's; nothing half-built follows.
  CHECK(log->snapshots.size() == 1);
}
