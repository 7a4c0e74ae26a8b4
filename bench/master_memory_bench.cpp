// Master memory per tracked task: 1000 agents, one framework launching
// 100,000 tasks through real offers, every task RUNNING with its update
// acknowledged. The agents keep nothing per task, and the framework and its
// scheduler driver are ended before the heap is measured (the master keeps
// the tasks of a disconnected framework), so the growth of the heap is the
// master's (and allocator's) bookkeeping.
//
//   master_memory_bench [--agents=1000] [--tasks_per_agent=100]
#include <malloc.h>

#include <cstdio>

#include <fmt/format.h>

#include "dcos/flags.hpp"
#include "support/deterministic.hpp"
#include "task_load.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace std::chrono_literals;

namespace {

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

} // namespace

int main(int argc, char** argv) {
  int agents = 1000;
  int per_agent = 100;
  flags f{"master_memory_bench [flags]", "Master memory per tracked task."};
  f.add(&agents, "agents", "number of agents");
  f.add(&per_agent, "tasks_per_agent", "tasks launched on each agent");
  parse_or_exit(f, argc, argv);

  test::deterministic_system ds;
  master_config cfg;
  cfg.start_time = 1.7e9;
  auto master = ds.track(spawn_master(ds.sys(), cfg));
  ds.run();
  for (auto& agent : add_quiet_agents(ds.sys(), master, agents, per_agent))
    ds.track(agent);
  ds.run();
  malloc_trim(0);
  auto before = heap_in_use();
  auto state = std::make_shared<launch_state>();
  state->per_offer = per_agent;
  auto framework = ds.track(ds.sys().spawn(launcher, state));
  v1::FrameworkInfo info;
  info.set_user("bench");
  info.set_name("memory");
  // Kept (disconnected) when its driver goes, below.
  info.set_failover_timeout(7 * 24 * 3600);
  auto driver = ds.track(spawn_scheduler_driver(
    ds.sys(), framework, info, ds.track(spawn_fixed_detector(ds.sys(), master))));
  state->driver = driver;
  ds.run();
  for (int i = 0; i < 5 && state->running < static_cast<uint64_t>(agents) * per_agent; ++i)
    ds.advance(1s);
  // The driver's heap (its own books of the framework's tasks) is not the
  // master's: end it and the launcher before measuring. The master keeps
  // every task, the framework being within its failover timeout.
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(framework, caf::exit_reason::user_shutdown);
  ds.run();
  malloc_trim(0);
  auto after = heap_in_use();
  uint64_t tasks = state->running;
  fmt::print("{{\"bench\":\"master_memory\",\"agents\":{},\"tasks\":{},"
             "\"heap_before_mb\":{:.1f},\"heap_after_mb\":{:.1f},"
             "\"bytes_per_task\":{:.0f}}}\n",
             agents, tasks, before / 1048576.0, after / 1048576.0,
             tasks > 0 ? static_cast<double>(after - before)
                           / static_cast<double>(tasks)
                       : 0.0);
  return tasks == static_cast<uint64_t>(agents) * per_agent ? 0 : 1;
}
