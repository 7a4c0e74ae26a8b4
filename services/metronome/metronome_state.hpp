// The state of the Metronome actor (metronome_actor.hpp): the jobs, their
// schedules, active runs and history, and what each event and request does
// to them. Private to the actor; its definitions are split by purpose:
// metronome_jobs.cpp (loading, the store, the requests) and
// metronome_runs.cpp (ticks, runs, offers, status updates).
//
// Thread-safety: used by its actor only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <dcos/logging.hpp>
#include <dcos/placement_constraint.hpp>

#include "cron_spec.hpp"
#include "metronome_actor.hpp"

namespace dcos::metronome {

// An active run and what waits on it.
struct run_entry {
  RunRecord record;
  bool wants_task = false; // waiting for an offer to launch a task
  bool active_stored = false; // the store has it ACTIVE
};

// A job and its runs.
struct job_entry {
  Job job;
  std::vector<placement_constraint> constraints;
  // Its schedule (the first; Metronome has one at most), if enabled.
  std::optional<cron_spec> cron;
  const date::time_zone* zone = nullptr;
  int64_t last_tick = 0;   // s since the epoch: every tick up to it is done
  uint64_t generation = 0; // due timers of older schedules are ignored
  std::map<std::string, run_entry> runs; // active, by run id
  JobHistory history;
  size_t logged = 0; // history entries in the store's log since compaction
  // A run started because its dependencies succeeded, not yet recorded:
  // another parent's success meanwhile starts no second one.
  bool dependency_run_starting = false;
};

/// Adds a finished run or missed ticks to `history`, keeping the last
/// `bound` of each list (newest first).
void apply_history(JobHistory& history, const HistoryEntry& e, size_t bound);

/// How put_job() puts: a new job with its schedules; a replacement that
/// keeps the old one's schedules (v1); one with its own (v0).
enum class job_put { create, replace, replace_with_schedules };

struct metronome_state {
  metronome_config cfg;
  metronome_actor::pointer self = nullptr;
  std::shared_ptr<spdlog::logger> log = logging::get("metronome");
  caf::actor_clock::time_point started_at{};
  std::mt19937_64 rng;
  bool loaded = false;
  bool subscribed = false;
  bool suppressed = false;
  bool revive_pending = false; // want_offers() waits to revive once
  std::string framework_id;
  scheduler_driver_actor driver;
  std::map<std::string, job_entry> jobs; // by id
  // Task id -> (job id, run id), for the tasks of active runs.
  // Hashed: task ids share long prefixes, and every update looks one up.
  std::unordered_map<std::string, std::pair<std::string, std::string>>
    run_of_task;
  // Tasks being killed (of stopped runs, or unknown), by id -> agent id.
  std::map<std::string, std::string> killing;
  // What offers told about agents, for constraints on attributes.
  std::unordered_map<std::string, placement_site> sites; // by agent id

  static inline const char* name = "metronome";

  // -- time and ids (metronome_jobs.cpp) ---------------------------------------------
  int64_t now_ms() const;
  int64_t now_s() const { return now_ms() / 1000; }
  std::string timestamp() const { return format_time(now_ms()); }
  static std::string format_time(int64_t ms); // Metronome's format
  std::string new_run_id();
  std::string uuid();
  caf::error not_loaded() const;

  // -- the store ----------------------------------------------------------------------
  // `done` runs once the value is durable, or after logging the failure
  // (with the error).
  void put(std::string key, std::string value,
           std::function<void(const caf::error&)> done = {});
  void erase(std::string key);
  void append_history(job_entry& entry, const HistoryEntry& e);

  // -- loading ------------------------------------------------------------------------
  void load();
  void fail_to_load(const std::string& what, const caf::error& err);
  template <class OnValue, class Done>
  void load_all(const std::string& prefix, OnValue on_value, Done done);
  void load_jobs();
  void load_ticks();
  void load_runs();
  void load_history();
  void start();

  // -- requests -----------------------------------------------------------------------
  caf::result<Job> put_job(Job job, job_put how);
  caf::result<Job> remove_job(const std::string& id, bool stop);
  caf::result<Schedule> put_schedule(const std::string& job_id, Schedule s,
                                     bool create);
  caf::result<ok_atom> remove_schedule(const std::string& job_id,
                                       const std::string& schedule_id);
  caf::result<JobRun> run_now(const std::string& job_id);
  caf::result<JobRun> stop_run(const std::string& job_id,
                               const std::string& run_id);
  // With `finished_runs` false: the history's counts and times only.
  std::vector<JobStatus> list_jobs(bool finished_runs) const;
  JobStatus status_of(const job_entry& entry, bool finished_runs = true) const;
  Job with_next_runs(const job_entry& entry) const; // nextRunAt filled in

  // -- schedules and runs (metronome_runs.cpp) ----------------------------------------
  // Installs `job` (new, replaced or loaded): its constraints and schedule.
  job_entry& install(Job job);
  // Arms the timer for the schedule's next tick (after last_tick), or
  // handles the ticks that are due already.
  void arm(job_entry& entry);
  void on_due(const std::string& job_id, uint64_t generation);
  // Creates a run (for `tick`, 0: now), records it, then starts it;
  // `answer` gets it once it is durable.
  void start_run(job_entry& entry, int64_t tick,
                 std::function<void(const caf::expected<JobRun>&)> answer);
  void finish_run(job_entry& entry, const std::string& run_id, bool success);
  void kill_task(const std::string& task_id, const std::string& agent_id);
  void on_deadline(const std::string& job_id, const std::string& run_id);
  void on_retry(const std::string& job_id, const std::string& run_id);
  // To the store; `done` (if any) hears how the write went.
  void record(job_entry& entry, const run_entry& run,
              std::function<void(const caf::error&)> done = {});
  void want_offers();
  void revive();

  // -- dependencies (metronome_dependencies.cpp) ----------------------------------------
  // Why `job` (its schedules final) may not depend on what it names: both
  // schedules and dependencies, unknown jobs, a cycle. Empty if it may.
  caf::error check_dependencies(const Job& job) const;
  // A conflict if other jobs depend on job `id`.
  caf::error check_no_dependents(const std::string& id) const;
  // Whether `child` has dependencies, no active run, and every job it
  // depends on last ended in success, after the child last started.
  bool dependencies_met(const job_entry& child) const;
  // Starts a run of `entry` if dependencies_met().
  void run_if_dependencies_met(job_entry& entry);
  // After a run of `finished` ended: starts each job (it, or one depending
  // on it) whose dependencies are now met.
  void run_dependents(job_entry& finished);
  // Adds (or removes) `job`'s edges in children_of.
  void link_dependencies(const Job& job, bool add);
  // The jobs that depend on each job, by its id.
  std::map<std::string, std::set<std::string>> children_of;

  // -- the framework ------------------------------------------------------------------
  void on_subscribed(const call::Event::Subscribed& s);
  void on_offers(const call::Event::Offers& event);
  void on_update(const v1::TaskStatus& status);
  void reconcile();
  void retry_kills();
};

} // namespace dcos::metronome
