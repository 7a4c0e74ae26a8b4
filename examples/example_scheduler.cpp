// A complete framework: launches N tasks, prints each state change, and
// exits 0 once all of them finished (1 if any failed).
//
//   example_scheduler --master=127.0.0.1:5050 --tasks=10 --command='sleep 1'
#include <cstdio>
#include <map>

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
  std::map<std::string, v1::TaskState> last_state;
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
      }
      tasks.empty() ? d.decline({offer.id()}) : d.launch(offer.id(), std::move(tasks));
    }
    if (launched == wanted)
      d.suppress(); // no more offers needed
  }

  void update(scheduler_driver& d, const v1::TaskStatus& s) override {
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
    if (finished + failed == wanted)
      d.teardown(); // done: remove the framework
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
  parse_or_exit(f, argc, argv);
  auto per_task = resources::parse(amount);
  auto where = parse_master_location(master);
  if (!per_task || !where) {
    std::fprintf(stderr, "bad --resources or --master\n");
    return 2;
  }
  sched.per_task = *per_task;
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto detector = spawn_detector(sys, *where);
  scheduler_driver driver{sys, sched, info, detector};
  driver.join();
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
  std::printf("%d finished, %d failed\n", sched.finished, sched.failed);
  return sched.failed == 0 && sched.finished == sched.wanted ? 0 : 1;
}
