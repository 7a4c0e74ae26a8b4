#include "metronome_state.hpp"

#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/recordio.hpp>
#include <dcos/task_state.hpp>
#include <dcos/uuid_text.hpp>

#include "job_definition.hpp"

namespace dcos::metronome {

namespace {

std::string job_key(const std::string& id) { return "jobs/" + id; }
std::string ticks_key(const std::string& id) { return "ticks/" + id; }
std::string history_key(const std::string& id) { return "history/" + id; }
std::string runs_prefix(const std::string& id) { return "runs/" + id + "/"; }

caf::error job_not_found() {
  return make_error(errc::not_found, "Job not found");
}

// Writes `value` as `width` decimal digits, zero-padded, at `out`.
// REQUIRES: value < 10^width.
char* put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10)
    out[i] = static_cast<char>('0' + value % 10);
  return out + width;
}

// The UTC calendar fields of `seconds` since the epoch, as yyyy mm dd hh mm
// ss digits at `out` with the separators given (0 for none); a year past
// 9999 takes the digits it needs, as fmt's {:04} did.
// REQUIRES: a time in the year 0 or later; room for 25 characters at `out`.
char* put_utc(char* out, int64_t seconds, const char (&separators)[6]) {
  auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const unsigned fields[] = {static_cast<unsigned>(tm.tm_year + 1900),
                             static_cast<unsigned>(tm.tm_mon + 1),
                             static_cast<unsigned>(tm.tm_mday),
                             static_cast<unsigned>(tm.tm_hour),
                             static_cast<unsigned>(tm.tm_min),
                             static_cast<unsigned>(tm.tm_sec)};
  int year_width = 4;
  for (auto year = fields[0]; year >= 10000; year /= 10)
    ++year_width;
  for (int i = 0; i < 6; ++i) {
    out = put_digits(out, fields[i], i == 0 ? year_width : 2);
    if (i < 5 && separators[i] != 0)
      *out++ = separators[i];
  }
  return out;
}

} // namespace

// -- time and ids -----------------------------------------------------------------------

int64_t metronome_state::now_ms() const {
  auto since_start = std::chrono::duration_cast<std::chrono::milliseconds>(
    self->clock().now() - started_at);
  return static_cast<int64_t>(cfg.start_time * 1000) + since_start.count();
}

// Written out by hand rather than with fmt: Metronome stamps every run and
// task several times, and at a thousand runs a minute fmt's parsing of its
// patterns was a third of Metronome's work in the simulation.
std::string metronome_state::format_time(int64_t ms) {
  auto seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000; // floor
  char text[40];
  auto* end = put_utc(text, seconds, {'-', '-', 'T', ':', ':', 0});
  *end++ = '.';
  end = put_digits(end, static_cast<unsigned>(ms - seconds * 1000), 3);
  for (char c : std::string_view{"+0000"})
    *end++ = c;
  return std::string(text, end);
}

std::string metronome_state::new_run_id() {
  // As Metronome: the time (yyyyMMddHHmmss) and five random characters.
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char text[40];
  auto* end = put_utc(text, now_ms() / 1000, {0, 0, 0, 0, 0, 0});
  for (int i = 0; i < 5; ++i)
    *end++ = alphabet[rng() % (sizeof(alphabet) - 1)];
  return std::string(text, end);
}

std::string metronome_state::uuid() {
  auto a = rng(), b = rng(); // in this order: the same ids for a seed
  return uuid_v4_text(a, b);
}

caf::error metronome_state::not_loaded() const {
  return make_error(errc::unavailable, "Metronome is loading its state");
}

// -- the store --------------------------------------------------------------------------

void metronome_state::put(std::string key, std::string value,
                          std::function<void(const caf::error&)> done) {
  // One callback shared by both outcomes: it may carry a whole run record,
  // which a copy per handler would duplicate.
  auto then = std::make_shared<std::function<void(const caf::error&)>>(
    std::move(done));
  self->request(cfg.store, caf::infinite, put_atom::value, key,
                std::move(value))
    .then(
      [then](ok_atom) {
        if (*then)
          (*then)(caf::error{});
      },
      [this, key, then](caf::error& err) {
        log->error("cannot write {} to the store: {}", key, describe(err));
        if (*then)
          (*then)(err);
      });
}

void metronome_state::erase(std::string key) {
  self->request(cfg.store, caf::infinite, erase_atom::value, key)
    .then([](ok_atom) {},
          [this, key](caf::error& err) {
            if (code_of(err) != errc::not_found)
              log->error("cannot erase {} from the store: {}", key,
                         describe(err));
          });
}

void metronome_state::append_history(job_entry& entry,
                                     const HistoryEntry& e) {
  const auto& id = entry.job.id();
  if (++entry.logged > 2 * cfg.history_count + 16) {
    // The log is rewritten as one snapshot of the (bounded) history.
    HistoryEntry snapshot;
    *snapshot.mutable_snapshot() = entry.history;
    entry.logged = 1;
    put(history_key(id), recordio::encode(snapshot.SerializeAsString()));
    return;
  }
  self
    ->request(cfg.store, caf::infinite, append_atom::value, history_key(id),
              recordio::encode(e.SerializeAsString()))
    .then([](ok_atom) {},
          [this, id](caf::error& err) {
            log->error("cannot write the history of job {}: {}", id,
                       describe(err));
          });
}

// -- loading ----------------------------------------------------------------------------

void metronome_state::fail_to_load(const std::string& what,
                                   const caf::error& err) {
  log->critical("cannot load {} from the store: {}", what, describe(err));
  self->quit(err);
}

template <class OnValue, class Done>
void metronome_state::load_all(const std::string& prefix, OnValue on_value,
                               Done done) {
  self->request(cfg.store, caf::infinite, keys_atom::value, prefix)
    .then(
      [this, prefix, on_value, done](const std::vector<std::string>& keys) {
        if (keys.empty()) {
          done();
          return;
        }
        auto left = std::make_shared<size_t>(keys.size());
        for (const auto& key : keys)
          self->request(cfg.store, caf::infinite, get_atom::value, key)
            .then(
              [key, on_value, done, left](const std::string& bytes) {
                on_value(key, bytes);
                if (--*left == 0)
                  done();
              },
              [this, key](caf::error& err) { fail_to_load(key, err); });
      },
      [this, prefix](caf::error& err) { fail_to_load(prefix, err); });
}

void metronome_state::load() {
  load_or_empty(
    self, cfg.store, "incarnation",
    [this](const std::string& text) {
      uint64_t incarnation = std::strtoull(text.c_str(), nullptr, 10) + 1;
      put("incarnation", std::to_string(incarnation),
          [this, incarnation](const caf::error& err) {
            if (err)
              return fail_to_load("incarnation", err);
            rng.seed(cfg.seed ^ (incarnation * 0x9e3779b97f4a7c15ull));
            load_or_empty(
              self, cfg.store, "framework_id",
              [this](const std::string& id) {
                framework_id = id;
                load_jobs();
              },
              [this](const caf::error& e) { fail_to_load("framework_id", e); });
          });
    },
    [this](const caf::error& err) { fail_to_load("incarnation", err); });
}

void metronome_state::load_jobs() {
  load_all(
    "jobs/",
    [this](const std::string&, const std::string& bytes) {
      Job job;
      if (!job.ParseFromString(bytes))
        return log->error("a job in the store does not parse; skipped");
      install(std::move(job));
    },
    [this] { load_ticks(); });
}

void metronome_state::load_ticks() {
  load_all(
    "ticks/",
    [this](const std::string& key, const std::string& text) {
      auto job = jobs.find(key.substr(6));
      if (job == jobs.end())
        return erase(key); // of a job removed meanwhile
      job->second.last_tick = std::strtoll(text.c_str(), nullptr, 10);
    },
    [this] { load_runs(); });
}

void metronome_state::load_runs() {
  load_all(
    "runs/",
    [this](const std::string& key, const std::string& bytes) {
      RunRecord record;
      if (!record.ParseFromString(bytes))
        return log->error("a run in the store does not parse; skipped");
      auto job = jobs.find(record.run().job_id());
      if (job == jobs.end())
        return erase(key);
      auto& entry = job->second;
      // The run's tick is done, even if the tick's own record was not
      // written before a crash.
      entry.last_tick = std::max(entry.last_tick, record.tick());
      auto& run = entry.runs[record.run().id()];
      for (const auto& [task, agent] : record.agent_of_task())
        run_of_task[task] = {entry.job.id(), record.run().id()};
      run.record = std::move(record);
      run.active_stored = run.record.run().status() == ACTIVE;
    },
    [this] { load_history(); });
}

void metronome_state::load_history() {
  load_all(
    "history/",
    [this](const std::string& key, const std::string& bytes) {
      auto job = jobs.find(key.substr(8));
      if (job == jobs.end())
        return erase(key);
      auto& entry = job->second;
      recordio::decoder decoder;
      auto records = decoder.decode(bytes);
      if (!records) {
        log->error("the history of job {} is damaged: {}", entry.job.id(),
                   describe(records.error()));
        return;
      }
      // A torn last entry (a crash during an append) is ignored.
      for (const auto& r : *records) {
        HistoryEntry e;
        if (!e.ParseFromString(r))
          continue;
        ++entry.logged;
        if (e.has_snapshot()) {
          entry.history = e.snapshot();
          continue;
        }
        apply_history(entry.history, e, cfg.history_count);
        // A finished run's record may have outlived it (a crash before it
        // was erased).
        if (auto active = entry.runs.find(e.run().id());
            !e.has_missed() && active != entry.runs.end()) {
          for (const auto& [task, agent] :
               active->second.record.agent_of_task())
            run_of_task.erase(task);
          entry.runs.erase(active);
          erase(runs_prefix(entry.job.id()) + e.run().id());
        }
      }
    },
    [this] { start(); });
}

void metronome_state::start() {
  loaded = true;
  size_t runs = 0;
  for (auto& [id, entry] : jobs) {
    runs += entry.runs.size();
    for (auto& [run_id, run] : entry.runs) {
      // A run with no task that may still run (none launched yet, or the
      // last one failed and waits to be retried) gets one; the
      // reconciliation after subscribing tells about the others.
      run.wants_task = true;
      for (const auto& task : run.record.run().tasks()) {
        v1::TaskState state;
        if (v1::TaskState_Parse(task.status(), &state) && !is_terminal(state)
            && state != v1::TASK_UNKNOWN)
          run.wants_task = false;
      }
      if (run.record.starting_deadline_ms() > 0
          && run.record.run().status() != ACTIVE)
        self->delayed_send(
          self,
          std::chrono::milliseconds(std::max<int64_t>(
            0, run.record.starting_deadline_ms() - now_ms())),
          deadline_atom::value, id, run_id);
    }
    arm(entry);
  }
  log->info("loaded {} jobs, {} active runs", jobs.size(), runs);
  auto info = cfg.framework;
  if (!framework_id.empty())
    info.mutable_id()->set_value(framework_id);
  driver = spawn_scheduler_driver(self->system(),
                                  caf::actor_cast<framework_actor>(self),
                                  info, cfg.detector, cfg.driver_options);
  self->link_to(driver);
  self->delayed_send(self, cfg.kill_retry_interval, tick_atom::value);
  // Dependencies met before the restart (the job's run not yet recorded).
  for (auto& [id, entry] : jobs)
    run_if_dependencies_met(entry);
}

// -- requests ---------------------------------------------------------------------------

caf::result<Job> metronome_state::put_job(Job job, job_put how) {
  if (!loaded)
    return not_loaded();
  bool create = how == job_put::create;
  auto existing = jobs.find(job.id());
  if (create && existing != jobs.end())
    return make_error(errc::conflict, "Job with this id already exists");
  if (!create && existing == jobs.end())
    return job_not_found();
  if (how == job_put::replace) // Metronome's v1 PUT keeps the schedules
    *job.mutable_schedules() = existing->second.job.schedules();
  if (auto err = check_dependencies(job))
    return err;
  // Ticks count from now: a new or changed schedule does not run for the
  // past.
  bool fresh_ticks = create;
  if (how == job_put::replace_with_schedules) {
    const auto& before = existing->second.job.schedules();
    fresh_ticks = before.size() != job.schedules().size();
    for (int i = 0; !fresh_ticks && i < before.size(); ++i)
      fresh_ticks = before.Get(i).SerializeAsString()
                    != job.schedules(i).SerializeAsString();
  }
  auto promise = self->make_response_promise<Job>();
  auto id = job.id();
  auto bytes = job.SerializeAsString();
  auto now = now_s();
  if (fresh_ticks)
    put(ticks_key(id), std::to_string(now));
  put(job_key(id), bytes,
      [this, promise, job = std::move(job), fresh_ticks, now](
        const caf::error& err) mutable {
        if (err) {
          promise.deliver(err);
          return;
        }
        auto& entry = install(job);
        if (fresh_ticks)
          entry.last_tick = now;
        arm(entry);
        promise.deliver(with_next_runs(entry));
      });
  return promise;
}

caf::result<Job> metronome_state::remove_job(const std::string& id,
                                             bool stop) {
  if (!loaded)
    return not_loaded();
  auto at = jobs.find(id);
  if (at == jobs.end())
    return job_not_found();
  if (auto err = check_no_dependents(id))
    return err;
  auto& entry = at->second;
  if (!entry.runs.empty() && !stop)
    return make_error(errc::conflict, "There are active job runs. Override "
                                      "with stopCurrentJobRuns=true");
  std::vector<std::string> active;
  for (const auto& [run_id, run] : entry.runs)
    active.push_back(run_id);
  for (const auto& run_id : active)
    (void)stop_run(id, run_id);
  auto job = entry.job;
  auto promise = self->make_response_promise<Job>();
  self->request(cfg.store, caf::infinite, erase_atom::value, job_key(id))
    .then(
      [this, promise, id, job](ok_atom) mutable {
        erase(ticks_key(id));
        erase(history_key(id));
        link_dependencies(jobs[id].job, false);
        jobs.erase(id);
        promise.deliver(job);
      },
      [this, promise](caf::error& err) mutable {
        log->error("cannot remove a job from the store: {}", describe(err));
        promise.deliver(err);
      });
  return promise;
}

caf::result<Schedule> metronome_state::put_schedule(const std::string& job_id,
                                                    Schedule s, bool create) {
  if (!loaded)
    return not_loaded();
  auto at = jobs.find(job_id);
  if (at == jobs.end())
    return job_not_found();
  auto job = at->second.job;
  auto* schedules = job.mutable_schedules();
  auto same = std::find_if(schedules->begin(), schedules->end(),
                           [&s](const Schedule& x) { return x.id() == s.id(); });
  if (create) {
    if (same != schedules->end())
      return make_error(errc::conflict,
                        fmt::format("A schedule with id {} already exists",
                                    s.id()));
    if (!schedules->empty())
      return make_error(errc::conflict,
                        "Only one schedule supported at the moment");
    *schedules->Add() = s;
  } else {
    if (same == schedules->end())
      return make_error(errc::not_found, "Schedule not found");
    *same = s;
  }
  if (auto err = check_dependencies(job))
    return err;
  auto promise = self->make_response_promise<Schedule>();
  auto now = now_s();
  put(ticks_key(job_id), std::to_string(now));
  put(job_key(job_id), job.SerializeAsString(),
      [this, promise, job, now, id = s.id()](const caf::error& err) mutable {
        if (err) {
          promise.deliver(err);
          return;
        }
        auto& entry = install(job);
        entry.last_tick = now; // a changed schedule does not run for the past
        arm(entry);
        auto job_now = with_next_runs(entry);
        for (const auto& x : job_now.schedules())
          if (x.id() == id) {
            promise.deliver(x);
            return;
          }
        promise.deliver(make_error(errc::not_found, "Schedule not found"));
      });
  return promise;
}

caf::result<ok_atom>
metronome_state::remove_schedule(const std::string& job_id,
                                 const std::string& schedule_id) {
  if (!loaded)
    return not_loaded();
  auto at = jobs.find(job_id);
  if (at == jobs.end())
    return job_not_found();
  auto job = at->second.job;
  auto* schedules = job.mutable_schedules();
  auto same = std::find_if(schedules->begin(), schedules->end(),
                           [&](const Schedule& x) {
                             return x.id() == schedule_id;
                           });
  if (same == schedules->end())
    return make_error(errc::not_found, "Schedule not found");
  schedules->erase(same);
  auto promise = self->make_response_promise<ok_atom>();
  put(job_key(job_id), job.SerializeAsString(),
      [this, promise, job](const caf::error& err) mutable {
        if (err) {
          promise.deliver(err);
          return;
        }
        arm(install(job));
        promise.deliver(ok_atom::value);
      });
  return promise;
}

caf::result<JobRun> metronome_state::run_now(const std::string& job_id) {
  if (!loaded)
    return not_loaded();
  auto at = jobs.find(job_id);
  if (at == jobs.end())
    return job_not_found();
  auto promise = self->make_response_promise<JobRun>();
  start_run(at->second, 0,
            [promise](const caf::expected<JobRun>& run) mutable {
              if (run)
                promise.deliver(*run);
              else
                promise.deliver(run.error());
            });
  return promise;
}

std::vector<JobStatus> metronome_state::list_jobs(bool finished_runs) const {
  std::vector<JobStatus> out;
  out.reserve(jobs.size());
  for (const auto& [id, entry] : jobs)
    out.push_back(status_of(entry, finished_runs));
  return out;
}

JobStatus metronome_state::status_of(const job_entry& entry,
                                     bool finished_runs) const {
  JobStatus out;
  *out.mutable_job() = with_next_runs(entry);
  for (const auto& [id, run] : entry.runs)
    *out.add_active_runs() = run.record.run();
  auto* h = out.mutable_history();
  if (finished_runs) {
    *h = entry.history;
  } else {
    const auto& all = entry.history;
    h->set_success_count(all.success_count());
    h->set_failure_count(all.failure_count());
    h->set_missed_count(all.missed_count());
    if (all.has_last_success_at())
      *h->mutable_last_success_at() = all.last_success_at();
    if (all.has_last_failure_at())
      *h->mutable_last_failure_at() = all.last_failure_at();
  }
  h->set_success_count(h->success_count());
  h->set_failure_count(h->failure_count());
  h->set_missed_count(h->missed_count());
  if (!h->has_last_success_at())
    h->mutable_last_success_at()->set_null_value({});
  if (!h->has_last_failure_at())
    h->mutable_last_failure_at()->set_null_value({});
  return out;
}

Job metronome_state::with_next_runs(const job_entry& entry) const {
  auto job = entry.job;
  auto now = sys_seconds{std::chrono::seconds{now_s()}};
  for (int i = 0; i < job.schedules_size(); ++i) {
    auto& s = *job.mutable_schedules(i);
    // The enabled schedule is parsed already; a disabled one still shows
    // when it would run.
    std::optional<cron_spec> parsed;
    const cron_spec* cron = i == 0 && entry.cron ? &*entry.cron : nullptr;
    const date::time_zone* zone = cron ? entry.zone : nullptr;
    if (!cron) {
      auto c = cron_spec::parse(s.cron());
      auto z = find_time_zone(s.timezone());
      if (!c || !z)
        continue;
      parsed = std::move(*c);
      cron = &*parsed;
      zone = *z;
    }
    if (auto next = cron->next_after(now, *zone))
      s.set_next_run_at(
        format_time(next->time_since_epoch().count() * int64_t{1000}));
  }
  return job;
}

} // namespace dcos::metronome
