// One agent launching many short real processes, and the agent's footprint
// with many live ones. Real dcos-master and dcos-agent processes on loopback;
// the framework is this process, written with the scheduler SDK.
//
// Figures (one JSON line each):
//  - "launch": from the first ACCEPT to the last TASK_FINISHED handled (and
//    thereby acknowledged) by the framework, then until the agent has no
//    unacknowledged update left. Two paths: the default executor (one task
//    group of N tasks) and the command executor (one executor process per
//    task).
//  - "live": with N tasks RUNNING (`sleep`) under the default executor, the
//    agent's and the executor's resident memory and threads.
//
//   agent_launch_bench [--tasks=1000] [--command_tasks=1000] [--live_tasks=1000]
//                      [--dir=/tmp]
//
// The daemons are found through DCOS_MASTER_BIN / DCOS_AGENT_BIN or next to
// this binary's directory (build/bench/../).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/io/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/actor_system_setup.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/flags.hpp"
#include "dcos/http_client.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler.hpp"
#include "dcos/subprocess.hpp"
#include "dcos/task_state.hpp"
#include "dcos/type_bridge.hpp"
#include "daemons.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {


enum class path { task_group, command };

// Launches `n` tasks on the first offer that holds them all and reports when
// all of them reached `goal` (RUNNING or FINISHED).
struct bench_scheduler : scheduler {
  path how = path::task_group;
  size_t n = 0;
  std::string command;
  v1::TaskState goal = v1::TASK_FINISHED;
  resources per_task = *resources::parse("cpus:0.01;mem:4");
  resources per_executor = *resources::parse("cpus:0.1;mem:32");
  bool launched = false;
  clock_type::time_point accepted;
  std::map<std::string, v1::TaskState> states;
  size_t reached = 0;
  size_t failed = 0;
  std::promise<clock_type::time_point> done;

  void offers(scheduler_driver& d, const std::vector<v1::Offer>& offers) override {
    for (const auto& offer : offers) {
      auto role = offer.allocation_info().role();
      auto have = resources::from_proto(offer.resources());
      auto need = per_executor;
      for (size_t i = 0; i < n; ++i)
        need += per_task;
      if (how == path::command)
        for (size_t i = 1; i < n; ++i)
          need += per_executor;
      if (launched || !have || !have->contains(need.allocate(role))) {
        d.decline({offer.id()});
        continue;
      }
      std::vector<v1::TaskInfo> tasks;
      for (size_t i = 0; i < n; ++i) {
        auto& t = tasks.emplace_back();
        t.set_name(fmt::format("t{}", i));
        t.mutable_task_id()->set_value(t.name());
        *t.mutable_agent_id() = offer.agent_id();
        t.mutable_command()->set_value(command);
        per_task.allocate(role).to_proto(t.mutable_resources());
      }
      launched = true;
      accepted = clock_type::now();
      if (how == path::task_group) {
        v1::ExecutorInfo executor;
        executor.set_type(v1::ExecutorInfo::DEFAULT);
        executor.mutable_executor_id()->set_value("bench");
        per_executor.allocate(role).to_proto(executor.mutable_resources());
        v1::TaskGroupInfo group;
        for (auto& t : tasks)
          *group.add_tasks() = std::move(t);
        d.launch_group(offer.id(), executor, group);
      } else {
        d.launch(offer.id(), std::move(tasks));
      }
      d.suppress();
    }
  }

  void update(scheduler_driver&, const v1::TaskStatus& s) override {
    auto [it, first] = states.try_emplace(s.task_id().value(),
                                          v1::TASK_STAGING);
    if (is_terminal(it->second) || (!first && it->second == s.state()))
      return; // a repeat: updates arrive at least once
    auto before = it->second;
    it->second = s.state();
    if (s.state() == goal && before != goal)
      ++reached;
    else if (is_terminal(s.state()))
      ++failed;
    if (reached + failed == n)
      done.set_value(clock_type::now());
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::fprintf(stderr, "agent_launch_bench: framework error: %s\n",
                 message.c_str());
  }
};

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The work dirs of finished phases, removed when every phase has run (or at
// std::exit, when one fails: the failing phase's dir stays for its logs). On
// an ext4 without a journal (this machine's disk), each new inode is checked
// against the inode-table entries recently deleted beside it: thousands of
// deletions just before a phase slowed its launches 2-3 times.
struct removed_at_exit {
  std::vector<std::string> dirs;
  ~removed_at_exit() {
    std::error_code ec;
    for (const auto& d : dirs)
      fs::remove_all(d, ec);
  }
} finished_dirs;

struct cluster {
  std::string dir;
  std::optional<subprocess> master;
  std::optional<subprocess> agent;
  uint16_t master_port = 0;
  uint16_t agent_port = 0;

  explicit cluster(const std::string& parent) {
    dir = make_scratch_dir(parent, "dcos-bench-");
    auto [m, mp] = start_master(dir + "/master.log");
    master.emplace(std::move(m));
    master_port = mp;
    auto [a, ap] = start_daemon(
      {daemon_path("DCOS_AGENT_BIN", "dcos-agent"),
       fmt::format("--master=127.0.0.1:{}", master_port), "--ip=127.0.0.1",
       "--port=0", "--work_dir=" + dir + "/agent", "--log_level=warning",
       "--resources=cpus:512;mem:1048576;disk:1024"},
      dir + "/agent.log");
    agent.emplace(std::move(a));
    agent_port = ap;
    auto deadline = clock_type::now() + 30s;
    while (metric(master_port, "master/slaves_active") != 1) {
      if (clock_type::now() > deadline)
        die("the agent did not register; see " + dir);
      std::this_thread::sleep_for(20ms);
    }
  }

  ~cluster() {
    // SIGUSR1 makes the agent kill its containers before it goes.
    if (agent) {
      agent->kill(SIGUSR1);
      agent->terminate(30s);
    }
    if (master)
      master->terminate(10s);
    finished_dirs.dirs.push_back(dir);
  }
};

// Runs one framework against `c` until its tasks reach `sched.goal`; calls
// `at_goal` then (tasks still live), then tears the framework down.
template <class F>
void run(caf::actor_system& sys, cluster& c, bench_scheduler& sched,
         F at_goal) {
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("agent_launch_bench");
  auto detector = spawn_remote_detector(sys, "127.0.0.1", c.master_port);
  auto reached = sched.done.get_future();
  {
    scheduler_driver driver{sys, sched, info, detector};
    if (reached.wait_for(300s) != std::future_status::ready)
      die(fmt::format("only {} of {} tasks got there in 300 s", sched.reached,
                      sched.n));
    at_goal(reached.get());
    driver.teardown();
    driver.join();
  }
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
}

void launch_figure(caf::actor_system& sys, const std::string& parent,
                   path how, size_t n) {
  cluster c{parent};
  bench_scheduler sched;
  sched.how = how;
  sched.n = n;
  sched.command = "true";
  run(sys, c, sched, [&](clock_type::time_point last) {
    // Every update checkpointed and acknowledged on the agent.
    while (metric(c.agent_port, "slave/status_updates_pending") != 0)
      std::this_thread::sleep_for(1ms);
    auto acked = clock_type::now();
    std::printf(
      "{\"bench\":\"agent_launch\",\"executor\":\"%s\",\"tasks\":%zu,"
      "\"finished\":%zu,\"failed\":%zu,\"accept_to_last_finished_s\":%.3f,"
      "\"accept_to_agent_drained_s\":%.3f}\n",
      how == path::task_group ? "default" : "command", n, sched.reached,
      sched.failed, seconds(last - sched.accepted),
      seconds(acked - sched.accepted));
  });
}

void live_figure(caf::actor_system& sys, const std::string& parent,
                 size_t n) {
  cluster c{parent};
  bench_scheduler sched;
  sched.how = path::task_group;
  sched.n = n;
  sched.command = "sleep 600";
  sched.goal = v1::TASK_RUNNING;
  run(sys, c, sched, [&](clock_type::time_point) {
    auto agent = measure("", c.dir, c.agent->pid());
    auto executor = measure("dcos-executor", c.dir);
    auto helpers = measure("dcos-containerizer", c.dir);
    std::printf(
      "{\"bench\":\"agent_live_tasks\",\"executor\":\"default\",\"running\":%zu,"
      "\"agent_rss_kib\":%ld,\"agent_pss_kib\":%ld,\"agent_threads\":%ld,"
      "\"executor_rss_kib\":%ld,\"executor_threads\":%ld,"
      "\"container_helpers\":%d,\"container_helpers_pss_kib\":%ld}\n",
      sched.reached, agent.rss_kib, agent.pss_kib, agent.threads,
      executor.rss_kib, executor.threads, helpers.processes, helpers.pss_kib);
  });
}

} // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t tasks = 1000;
  size_t command_tasks = 1000;
  size_t live_tasks = 1000;
  std::string dir = "/tmp";
  flags f{"agent_launch_bench [flags]",
          "Launch time and footprint of one agent running many processes."};
  f.add(&tasks, "tasks", "short tasks in one task group (0: skip)");
  f.add(&command_tasks, "command_tasks",
        "short tasks with a command executor each (0: skip)");
  f.add(&live_tasks, "live_tasks", "sleeping tasks to measure (0: skip)");
  f.add(&dir, "dir",
        "where the agent's work dir (sandboxes) goes; on an ext4 without a "
        "journal, mass deletions there in the last minutes slow launches");
  parse_or_exit(f, argc, argv);
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  if (tasks > 0)
    launch_figure(sys, dir, path::task_group, tasks);
  if (command_tasks > 0)
    launch_figure(sys, dir, path::command, command_tasks);
  if (live_tasks > 0)
    live_figure(sys, dir, live_tasks);
  return 0;
}
