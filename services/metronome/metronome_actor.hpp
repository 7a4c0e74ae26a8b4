// The heart of Metronome: one actor that is both a framework (the scheduler
// SDK's events arrive here) and the keeper of the jobs, their schedules,
// runs and history.
//
// What it guarantees:
//  - An accepted change (a job created, replaced or removed; a schedule
//    added, replaced or removed) is in the store before it is answered.
//  - Exactly once per tick: when a schedule comes due, the run for that
//    tick is in the store (with the tick it is for) before its task is
//    launched, and a restarted Metronome continues after the last tick
//    recorded: it neither starts that tick's run again nor skips a tick.
//    Ticks that came due while no Metronome ran are run late if they are
//    within the schedule's startingDeadlineSeconds, and recorded as missed
//    (with the reason) otherwise; so is a tick that finds a run still
//    active under concurrencyPolicy FORBID.
//  - A run started by a schedule whose task has not started within
//    startingDeadlineSeconds fails. A failed task is launched again in the
//    same run with restart policy ON_FAILURE (after a backoff computed as
//    Marathon's, dcos/launch_backoff.hpp: 1 s, doubling with each failure
//    up to maxLaunchDelay), until activeDeadlineSeconds have
//    passed since the run was created; with NEVER the run fails.
//  - A finished run (SUCCESS or FAILED) leaves the active runs and goes to
//    the job's history: counts, last times, and the last `history_count`
//    runs of each outcome.
//  - The framework id is kept in the store; a restarted Metronome fails
//    over to its framework, reconciles its runs' tasks and kills tasks it
//    does not know.
//
// Time only through CAF timers and `start_time`; randomness only from
// `seed`; disk only through `store`: it runs unchanged in the simulation.
//
// Thread-safety: an actor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/detector_actor.hpp>
#include <dcos/scheduler_driver_actor.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/type_bridge.hpp>

#include "metronome.pb.h"

namespace dcos::metronome {

using dcos::detail::inspect;

using jobs_atom = caf::atom_constant<caf::atom("jobs")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using runs_atom = caf::atom_constant<caf::atom("runs")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using revive_atom = caf::atom_constant<caf::atom("revive")>;

/// The calls of the REST API. Failures: errc::not_found (no such job,
/// schedule or run), errc::conflict (the job or schedule exists, for a
/// create; the job has active runs, for a remove without stopping them; a
/// second schedule), errc::unavailable (the state is loading),
/// errc::io_error (the store refused the change; nothing changed).
using metronome_api = caf::typed_actor<
  // Creates a job (with its schedules), or replaces one (`create` false;
  // its schedules are kept, as Metronome's PUT keeps them). Answers the job.
  caf::replies_to<put_atom, Job, bool /*create*/>::with<Job>,
  // Replaces a job with its schedules (Metronome's v0 PUT); a changed
  // schedule counts its ticks from now. Answers the job.
  caf::replies_to<put_atom, schedule_atom, Job>::with<Job>,
  // Every job with its active runs and history, sorted by id; without
  // `finished_runs` the history has its counts and times but not its lists
  // of finished runs and missed ticks (what metrics, the queue and a list
  // without embed=history need, at a fraction of the copying). One job,
  // whole.
  caf::replies_to<get_atom, jobs_atom, bool /*finished_runs*/>::with<
    std::vector<JobStatus>>,
  caf::replies_to<get_atom, jobs_atom, std::string>::with<JobStatus>,
  // Removes a job (its history too); with `stop` its active runs are
  // stopped first, else a job with active runs is refused.
  caf::replies_to<erase_atom, std::string, bool /*stop*/>::with<Job>,
  // Adds (`create`) or replaces a schedule of a job; answers it.
  caf::replies_to<put_atom, schedule_atom, std::string, Schedule,
                  bool /*create*/>::with<Schedule>,
  caf::replies_to<erase_atom, schedule_atom, std::string,
                  std::string>::with<ok_atom>,
  // Starts a run of the job now; answers it (INITIAL).
  caf::replies_to<put_atom, runs_atom, std::string>::with<JobRun>,
  // Stops an active run: its tasks are killed, it fails.
  caf::replies_to<stop_atom, std::string, std::string>::with<JobRun>,
  // The framework id ("" until subscribed once).
  caf::replies_to<get_atom, info_atom>::with<std::string>,
  // Internal: a job's schedule may be due (the job's schedule
  // generation); a scheduled run's starting deadline; a failed run's next
  // task; asking for offers again (once for the runs of one tick); the
  // periodic kill retries.
  caf::reacts_to<due_atom, std::string, uint64_t>,
  caf::reacts_to<deadline_atom, std::string, std::string>,
  caf::reacts_to<retry_atom, std::string, std::string>,
  caf::reacts_to<revive_atom>,
  caf::reacts_to<tick_atom>>;

/// Both faces: the framework the driver talks to, and the API.
using metronome_actor = metronome_api::extend_with<framework_actor>;

struct metronome_config {
  v1::FrameworkInfo framework; // name, role, user, failover_timeout
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  double start_time = 0; // seconds since the epoch when started
  scheduler_options driver_options;
  /// Finished runs kept per job and outcome (Metronome's history count).
  size_t history_count = 1000;
  /// How often tasks are reconciled and unconfirmed kills sent again.
  caf::timespan reconcile_interval = std::chrono::minutes(10);
  caf::timespan kill_retry_interval = std::chrono::seconds(10);
};

/// Loads the state from `cfg.store`, then subscribes (failing over to the
/// stored framework id, if any). The actor and its driver end together.
metronome_actor spawn_metronome(caf::actor_system& sys, metronome_config cfg);

/// Calls `done` once, from another actor: with no error once `metronome`
/// has loaded its state (until then it refuses requests as unavailable),
/// or with the reason it could not (it ended).
void when_loaded(caf::actor_system& sys, metronome_actor metronome,
                 std::function<void(const caf::error&)> done);

} // namespace dcos::metronome
