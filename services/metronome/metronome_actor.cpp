#include "metronome_state.hpp"

#include <dcos/ask.hpp>

#include <dcos/error.hpp>

namespace dcos::metronome {

metronome_actor spawn_metronome(caf::actor_system& sys,
                                metronome_config cfg) {
  return sys.spawn([cfg = std::move(cfg)](
                     metronome_actor::stateful_pointer<metronome_state> self)
                     -> metronome_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.self = self;
    st.started_at = self->clock().now();
    st.load();
    return {
      [self](put_atom, Job& job, bool create) {
        return self->state.put_job(std::move(job), create ? job_put::create
                                                          : job_put::replace);
      },
      [self](put_atom, schedule_atom, Job& job) {
        return self->state.put_job(std::move(job),
                                   job_put::replace_with_schedules);
      },
      [self](get_atom, jobs_atom,
             bool finished_runs) -> caf::result<std::vector<JobStatus>> {
        // Refused while loading, as every request: when_loaded() waits for
        // this before Metronome's routes serve.
        if (!self->state.loaded)
          return self->state.not_loaded();
        return self->state.list_jobs(finished_runs);
      },
      [self](get_atom, jobs_atom,
             const std::string& id) -> caf::result<JobStatus> {
        auto& st = self->state;
        if (!st.loaded)
          return st.not_loaded();
        auto at = st.jobs.find(id);
        if (at == st.jobs.end())
          return make_error(errc::not_found, "Job not found");
        return st.status_of(at->second);
      },
      [self](erase_atom, const std::string& id, bool stop) {
        return self->state.remove_job(id, stop);
      },
      [self](put_atom, schedule_atom, const std::string& job, Schedule& s,
             bool create) {
        return self->state.put_schedule(job, std::move(s), create);
      },
      [self](erase_atom, schedule_atom, const std::string& job,
             const std::string& schedule) {
        return self->state.remove_schedule(job, schedule);
      },
      [self](put_atom, runs_atom, const std::string& job) {
        return self->state.run_now(job);
      },
      [self](stop_atom, const std::string& job, const std::string& run) {
        return self->state.stop_run(job, run);
      },
      [self](get_atom, info_atom) { return self->state.framework_id; },
      [self](due_atom, const std::string& job, uint64_t generation) {
        self->state.on_due(job, generation);
      },
      [self](deadline_atom, const std::string& job, const std::string& run) {
        self->state.on_deadline(job, run);
      },
      [self](retry_atom, const std::string& job, const std::string& run) {
        self->state.on_retry(job, run);
      },
      [self](revive_atom) { self->state.revive(); },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.subscribed)
          st.retry_kills();
        self->delayed_send(self, st.cfg.kill_retry_interval, tick_atom::value);
      },
      // The framework's events.
      [self](const call::Event::Subscribed& s) {
        self->state.on_subscribed(s);
      },
      [self](disconnected_atom) {
        self->state.subscribed = false;
        self->state.log->warn("disconnected from the master");
      },
      [self](const call::Event::Offers& offers) {
        self->state.on_offers(offers);
      },
      [](const call::Event::Rescind&) {},
      [self](const call::Event::Update& u) {
        self->state.on_update(u.status());
      },
      [](const call::Event::Message&) {},
      [](const call::Event::Failure&) {},
      [self](const call::Event::Error& e) {
        self->state.log->critical("the master refused Metronome: {}",
                                  e.message());
        self->quit(make_error(errc::conflict, e.message()));
      },
      [](const call::Event::InverseOffers&) {},
      [](const call::Event::RescindInverseOffer&) {},
      [](const call::Event::UpdateOperationStatus&) {},
    };
  });
}

void when_loaded(caf::actor_system& sys, metronome_actor metronome,
                 std::function<void(const caf::error&)> done) {
  when_ready<std::vector<JobStatus>>(sys, std::move(metronome), std::move(done),
                                     get_atom::value, jobs_atom::value,
                                     false);
}

} // namespace dcos::metronome
