#include "metronome_state.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/launch_backoff.hpp>
#include <dcos/offer_answer.hpp>
#include <dcos/offer_match.hpp>
#include <dcos/resources.hpp>
#include <dcos/task_state.hpp>

#include "job_definition.hpp"

namespace dcos::metronome {

namespace {

std::string run_key(const std::string& job, const std::string& run) {
  return "runs/" + job + "/" + run;
}

// Prepends `x` to `list`, keeping at most `bound` entries.
template <class T>
void push_front_bounded(google::protobuf::RepeatedPtrField<T>* list, T x,
                        size_t bound) {
  *list->Add() = std::move(x);
  // Moves pointers, not messages (rotating the messages swaps each one).
  std::rotate(list->pointer_begin(), list->pointer_end() - 1,
              list->pointer_end());
  while (static_cast<size_t>(list->size()) > bound)
    list->RemoveLast();
}

bool started(const std::string& state) {
  return state == "TASK_STAGING" || state == "TASK_STARTING"
         || state == "TASK_RUNNING";
}

// The task that runs a job once: the job's command or image.
v1::TaskInfo task_for(const Job& job, const std::string& task_id,
                      const v1::Offer& offer, const resources& used) {
  const auto& run = job.run();
  v1::TaskInfo info;
  info.set_name(job.id());
  info.mutable_task_id()->set_value(task_id);
  *info.mutable_agent_id() = offer.agent_id();
  used.to_proto(info.mutable_resources());
  auto* command = info.mutable_command();
  if (run.has_cmd()) {
    command->set_value(run.cmd());
    for (const auto& arg : run.args())
      command->add_arguments(arg);
  } else if (run.args_size() > 0) {
    command->set_shell(false);
    command->set_value(run.args(0));
    for (const auto& arg : run.args())
      command->add_arguments(arg);
  } else {
    command->set_shell(false); // the image's entry point
  }
  if (run.has_user())
    command->set_user(run.user());
  for (const auto& a : run.artifacts()) {
    auto* uri = command->add_uris();
    uri->set_value(a.uri());
    uri->set_executable(a.executable());
    uri->set_extract(a.extract());
    uri->set_cache(a.cache());
  }
  auto* env = command->mutable_environment();
  auto add_env = [env](const std::string& name, const std::string& value) {
    auto* v = env->add_variables();
    v->set_name(name);
    v->set_value(value);
  };
  for (const auto& [name, value] : run.env())
    add_env(name, value);
  add_env("MESOS_TASK_ID", task_id);
  add_env("HOST", offer.hostname());
  for (const auto& [key, value] : job.labels()) {
    auto* label = info.mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  std::string image;
  bool cached = true;
  if (run.has_docker()) {
    image = run.docker().image();
    cached = !run.docker().force_pull_image();
  } else if (run.has_ucr()) {
    image = run.ucr().image().id();
    cached = !run.ucr().image().force_pull();
  }
  if (!image.empty() || run.volumes_size() > 0 || run.networks_size() > 0) {
    auto* c = info.mutable_container();
    c->set_type(v1::ContainerInfo::MESOS);
    if (!image.empty()) {
      auto* i = c->mutable_mesos()->mutable_image();
      i->set_type(v1::Image::DOCKER);
      i->mutable_docker()->set_name(image);
      i->set_cached(cached);
    }
    for (const auto& v : run.volumes()) {
      auto* volume = c->add_volumes();
      volume->set_container_path(v.container_path());
      volume->set_host_path(v.host_path());
      volume->set_mode(v.mode() == "RO" ? v1::Volume::RO : v1::Volume::RW);
    }
    for (const auto& n : run.networks()) {
      if (n.mode() == "host")
        continue;
      auto* network = c->add_network_infos();
      network->set_name(n.mode() == "container/bridge" ? "mesos-bridge"
                                                       : n.name());
      for (const auto& [key, value] : n.labels()) {
        auto* label = network->mutable_labels()->add_labels();
        label->set_key(key);
        label->set_value(value);
      }
    }
  }
  if (run.has_task_kill_grace_period_seconds())
    info.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(
      static_cast<int64_t>(run.task_kill_grace_period_seconds() * 1e9));
  return info;
}

} // namespace

void apply_history(JobHistory& history, const HistoryEntry& e,
                   size_t bound) {
  if (e.has_missed()) {
    history.set_missed_count(history.missed_count() + e.missed().count());
    push_front_bounded(history.mutable_missed_ticks(), e.missed(), bound);
    return;
  }
  if (e.success()) {
    history.set_success_count(history.success_count() + 1);
    history.mutable_last_success_at()->set_string_value(e.run().finished_at());
    push_front_bounded(history.mutable_successful_finished_runs(), e.run(),
                       bound);
  } else {
    history.set_failure_count(history.failure_count() + 1);
    history.mutable_last_failure_at()->set_string_value(e.run().finished_at());
    push_front_bounded(history.mutable_failed_finished_runs(), e.run(),
                       bound);
  }
}

// -- schedules --------------------------------------------------------------------------

job_entry& metronome_state::install(Job job) {
  auto& entry = jobs[job.id()];
  link_dependencies(entry.job, false); // the replaced definition's
  link_dependencies(job, true);
  entry.constraints = constraints_of(job);
  entry.cron.reset();
  entry.zone = nullptr;
  if (job.schedules_size() > 0 && job.schedules(0).enabled()) {
    const auto& s = job.schedules(0);
    auto cron = cron_spec::parse(s.cron());
    auto zone = find_time_zone(s.timezone());
    if (cron && zone) {
      entry.cron = std::move(*cron);
      entry.zone = *zone;
    } else {
      log->error("job {}: schedule {} cannot be read; it does not run",
                 job.id(), s.id());
    }
  }
  entry.job = std::move(job);
  ++entry.generation;
  return entry;
}

void metronome_state::arm(job_entry& entry) {
  if (!entry.cron || !loaded)
    return;
  auto next = entry.cron->next_after(
    sys_seconds{std::chrono::seconds{entry.last_tick}}, *entry.zone);
  if (!next)
    return;
  auto due_ms = next->time_since_epoch().count() * int64_t{1000};
  auto delay = std::max<int64_t>(0, due_ms - now_ms());
  self->delayed_send(self, std::chrono::milliseconds(delay), due_atom::value,
                     entry.job.id(), entry.generation);
}

void metronome_state::on_due(const std::string& job_id, uint64_t generation) {
  auto at = jobs.find(job_id);
  if (at == jobs.end() || at->second.generation != generation
      || !at->second.cron)
    return; // a timer of a schedule that changed since
  auto& entry = at->second;
  const auto& schedule = entry.job.schedules(0);
  auto now = now_ms();
  auto deadline_ms = schedule.starting_deadline_seconds() * 1000;
  std::vector<int64_t> due;
  std::optional<MissedTicks> late; // the ticks no Metronome ran in time
  auto t = entry.cron->next_after(
    sys_seconds{std::chrono::seconds{entry.last_tick}}, *entry.zone);
  while (t && t->time_since_epoch().count() * int64_t{1000} <= now) {
    auto tick = static_cast<int64_t>(t->time_since_epoch().count());
    if (now - tick * 1000 > deadline_ms) {
      if (!late) {
        late.emplace();
        late->set_from(format_time(tick * 1000));
        late->set_reason(fmt::format(
          "Metronome was not running within startingDeadlineSeconds ({}) "
          "of the tick",
          schedule.starting_deadline_seconds()));
      }
      late->set_to(format_time(tick * 1000));
      late->set_count(late->count() + 1);
    } else {
      due.push_back(tick);
    }
    entry.last_tick = tick;
    t = entry.cron->next_after(*t, *entry.zone);
  }
  if (late) {
    log->warn("job {}: {} ticks missed ({})", job_id, late->count(),
              late->reason());
    HistoryEntry e;
    *e.mutable_missed() = *late;
    apply_history(entry.history, e, cfg.history_count);
    append_history(entry, e);
  }
  bool started = false; // a run of this batch is not in entry.runs yet
  for (auto tick : due) {
    if (schedule.concurrency_policy() == FORBID
        && (started || !entry.runs.empty())) {
      HistoryEntry e;
      auto* missed = e.mutable_missed();
      missed->set_from(format_time(tick * 1000));
      missed->set_to(missed->from());
      missed->set_count(1);
      missed->set_reason(
        entry.runs.empty()
          ? std::string{"concurrencyPolicy FORBID: the run of an earlier "
                        "tick was starting"}
          : fmt::format("concurrencyPolicy FORBID: run {} was still active",
                        entry.runs.begin()->first));
      apply_history(entry.history, e, cfg.history_count);
      append_history(entry, e);
      continue;
    }
    start_run(entry, tick, {});
    started = true;
  }
  if (!due.empty() || late)
    put("ticks/" + job_id, std::to_string(entry.last_tick));
  arm(entry);
}

// -- runs -------------------------------------------------------------------------------

void metronome_state::start_run(
  job_entry& entry, int64_t tick,
  std::function<void(const caf::expected<JobRun>&)> answer) {
  auto now = now_ms();
  RunRecord record;
  auto* run = record.mutable_run();
  run->set_id(new_run_id());
  run->set_job_id(entry.job.id());
  run->set_status(INITIAL);
  run->set_created_at(format_time(now));
  run->mutable_completed_at()->set_null_value({});
  record.set_tick(tick);
  record.set_created_ms(now);
  if (tick > 0)
    record.set_starting_deadline_ms(
      tick * 1000 + entry.job.schedules(0).starting_deadline_seconds() * 1000);
  auto job_id = entry.job.id();
  auto run_id = run->id();
  // The run as a POST answers it; a scheduled tick has no one to answer.
  JobRun initial;
  if (answer)
    initial = *run;
  // Recorded before anything is launched: a Metronome that restarts finds
  // the run (and its tick) instead of starting another.
  auto bytes = record.SerializeAsString();
  put(run_key(job_id, run_id), std::move(bytes),
      [this, job_id, run_id, record = std::move(record),
       initial = std::move(initial),
       answer = std::move(answer)](const caf::error& err) mutable {
        auto at = jobs.find(job_id);
        if (err || at == jobs.end()) {
          if (answer)
            answer(err ? err : make_error(errc::not_found, "Job not found"));
          return;
        }
        auto& run = at->second.runs[run_id];
        run.record = std::move(record);
        run.record.mutable_run()->set_status(STARTING);
        run.wants_task = true;
        if (run.record.starting_deadline_ms() > 0)
          self->delayed_send(
            self,
            std::chrono::milliseconds(std::max<int64_t>(
              0, run.record.starting_deadline_ms() - now_ms())),
            deadline_atom::value, job_id, run_id);
        log->info("job {}: run {} started", job_id, run_id);
        want_offers();
        if (answer)
          answer(initial);
      });
}

void metronome_state::record(job_entry& entry, const run_entry& run,
                             std::function<void(const caf::error&)> done) {
  put(run_key(entry.job.id(), run.record.run().id()),
      run.record.SerializeAsString(), std::move(done));
}

void metronome_state::finish_run(job_entry& entry, const std::string& run_id,
                                 bool success) {
  auto at = entry.runs.find(run_id);
  if (at == entry.runs.end())
    return;
  auto& record = at->second.record;
  auto now = timestamp();
  HistoryEntry e;
  e.set_success(success);
  auto* info = e.mutable_run();
  info->set_id(run_id);
  info->set_created_at(record.run().created_at());
  info->set_finished_at(now);
  if (record.tick() > 0)
    info->set_scheduled_at(format_time(record.tick() * 1000));
  for (const auto& task : record.run().tasks())
    info->add_tasks(task.id());
  apply_history(entry.history, e, cfg.history_count);
  // The history first: a crash before the run's record is erased leaves a
  // record the history says is finished (see load_history).
  append_history(entry, e);
  erase(run_key(entry.job.id(), run_id));
  for (const auto& [task, agent] : record.agent_of_task())
    run_of_task.erase(task);
  log->info("job {}: run {} {}", entry.job.id(), run_id,
            success ? "succeeded" : "failed");
  entry.runs.erase(at);
  run_dependents(entry);
}

caf::result<JobRun> metronome_state::stop_run(const std::string& job_id,
                                              const std::string& run_id) {
  if (!loaded)
    return not_loaded();
  auto job = jobs.find(job_id);
  if (job == jobs.end())
    return make_error(errc::not_found, "Job not found");
  auto& entry = job->second;
  auto at = entry.runs.find(run_id);
  if (at == entry.runs.end())
    return make_error(errc::not_found, "Job Run not found");
  auto& record = at->second.record;
  for (const auto& task : record.run().tasks()) {
    v1::TaskState state;
    auto agent = record.agent_of_task().find(task.id());
    if (v1::TaskState_Parse(task.status(), &state) && !is_terminal(state)
        && agent != record.agent_of_task().end())
      kill_task(task.id(), agent->second);
  }
  record.mutable_run()->set_status(FAILED);
  record.mutable_run()->mutable_completed_at()->set_string_value(timestamp());
  auto out = record.run();
  finish_run(entry, run_id, false);
  return out;
}

void metronome_state::kill_task(const std::string& task_id,
                                const std::string& agent_id) {
  killing[task_id] = agent_id;
  call::Call::Kill k;
  k.mutable_task_id()->set_value(task_id);
  k.mutable_agent_id()->set_value(agent_id);
  self->send(driver, std::move(k));
}

void metronome_state::on_deadline(const std::string& job_id,
                                  const std::string& run_id) {
  auto job = jobs.find(job_id);
  if (job == jobs.end())
    return;
  auto at = job->second.runs.find(run_id);
  if (at == job->second.runs.end()
      || at->second.record.run().status() == ACTIVE
      || now_ms() < at->second.record.starting_deadline_ms())
    return;
  log->warn("job {}: run {} did not start within startingDeadlineSeconds; "
            "it fails",
            job_id, run_id);
  (void)stop_run(job_id, run_id);
}

void metronome_state::on_retry(const std::string& job_id,
                               const std::string& run_id) {
  auto job = jobs.find(job_id);
  if (job == jobs.end())
    return;
  auto at = job->second.runs.find(run_id);
  if (at == job->second.runs.end())
    return;
  at->second.wants_task = true;
  want_offers();
}

void metronome_state::want_offers() {
  // A revive makes the master offer every agent at once: the runs of one
  // tick (a thousand jobs due the same minute) ask for offers once.
  if (suppressed && subscribed && !revive_pending) {
    revive_pending = true;
    self->delayed_send(self, std::chrono::milliseconds(50),
                       revive_atom::value);
  }
}

void metronome_state::revive() {
  revive_pending = false;
  if (suppressed && subscribed) {
    suppressed = false;
    self->send(driver, call::Call::Revive{});
  }
}

// -- the framework ----------------------------------------------------------------------

void metronome_state::on_subscribed(const call::Event::Subscribed& s) {
  subscribed = true;
  suppressed = false;
  if (s.framework_id().value() != framework_id) {
    framework_id = s.framework_id().value();
    put("framework_id", framework_id);
  }
  log->info("subscribed as framework {}", framework_id);
  self->send(driver, call::Call::Revive{});
  reconcile();
  retry_kills();
}

void metronome_state::reconcile() {
  call::Call::Reconcile known;
  // In task order, whatever the hash table's: the same call in every build.
  std::vector<const std::string*> tasks;
  for (const auto& [task, where] : run_of_task)
    tasks.push_back(&task);
  std::sort(tasks.begin(), tasks.end(),
            [](const auto* a, const auto* b) { return *a < *b; });
  for (const auto* task_id : tasks) {
    const auto& task = *task_id;
    const auto& where = run_of_task.at(task);
    const auto& agents = jobs[where.first].runs[where.second]
                           .record.agent_of_task();
    auto* t = known.add_tasks();
    t->mutable_task_id()->set_value(task);
    if (auto agent = agents.find(task); agent != agents.end())
      t->mutable_agent_id()->set_value(agent->second);
  }
  if (known.tasks_size() > 0)
    self->send(driver, std::move(known));
  // Implicit: the master answers for every task of this framework, which
  // finds the tasks Metronome does not know.
  self->send(driver, call::Call::Reconcile{});
}

void metronome_state::retry_kills() {
  for (const auto& [task, agent] : killing) {
    call::Call::Kill k;
    k.mutable_task_id()->set_value(task);
    k.mutable_agent_id()->set_value(agent);
    self->send(driver, std::move(k));
  }
}

void metronome_state::on_offers(const call::Event::Offers& event) {
  // The runs that wait for a task, gathered once per batch of offers: a
  // thousand jobs and a thousand offers must not make a million visits.
  struct waiting_run {
    job_entry* entry;
    const std::string* run_id;
    run_entry* run;
  };
  std::vector<waiting_run> waiting;
  for (auto& [job_id, entry] : jobs)
    for (auto& [run_id, run] : entry.runs)
      if (run.wants_task)
        waiting.push_back({&entry, &run_id, &run});
  auto fill = [&](const v1::Offer& offer, resources& available,
                  std::vector<v1::Offer::Operation>& /*operations*/) {
    sites[offer.agent_id().value()] = placement_site::of(offer);
    std::vector<v1::TaskInfo> launches;
    for (size_t i = 0; i < waiting.size();) {
      auto& [entry, run_id, run] = waiting[i];
      const auto& job_id = entry->job.id();
      const auto& spec = entry->job.run();
      task_demand demand;
      demand.cpus = spec.cpus();
      demand.mem = spec.mem();
      demand.disk = spec.disk();
      demand.gpus = spec.gpus();
      std::vector<placement_site> placed;
      if (!entry->constraints.empty())
        for (const auto& [other_id, other] : entry->runs)
          for (const auto& [task, agent] : other.record.agent_of_task())
            if (auto site = sites.find(agent); site != sites.end())
              placed.push_back(site->second);
      auto match = match_offer(demand, entry->constraints, offer, available,
                               placed);
      if (!match.fits) {
        log->debug("job {}: offer from {} does not fit: {}", job_id,
                   offer.hostname(), match.reason);
        ++i;
        continue;
      }
      available -= match.used;
      std::string task_id = job_id;
      std::replace(task_id.begin(), task_id.end(), '.', '_');
      task_id += "_" + *run_id + "." + uuid();
      launches.push_back(task_for(entry->job, task_id, offer, match.used));
      auto* task = run->record.mutable_run()->add_tasks();
      task->set_id(task_id);
      task->set_status("TASK_STAGING");
      task->set_started_at(timestamp());
      (*run->record.mutable_agent_of_task())[task_id]
        = offer.agent_id().value();
      run_of_task[task_id] = {job_id, *run_id};
      run->wants_task = false;
      record(*entry, *run);
      waiting[i] = waiting.back();
      waiting.pop_back();
    }
    return launches;
  };
  send_offer_answers(self, driver,
                     answer_offers(event.offers(), fill,
                                   [&] { return !waiting.empty(); }));
  if (waiting.empty() && !suppressed) {
    suppressed = true;
    self->send(driver, call::Call::Suppress{});
  }
}

void metronome_state::on_update(const v1::TaskStatus& status) {
  const auto& task_id = status.task_id().value();
  auto state = status.state();
  auto name = v1::TaskState_Name(state);
  // TASK_UNKNOWN (reconciliation about a task the master has no record
  // of) ends a task as surely as a terminal state; TASK_UNREACHABLE does
  // not (its agent may come back with it).
  bool ended = is_terminal(state) || state == v1::TASK_UNKNOWN;
  if (ended)
    killing.erase(task_id);
  auto where = run_of_task.find(task_id);
  if (where == run_of_task.end()) {
    // Not a task of an active run: left over from a stopped run, or one
    // this Metronome does not know. Nothing of it may keep running.
    if (!ended && !killing.count(task_id)) {
      log->warn("killing task {}, which no active run has", task_id);
      kill_task(task_id, status.agent_id().value());
    }
    return;
  }
  auto& entry = jobs[where->second.first];
  auto run_at = entry.runs.find(where->second.second);
  if (run_at == entry.runs.end())
    return;
  auto& run = run_at->second;
  auto* tasks = run.record.mutable_run()->mutable_tasks();
  auto task = std::find_if(tasks->begin(), tasks->end(),
                           [&](const RunTask& t) { return t.id() == task_id; });
  if (task == tasks->end() || task->status() == name)
    return;
  task->set_status(name);
  if (started(name)) {
    // Stored once the run is ACTIVE (its starting deadline no longer
    // applies after a restart); the task's later started states need no
    // write of their own, reconciliation tells a restarted Metronome.
    // Until the store has it, each started state writes it again.
    run.record.mutable_run()->set_status(ACTIVE);
    if (!run.active_stored)
      record(entry, run,
             [this, job_id = entry.job.id(),
              run_id = run_at->first](const caf::error& err) {
               if (err)
                 return;
               if (auto job = jobs.find(job_id); job != jobs.end())
                 if (auto r = job->second.runs.find(run_id);
                     r != job->second.runs.end())
                   r->second.active_stored = true;
             });
    return;
  }
  if (!ended)
    return;
  task->set_completed_at(timestamp());
  run_of_task.erase(where);
  if (state == v1::TASK_FINISHED) {
    run.record.mutable_run()->set_status(SUCCESS);
    finish_run(entry, run_at->first, true);
    return;
  }
  const auto& restart = entry.job.run().restart();
  bool retry = restart.policy() == ON_FAILURE;
  if (retry && restart.has_active_deadline_seconds())
    retry = now_ms() < run.record.created_ms()
                         + restart.active_deadline_seconds() * 1000;
  log->info("job {}: task {} of run {} ended in {}{}", entry.job.id(),
            task_id, run_at->first, name,
            retry ? "; it is started again (ON_FAILURE)" : "");
  if (retry) {
    // Not at once: a task that fails as it starts would loop.
    auto failures = run.record.failed_tasks();
    run.record.set_failed_tasks(failures + 1);
    record(entry, run);
    // The backoff Marathon computes, here 1 s doubling with each failure
    // of the run, up to the job's maxLaunchDelay.
    auto delay = backoff_delay(
      {1, 2, static_cast<double>(entry.job.run().max_launch_delay())},
      static_cast<uint32_t>(failures) + 1);
    self->delayed_send(self,
                       std::chrono::duration_cast<caf::timespan>(
                         std::chrono::duration<double>(delay)),
                       retry_atom::value,
                       entry.job.id(), run_at->first);
    return;
  }
  run.record.mutable_run()->set_status(FAILED);
  finish_run(entry, run_at->first, false);
}

} // namespace dcos::metronome
