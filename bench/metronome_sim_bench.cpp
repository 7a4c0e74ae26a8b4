// Metronome at scale in the simulation: --jobs jobs, each scheduled every
// minute, for --hours of virtual time on --agents simulated agents, with
// the real master, agents and executors and the real Metronome actors (its
// store in memory). Each run is a task of a few seconds. Measures the wall
// time, runs per wall second, whether every due tick ran exactly once
// (runs plus ticks recorded as missed equal the ticks due; no tick twice),
// the size of Metronome's state at the end (jobs, active runs, history:
// bounded by --history) and the process's resident memory (which also holds
// the simulated cluster and the simulation's own records of every task).
// Prints one JSON line.
//
//   build/bench/metronome_sim_bench [--agents=1000] [--jobs=1000]
//                                   [--hours=6] [--history=100] [--seed=1]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/sim.hpp"
#include "dcos/store_actor.hpp"
#include "cron_spec.hpp"
#include "job_definition.hpp"
#include "metronome_actor.hpp"

using namespace dcos;
using namespace dcos::metronome;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;
using go_atom = caf::atom_constant<caf::atom("go")>;

constexpr double epoch = 1'800'000'000; // 2027-01-15T08:00:00Z

struct figures {
  bool checked = false;
  int64_t due = 0;
  int64_t runs = 0;
  int64_t failed = 0;
  int64_t missed = 0;
  int64_t twice = 0; // ticks with more than one run
  size_t state_bytes = 0; // Metronome's jobs, active runs and history
  double wall_seconds = 0;
};

long resident_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

caf::behavior client(caf::event_based_actor* self, metronome_actor m,
                     int jobs, caf::timespan hours, figures* out) {
  auto start = std::make_shared<wall::time_point>();
  self->delayed_send(self, 1s, go_atom::value, std::string{"post"});
  self->delayed_send(self, hours + 2min, go_atom::value,
                     std::string{"check"});
  return {
    [=](go_atom, const std::string& what) {
      if (what == "post") {
        *start = wall::now();
        for (int i = 0; i < jobs; ++i) {
          Job j;
          j.set_id(fmt::format("bench.job-{}", i));
          j.mutable_run()->set_cmd("sleep 5");
          j.mutable_run()->set_cpus(0.1);
          j.mutable_run()->set_mem(32);
          j.mutable_run()->set_disk(0);
          auto* s = j.add_schedules();
          s->set_id("every-minute");
          s->set_cron("* * * * *");
          apply_defaults(&j);
          self->request(m, caf::infinite, put_atom::value, j, true)
            .then([](const Job&) {},
                  [](caf::error& err) {
                    std::fprintf(stderr, "post refused: %s\n",
                                 describe(err).c_str());
                  });
        }
        return;
      }
      self->request(m, caf::infinite, get_atom::value, jobs_atom::value, true)
        .then([=](const std::vector<JobStatus>& statuses) {
          out->wall_seconds
            = std::chrono::duration<double>(wall::now() - *start).count();
          auto created = sys_seconds{std::chrono::seconds{
            static_cast<int64_t>(epoch) + 1}};
          auto until = created
                       + std::chrono::duration_cast<std::chrono::seconds>(
                         hours);
          auto cron = cron_spec::parse("* * * * *");
          auto utc = find_time_zone("UTC");
          for (const auto& st : statuses) {
            out->state_bytes += st.ByteSizeLong();
            const auto& h = st.history();
            std::map<std::string, int> runs;
            for (const auto* list : {&h.successful_finished_runs(),
                                     &h.failed_finished_runs()})
              for (const auto& r : *list)
                ++runs[r.scheduled_at()];
            out->runs += h.success_count() + h.failure_count();
            out->failed += h.failure_count();
            out->missed += h.missed_count();
            for (auto t = cron->next_after(created, **utc); t && *t < until;
                 t = cron->next_after(*t, **utc)) {
              ++out->due;
              auto at = runs.find(date::format("%FT%T.000+0000", *t));
              if (at != runs.end() && at->second > 1)
                ++out->twice;
            }
          }
          out->checked = true;
        });
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  uint64_t agents = 1000, jobs = 1000, hours = 6, history = 100, seed = 1;
  flags f{"metronome_sim_bench [--agents=N] [--jobs=N] [--hours=N] "
          "[--history=N] [--seed=N]",
          "Runs every-minute Metronome jobs on simulated agents and times "
          "it."};
  f.add(&agents, "agents", "simulated agents");
  f.add(&jobs, "jobs", "jobs, each scheduled every minute");
  f.add(&hours, "hours", "hours of virtual time");
  f.add(&history, "history", "finished runs kept per job and outcome");
  f.add(&seed, "seed", "the simulation's seed");
  parse_or_exit(f, argc, argv);
  logging::init(spdlog::level::err);
  if (auto err = load_time_zones()) {
    std::fprintf(stderr, "%s\n", describe(err).c_str());
    return 1;
  }
  auto horizon = std::chrono::hours(hours);

  sim::scenario sc;
  sc.name = "metronome_scale";
  sim::agent_group g;
  g.count = agents;
  g.total = *resources::parse("cpus:4;mem:16384;disk:100000");
  sc.agents.push_back(g);
  sc.allocation_interval = 1s;
  sc.agent_ping_timeout = 60s;
  sc.faults_from = 0s;
  sc.faults_until = 0s;
  sc.time_limit = horizon + 3min;
  figures out;
  sim::simulation sim{sc, seed};
  sim.add_framework([&](caf::actor_system& sys, detector_actor detector) {
    metronome_config cfg;
    cfg.framework.set_name("metronome");
    cfg.framework.set_user("root");
    cfg.framework.add_roles("*");
    cfg.framework.set_failover_timeout(604800);
    for (auto capability : {v1::FrameworkInfo::Capability::PARTITION_AWARE,
                            v1::FrameworkInfo::Capability::MULTI_ROLE})
      cfg.framework.add_capabilities()->set_type(capability);
    cfg.detector = detector;
    cfg.store = spawn_memory_store(sys);
    cfg.seed = seed;
    cfg.start_time = epoch;
    cfg.history_count = history;
    auto m = spawn_metronome(sys, cfg);
    sys.spawn(client, m, static_cast<int>(jobs), horizon, &out);
    return caf::actor_cast<caf::actor>(m);
  });
  auto r = sim.run();
  bool once = out.checked && out.twice == 0 && out.runs + out.missed >= out.due;
  std::printf(
    "{\"bench\":\"metronome_sim\",\"agents\":%llu,\"jobs\":%llu,"
    "\"virtual_hours\":%llu,\"ticks_due\":%lld,\"runs\":%lld,"
    "\"failed\":%lld,\"missed\":%lld,\"ticks_run_twice\":%lld,\"every_tick_once\":%s,"
    "\"wall_s\":%.1f,\"runs_per_wall_s\":%.0f,\"rss_mib_end\":%.0f,"
    "\"metronome_state_kib\":%.0f,"
    "\"sim_steps\":%llu,\"sim_passed\":%s}\n",
    static_cast<unsigned long long>(agents),
    static_cast<unsigned long long>(jobs),
    static_cast<unsigned long long>(hours),
    static_cast<long long>(out.due), static_cast<long long>(out.runs),
    static_cast<long long>(out.failed), static_cast<long long>(out.missed), static_cast<long long>(out.twice),
    once ? "true" : "false", r.stats.wall_seconds,
    out.wall_seconds > 0 ? static_cast<double>(out.runs) / out.wall_seconds
                         : 0.0,
    static_cast<double>(resident_kib()) / 1024,
    static_cast<double>(out.state_bytes) / 1024,
    static_cast<unsigned long long>(r.stats.steps),
    r.passed ? "true" : "false");
  if (!r.passed)
    std::fprintf(stderr, "simulation: %s\n", r.violation.c_str());
  return once && r.passed ? 0 : 1;
}
