// The simulation at scale: 10,000 simulated agents and 100,000 tasks
// launched, run and finished (the real master, agents and default
// executors; tasks in groups of --group_size), then a master failover with
// every task running. The framework subscribes --join_after_s virtual
// seconds in, once the cluster is up, so that the launch is not interleaved
// with 10,000 agents registering. With --masters=3 the masters contend on
// the simulated coordination service (a modelled ZooKeeper, sessions of
// --zk_session_timeout_s) and the failover is a crash of the leader: the
// figures then include the virtual time until a standby was elected and
// serves (failover_election_virtual_s: the dead leader's session must
// expire first) and, from that election, until every agent re-registered.
// Prints one JSON line per phase:
// placed_per_wall_s counts tasks the master sent to agents (the scheduling
// decision) per wall second from the first ACCEPT; running_per_wall_s counts
// them up to the last TASK_RUNNING a framework saw. "allocator" names the
// malloc in use (jemalloc when the build found it; see meson_options.txt).
//
//   build/bench/sim_bench [--agents=10000] [--tasks=100000] [--seed=1]
//                         [--join_after_s=5] [--failover=false]
//                         [--masters=1] [--zk_session_timeout_s=10]
#include <chrono>
#include <cstdio>

#include <dlfcn.h>

#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/sim.hpp"

using namespace dcos;

namespace {

sim::scenario shape(uint64_t agents, uint64_t tasks, uint64_t group,
                    bool finish, caf::timespan join_after, uint64_t masters,
                    caf::timespan session) {
  sim::scenario sc;
  sc.name = finish ? "launch_run_finish" : "master_failover";
  sc.masters = masters;
  sc.zk_session_timeout = session;
  sim::agent_group g;
  g.count = agents;
  g.total = *resources::parse("cpus:16;mem:65536;disk:100000");
  sc.agents.push_back(g);
  sim::framework_spec f;
  f.name = "bench";
  f.tasks = tasks;
  f.group_size = group;
  f.task_resources = *resources::parse("cpus:0.1;mem:64");
  f.start_at = join_after;
  if (finish)
    f.task_duration = {std::chrono::seconds(10), std::chrono::seconds(60)};
  else
    f.kill_at = std::chrono::minutes(10);
  sc.frameworks.push_back(f);
  sc.faults_from = std::chrono::seconds(0);
  sc.faults_until = std::chrono::seconds(0);
  if (!finish) {
    // Crash the master (the leader, with several) once every task runs;
    // bring it back a second later.
    sim::fault_event crash;
    crash.what = sim::fault_event::kind::crash_master;
    crash.at = std::chrono::minutes(5);
    crash.targets = {"leader"};
    crash.duration = std::chrono::seconds(1);
    sc.faults.push_back(crash);
    sc.faults_until = std::chrono::minutes(5);
  }
  sc.time_limit = std::chrono::hours(2);
  return sc;
}

// jemalloc exports mallctl(); glibc has no such symbol.
const char* allocator_name() {
  return dlsym(RTLD_DEFAULT, "mallctl") != nullptr ? "jemalloc" : "glibc";
}

double secs(caf::timespan t) {
  return std::chrono::duration<double>(t).count();
}

} // namespace

int main(int argc, char** argv) {
  uint64_t agents = 10000, tasks = 100000, group = 10, seed = 1;
  bool failover = true;
  uint64_t join_after_s = 5, masters = 1, session_s = 10;
  flags f{"sim_bench [flags]", "Simulation at scale."};
  f.add(&agents, "agents", "simulated agents");
  f.add(&tasks, "tasks", "tasks in all");
  f.add(&group, "group_size", "tasks per default-executor task group");
  f.add(&seed, "seed", "the seed");
  f.add(&failover, "failover", "also run the master failover phase");
  f.add(&join_after_s, "join_after_s",
        "virtual seconds before the framework subscribes (0: while the "
        "agents still register)");
  f.add(&masters, "masters",
        "masters (more than one: elected on a simulated ZooKeeper)");
  f.add(&session_s, "zk_session_timeout_s",
        "the masters' session timeout, with several");
  parse_or_exit(f, argc, argv);
  logging::init(spdlog::level::err);
  bool all_passed = true;
  for (bool finish : {true, false}) {
    if (!finish && !failover)
      break;
    sim::simulation s{shape(agents, tasks, group, finish,
                            std::chrono::seconds(join_after_s), masters,
                            std::chrono::seconds(session_s)),
                      seed};
    auto r = s.run();
    const auto& st = r.stats;
    std::printf(
      "{\"bench\":\"sim_%s\",\"masters\":%llu,\"agents\":%llu,"
      "\"tasks\":%llu,\"passed\":%s,"
      "\"wall_s\":%.2f,\"virtual_s\":%.1f,\"steps\":%llu,"
      "\"launch_phase_virtual_s\":%.3f,\"launch_phase_wall_s\":%.2f,"
      "\"running_per_wall_s\":%.0f,\"placement_wall_s\":%.2f,"
      "\"placed_per_wall_s\":%.0f,\"failover_election_virtual_s\":%.3f,"
      "\"failover_reregistration_virtual_s\":%.3f,"
      "\"failover_wall_s\":%.2f,\"allocator\":\"%s\"}\n",
      finish ? "launch_run_finish" : "master_failover",
      static_cast<unsigned long long>(masters),
      static_cast<unsigned long long>(agents),
      static_cast<unsigned long long>(st.tasks_launched),
      r.passed ? "true" : "false", st.wall_seconds, secs(st.virtual_time),
      static_cast<unsigned long long>(st.steps), secs(st.launch_phase),
      st.launch_wall_seconds,
      st.launch_wall_seconds > 0 ? st.tasks_launched / st.launch_wall_seconds
                                 : 0.0,
      st.placement_wall_seconds,
      st.placement_wall_seconds > 0
        ? st.tasks_placed / st.placement_wall_seconds
        : 0.0,
      secs(st.failover_election), secs(st.failover_reregistration),
      st.failover_wall_seconds,
      allocator_name());
    all_passed = all_passed && r.passed;
    if (!r.passed)
      std::printf("violation: %s\nreplay: seed %llu\n", r.violation.c_str(),
                  static_cast<unsigned long long>(seed));
    std::fflush(stdout);
  }
  // A figure from a run that broke an invariant is no figure.
  return all_passed ? 0 : 1;
}
