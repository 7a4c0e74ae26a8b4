// A complete framework: launches N tasks, prints each state change, and
// exits 0 once all of them finished (1 if any failed).
//
// It survives a master failover as a framework should: with a
// --failover_timeout its tasks outlive the lost connection, and every few
// seconds it reconciles the tasks it launched that have not ended, so that
// a launch lost with the old master is reported (TASK_LOST) instead of
// being waited for forever.
//
//   example_scheduler --master=127.0.0.1:5050 --tasks=10 --command='sleep 1'
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <caf/io/all.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/http_client.hpp>
#include <dcos/flags.hpp>
#include <dcos/resources.hpp>
#include <dcos/scheduler.hpp>
#include <dcos/task_state.hpp>

using namespace dcos;

struct launcher : scheduler {
  int wanted = 10, launched = 0, finished = 0, failed = 0;
  std::string command = "true";
  // Updates arrive at least once: a retried one repeats a state we saw.
  // Guarded by `mutex`: the reconciler thread reads it.
  std::mutex mutex;
  std::map<std::string, v1::TaskState> last_state;
  std::map<std::string, v1::AgentID> agent_of; // launched tasks
  resources per_task = *resources::parse("cpus:0.1;mem:32");

  void offers(scheduler_driver& d, const std::vector<v1::Offer>& offers) override {
    for (const auto& offer : offers) {
      auto free = *resources::from_proto(offer.resources());
      auto need = per_task.allocate(offer.allocation_info().role());
      std::vector<v1::TaskInfo> tasks;
      for (; launched < wanted && free.contains(need); ++launched, free -= need) {
        v1::TaskInfo& t = tasks.emplace_back();
        t.set_name("task-" + std::to_string(launched));
        t.mutable_task_id()->set_value(t.name());
        *t.mutable_agent_id() = offer.agent_id();
        t.mutable_command()->set_value(command);
        need.to_proto(t.mutable_resources());
        std::lock_guard<std::mutex> guard{mutex};
        agent_of[t.name()] = offer.agent_id();
      }
      tasks.empty() ? d.decline({offer.id()}) : d.launch(offer.id(), std::move(tasks));
    }
    if (launched == wanted)
      d.suppress(); // no more offers needed
  }

  void update(scheduler_driver& d, const v1::TaskStatus& s) override {
    std::unique_lock<std::mutex> guard{mutex};
    auto [it, first] = last_state.try_emplace(s.task_id().value(), s.state());
    if (!first && (it->second == s.state() || is_terminal(it->second)))
      return;
    it->second = s.state();
    std::printf("%s %s %s\n", s.task_id().value().c_str(),
                v1::TaskState_Name(s.state()).c_str(), s.message().c_str());
    if (s.state() == v1::TASK_FINISHED)
      ++finished;
    else if (s.state() != v1::TASK_STAGING && s.state() != v1::TASK_STARTING
             && s.state() != v1::TASK_RUNNING && s.state() != v1::TASK_KILLING)
      ++failed;
    guard.unlock();
    if (finished + failed == wanted)
      d.teardown(); // done: remove the framework
  }

  // The launched tasks that have not ended, with their agents.
  std::vector<std::pair<v1::TaskID, v1::AgentID>> unfinished() {
    std::lock_guard<std::mutex> guard{mutex};
    std::vector<std::pair<v1::TaskID, v1::AgentID>> out;
    for (const auto& [id, agent] : agent_of) {
      auto state = last_state.find(id);
      if (state != last_state.end() && is_terminal(state->second))
        continue;
      v1::TaskID task;
      task.set_value(id);
      out.emplace_back(std::move(task), agent);
    }
    return out;
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::fprintf(stderr, "error: %s\n", message.c_str());
  }
};

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // a line per update, even piped
  launcher sched;
  std::string master = "127.0.0.1:5050";
  std::string amount = sched.per_task.to_string();
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("example");
  flags f{"example_scheduler [flags]", "Launches N tasks and waits for them."};
  f.add(&master, "master",
        "HOST:PORT of the master, or zk://HOSTS/PATH of the masters");
  f.add(&sched.wanted, "tasks", "number of tasks");
  f.add(&sched.command, "command", "shell command of each task");
  f.add(&amount, "resources", "resources of each task");
  double failover_timeout = 0;
  f.add(&failover_timeout, "failover_timeout",
        "seconds the master keeps the framework and its tasks while no "
        "scheduler is connected (Mesos' default: 0)");
  parse_or_exit(f, argc, argv);
  auto per_task = resources::parse(amount);
  auto where = parse_master_location(master);
  if (!per_task || !where) {
    std::fprintf(stderr, "bad --resources or --master\n");
    return 2;
  }
  sched.per_task = *per_task;
  if (failover_timeout < 0) {
    std::fprintf(stderr, "--failover_timeout: must not be negative\n");
    return 2;
  }
  info.set_failover_timeout(failover_timeout);
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto detector = spawn_detector(sys, *where);
  scheduler_driver driver{sys, sched, info, detector};
  // Reconciles what has not ended every 5 s until the driver ends (the
  // master answers for tasks it knows, and TASK_LOST for a launch it lost).
  std::mutex done_mutex;
  std::condition_variable done_changed;
  bool done = false;
  std::thread reconciler{[&] {
    std::unique_lock<std::mutex> lock{done_mutex};
    while (!done_changed.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return done; }))
      if (auto tasks = sched.unfinished(); !tasks.empty())
        driver.reconcile(tasks);
  }};
  driver.join();
  {
    std::lock_guard<std::mutex> lock{done_mutex};
    done = true;
  }
  done_changed.notify_one();
  reconciler.join();
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
  std::printf("%d finished, %d failed\n", sched.finished, sched.failed);
  return sched.failed == 0 && sched.finished == sched.wanted ? 0 : 1;
}
