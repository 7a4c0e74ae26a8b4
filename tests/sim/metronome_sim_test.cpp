// Metronome in the deterministic simulation: the real Metronome actors as a
// framework beside the real master and agents, for a year of virtual time
// (seconds of wall time), with master and agent crashes and Metronome
// itself killed and started again (from the same store) at random times,
// for random spells. Five jobs: hourly; daily at 02:30 New York time (the
// spring-forward day has no 02:30: it runs once, at 03:00); every 20
// minutes with concurrencyPolicy FORBID and runs of 25 minutes; weekly
// with a task that always fails, restart ON_FAILURE and a deadline; and
// one that depends on the hourly job.
// Checks, for every seed:
//  - every due tick ran exactly once, or is recorded as missed (Metronome
//    was down past the schedule's startingDeadlineSeconds, or FORBID found
//    a run active) - never both, never twice;
//  - FORBID never overlaps two runs;
//  - a job depending on the hourly one runs once after each of its
//    successes, across the crashes;
//  - ON_FAILURE retries are spaced and stop at the run's deadline: each
//    failing run tried more than once and at most as often as the backoff
//    allows within the deadline;
//  - the kernel's own invariants hold (the simulation checks them).
//
// DCOS_SIM_SEEDS: how many seeds (default 2: a year takes about 50 s of
// wall time); a failing seed is named and reproduces alone with
// DCOS_SIM_SEED.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "dcos/sim.hpp"
#include "dcos/store_actor.hpp"
#include "cron_spec.hpp"
#include "job_definition.hpp"
#include "metronome_actor.hpp"
#include "support/seed.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dcos::metronome::metronome_actor>)

using namespace dcos;
using namespace dcos::metronome;
using namespace std::chrono_literals;

namespace {

using step_atom = caf::atom_constant<caf::atom("step")>;

// 2027-01-15T08:00:00Z: the simulated year crosses both DST changes.
constexpr double epoch = 1'800'000'000;
constexpr auto year = std::chrono::hours(24 * 365);
constexpr auto day = std::chrono::hours(24);

Job job(const std::string& id, const std::string& cmd, const std::string& cron,
        const std::string& zone = "UTC",
        ConcurrencyPolicy policy = ALLOW) {
  Job j;
  j.set_id(id);
  auto* run = j.mutable_run();
  run->set_cmd(cmd);
  run->set_cpus(0.1);
  run->set_mem(32);
  run->set_disk(0);
  auto* s = j.add_schedules();
  s->set_id("s");
  s->set_cron(cron);
  s->set_timezone(zone);
  s->set_concurrency_policy(policy);
  apply_defaults(&j);
  return j;
}

std::vector<Job> jobs() {
  auto failing = job("failing", "exit 1", "0 12 * * MON");
  failing.mutable_run()->mutable_restart()->set_policy(ON_FAILURE);
  failing.mutable_run()->mutable_restart()->set_active_deadline_seconds(600);
  // Runs after each success of the hourly job.
  auto after = job("after-hourly", "sleep 30", "");
  after.clear_schedules();
  after.add_dependencies()->set_id("hourly");
  return {job("hourly", "sleep 60", "0 * * * *"),
          job("nightly", "sleep 600", "30 2 * * *", "America/New_York"),
          job("forbid", "sleep 1500", "*/20 * * * *", "UTC", FORBID),
          failing, after};
}

// A job with dependencies started once after each success of the job it
// depends on: between two successes of `parent` (finished before `until`),
// exactly one run of `child` was created.
void check_dependent(const JobStatus& parent, const JobStatus& child,
                     const std::string& until,
                     const std::function<void(std::string)>& fail) {
  std::vector<std::string> successes, created;
  for (const auto& r : parent.history().successful_finished_runs())
    successes.push_back(r.finished_at());
  for (const auto* list : {&child.history().successful_finished_runs(),
                           &child.history().failed_finished_runs()})
    for (const auto& r : *list)
      created.push_back(r.created_at());
  std::sort(successes.begin(), successes.end());
  std::sort(created.begin(), created.end());
  if (successes.size() < 10)
    fail(fmt::format("{}: only {} successes to follow", parent.job().id(),
                     successes.size()));
  for (size_t i = 0; i + 1 < successes.size() && successes[i + 1] < until;
       ++i) {
    auto from = std::lower_bound(created.begin(), created.end(),
                                 successes[i]);
    auto to = std::lower_bound(created.begin(), created.end(),
                               successes[i + 1]);
    if (to - from != 1)
      fail(fmt::format("{}: {} run(s) between the successes of {} at {} "
                       "and {}",
                       child.job().id(), to - from, parent.job().id(),
                       successes[i], successes[i + 1]));
  }
}

// How to make a Metronome (again), with the wall clock the simulation has
// reached.
struct metronome_maker {
  caf::actor_system* sys = nullptr;
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  caf::actor_clock::time_point origin;

  metronome_actor make() const {
    metronome_config cfg;
    cfg.framework.set_name("metronome");
    cfg.framework.set_user("root");
    cfg.framework.add_roles("*");
    cfg.framework.set_failover_timeout(604800);
    for (auto capability : {v1::FrameworkInfo::Capability::PARTITION_AWARE,
                            v1::FrameworkInfo::Capability::MULTI_ROLE})
      cfg.framework.add_capabilities()->set_type(capability);
    cfg.detector = detector;
    cfg.store = store;
    cfg.seed = seed;
    cfg.start_time
      = epoch
        + std::chrono::duration<double>(sys->clock().now() - origin).count();
    cfg.history_count = 100000; // all of the year, for the checks
    cfg.kill_retry_interval = std::chrono::minutes(1);
    return spawn_metronome(*sys, cfg);
  }
};

struct outcome {
  bool checked = false;
  std::vector<std::string> violations;
  int runs = 0;
  int missed = 0;
  int restarts = 0;
};

struct client_state {
  metronome_maker maker;
  metronome_actor metronome;
  outcome* out = nullptr;
  std::shared_ptr<metronome_actor> current;
  std::mt19937_64 rng;
  int posted = 0;
};

std::string stamp(sys_seconds t) {
  return date::format("%FT%T.000+0000", t);
}

// The checks, on the jobs as Metronome answers them at the end.
void check(outcome& out, const std::vector<JobStatus>& statuses,
           sys_seconds created, sys_seconds until) {
  auto fail = [&out](std::string why) {
    if (out.violations.size() < 10)
      out.violations.push_back(std::move(why));
  };
  std::map<std::string, const JobStatus*> by_id;
  for (const auto& status : statuses)
    by_id[status.job().id()] = &status;
  for (const auto& status : statuses) {
    const auto& j = status.job();
    const auto& h = status.history();
    if (j.dependencies_size() > 0) {
      auto parent = by_id.find(j.dependencies(0).id());
      if (parent == by_id.end())
        fail(j.id() + ": the job it depends on is gone");
      else
        check_dependent(*parent->second, status, stamp(until), fail);
      continue;
    }
    const auto& s = j.schedules(0);
    auto cron = cron_spec::parse(s.cron());
    auto zone = find_time_zone(s.timezone());
    REQUIRE(cron);
    REQUIRE(zone);
    std::map<std::string, int> runs; // by scheduled time
    std::vector<const RunInfo*> all;
    for (const auto* list : {&h.successful_finished_runs(),
                             &h.failed_finished_runs()})
      for (const auto& r : *list) {
        all.push_back(&r);
        if (r.has_scheduled_at())
          ++runs[r.scheduled_at()];
      }
    out.runs += static_cast<int>(all.size());
    // Every due tick: a run or a missed record, exactly one.
    auto t = cron->next_after(created, **zone);
    int due = 0;
    for (; t && *t < until; t = cron->next_after(*t, **zone)) {
      ++due;
      auto key = stamp(*t);
      int ran = runs.count(key) ? runs[key] : 0;
      int missed = 0;
      for (const auto& m : h.missed_ticks())
        missed += m.from() <= key && key <= m.to();
      if (ran + missed != 1)
        fail(fmt::format("{}: the tick {} ran {} time(s) and was missed {} "
                         "time(s)",
                         j.id(), key, ran, missed));
    }
    int missed_total = 0;
    for (const auto& m : h.missed_ticks())
      missed_total += static_cast<int>(m.count());
    out.missed += missed_total;
    if (due < 10)
      fail(fmt::format("{}: only {} ticks were due", j.id(), due));
    if (s.concurrency_policy() == FORBID) {
      std::vector<std::pair<std::string, std::string>> spans;
      for (const auto* r : all)
        spans.emplace_back(r->created_at(), r->finished_at());
      std::sort(spans.begin(), spans.end());
      for (size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second)
          fail(fmt::format("{}: the run created at {} overlaps the one "
                           "created at {} (until {})",
                           j.id(), spans[i].first, spans[i - 1].first,
                           spans[i - 1].second));
    }
    if (j.run().restart().policy() == ON_FAILURE) {
      if (h.success_count() != 0)
        fail(j.id() + ": a run of a task that always fails succeeded");
      // Retries after 1, 2, 4 ... s: within 600 s at most 10 tasks.
      for (const auto& r : h.failed_finished_runs())
        if (r.tasks_size() < 2 || r.tasks_size() > 11)
          fail(fmt::format("{}: run {} had {} task(s)", j.id(), r.id(),
                           r.tasks_size()));
    }
  }
  out.checked = true;
}

caf::behavior client(caf::stateful_actor<client_state>* self,
                     metronome_maker maker, metronome_actor first,
                     outcome* out, uint64_t seed, caf::timespan horizon) {
  auto& st = self->state;
  st.maker = maker;
  st.metronome = first;
  st.out = out;
  st.rng.seed(seed * 7919 + 1);
  auto at = [self](caf::timespan when, const char* what) {
    self->delayed_send(self, when, step_atom::value, std::string{what});
  };
  at(1s, "post");
  // Metronome is killed eight times, for a minute to five hours: some
  // spells stay within startingDeadlineSeconds (late runs), some pass it
  // (missed ticks).
  std::uniform_int_distribution<int64_t> when{
    1, std::chrono::duration_cast<std::chrono::seconds>(horizon - 2 * day)
         .count()};
  for (int i = 0; i < 8; ++i)
    at(std::chrono::seconds(when(st.rng)), "kill");
  at(horizon - std::chrono::hours(6), "check");
  return {
    [self](std::shared_ptr<metronome_actor>& current) {
      self->state.current = std::move(current);
    },
    [self](step_atom, const std::string& what) {
      auto& st = self->state;
      if (what == "post") {
        for (auto& j : jobs())
          self->send(self, step_atom::value, "post " + j.id());
      } else if (what.rfind("post ", 0) == 0) {
        for (auto& j : jobs())
          if (what == "post " + j.id())
            self->request(st.metronome, 10s, put_atom::value, j, true)
              .then([self](const Job&) { ++self->state.posted; },
                    [self, what](caf::error& err) {
                      // Not loaded or subscribed yet, or (a job with
                      // dependencies) the job it depends on not yet in:
                      // again. A conflict: it is in already.
                      if (code_of(err) != errc::conflict)
                        self->delayed_send(self, 1s, step_atom::value, what);
                    });
      } else if (what == "kill") {
        caf::anon_send_exit(st.metronome, caf::exit_reason::kill);
        ++st.out->restarts;
        std::uniform_int_distribution<int64_t> down{60, 5 * 3600};
        self->delayed_send(self, std::chrono::seconds(down(st.rng)),
                           step_atom::value, std::string{"start"});
      } else if (what == "start") {
        st.metronome = st.maker.make();
        if (st.current)
          *st.current = st.metronome;
      } else if (what == "check") {
        self->request(st.metronome, 60s, get_atom::value, jobs_atom::value,
                      true)
          .then(
            [self](const std::vector<JobStatus>& statuses) {
              auto& st = self->state;
              auto created = date::floor<std::chrono::seconds>(
                sys_seconds{std::chrono::seconds{
                  static_cast<int64_t>(epoch) + 1}});
              // Ticks up to a day ago have ended (runs last minutes).
              auto until = sys_seconds{std::chrono::seconds{
                static_cast<int64_t>(epoch)}}
                           + std::chrono::duration_cast<std::chrono::seconds>(
                             self->clock().now() - st.maker.origin)
                           - std::chrono::hours(24);
              check(*st.out, statuses, created, until);
            },
            [self](caf::error&) {
              self->delayed_send(self, 1min, step_atom::value,
                                 std::string{"check"});
            });
      }
    },
  };
}

sim::scenario scenario(caf::timespan horizon) {
  sim::scenario sc;
  sc.name = "metronome_year";
  sim::agent_group g;
  g.count = 4;
  g.total = *resources::parse("cpus:4;mem:8192;disk:10000");
  sc.agents.push_back(g);
  sc.links.delay = {std::chrono::microseconds(100),
                    std::chrono::milliseconds(5)};
  // A year in seconds of wall time: the kernel's periodic work spaced out.
  sc.allocation_interval = std::chrono::seconds(60);
  sc.agent_ping_timeout = std::chrono::seconds(60);
  sc.max_agent_ping_timeouts = 3;
  sc.faults_from = day;
  sc.faults_until = horizon - 2 * day;
  sc.random.agent_crashes = 2;
  sc.random.master_crashes = 2;
  sc.random.down_time = {std::chrono::seconds(30), std::chrono::minutes(10)};
  sc.time_limit = horizon;
  sc.converge_within = std::chrono::minutes(10);
  return sc;
}

struct run_result {
  sim::report report;
  outcome out;
};

run_result run(uint64_t seed, caf::timespan horizon = year) {
  run_result r;
  sim::simulation s{scenario(horizon), seed};
  s.add_framework([&r, seed, horizon](caf::actor_system& sys,
                                      detector_actor detector) {
    metronome_maker maker{&sys, detector, spawn_memory_store(sys), seed,
                          sys.clock().now()};
    auto m = maker.make();
    auto c = sys.spawn(client, maker, m, &r.out, seed, horizon);
    auto current = std::make_shared<metronome_actor>(m);
    caf::anon_send(c, current);
    caf::actor_cast<caf::abstract_actor*>(c)->attach_functor(
      [current](const caf::error&) {
        caf::anon_send_exit(*current, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(c);
  });
  r.report = s.run();
  return r;
}

} // namespace

TEST_CASE("a year of Metronome's ticks: each due tick runs once or is "
          "recorded as missed, across master, agent and Metronome crashes") {
  logging::init(spdlog::level::off);
  REQUIRE(!load_time_zones());
  for (auto seed : test::sim_seeds(2)) {
    auto r = run(seed);
    INFO("seed ", seed, " (DCOS_SIM_SEED) ", r.report.violation);
    CHECK_MESSAGE(r.report.passed, r.report.violation);
    REQUIRE_MESSAGE(r.out.checked, "Metronome never answered the check");
    for (const auto& v : r.out.violations)
      FAIL_CHECK(v);
    CHECK(r.out.restarts == 8);
    CHECK(r.out.runs > 8760); // the hourly job alone, nearly
    MESSAGE("seed ", seed, ": ", r.out.runs, " runs, ", r.out.missed,
            " missed ticks, ", r.report.stats.steps, " steps, ",
            r.report.stats.wall_seconds, " s wall");
  }
}

TEST_CASE("a Metronome year in the simulation is a function of its seed") {
  logging::init(spdlog::level::off);
  REQUIRE(!load_time_zones());
  auto a = run(3, 30 * day), b = run(3, 30 * day);
  CHECK(a.report.trace_hash == b.report.trace_hash);
}
