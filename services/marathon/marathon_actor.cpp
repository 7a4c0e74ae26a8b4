#include "marathon_state.hpp"

#include <dcos/ask.hpp>

namespace dcos::marathon {

marathon_actor spawn_marathon(caf::actor_system& sys, marathon_config cfg) {
  return sys.spawn([cfg = std::move(cfg)](
                     marathon_actor::stateful_pointer<marathon_state> self)
                     -> marathon_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.self = self;
    st.started_at = self->clock().now();
    st.load();
    return {
      [self](put_atom, App& app, bool create, bool force) {
        return self->state.put(std::move(app), create, force);
      },
      [self](erase_atom, const std::string& id, bool force) {
        return self->state.remove(id, force);
      },
      [self](restart_atom, const std::string& id, bool force) {
        return self->state.restart(id, force);
      },
      [self](kill_atom, const std::vector<std::string>& ids, bool scale,
             bool wipe) {
        return self->state.kill_tasks(ids, scale, wipe);
      },
      [self](get_atom, apps_atom) -> caf::result<std::vector<App>> {
        // Refused while loading, as every request: when_loaded() waits for
        // this before Marathon's routes serve.
        if (!self->state.loaded)
          return self->state.not_loaded();
        return self->state.list_apps();
      },
      [self](get_atom, deploys_atom) {
        return self->state.list_deployments();
      },
      [self](get_atom, groups_atom) { return self->state.root_group(); },
      [self](put_atom, const GroupUpdate& update, bool create, bool force) {
        return self->state.update_group(update, create, force);
      },
      [self](erase_atom, groups_atom, const std::string& id, bool force) {
        return self->state.remove_group(id, force);
      },
      [self](get_atom, groups_atom, versions_atom, const std::string& id) {
        return self->state.list_group_versions(id);
      },
      [self](get_atom, groups_atom, versions_atom, const std::string& id,
             const std::string& version) {
        return self->state.get_group_version(id, version);
      },
      [self](put_atom, groups_atom, versions_atom, const std::string& id,
             const std::string& version, bool force) {
        return self->state.restore_group_version(id, version, force);
      },
      [self](get_atom, versions_atom, const std::string& id) {
        return self->state.list_versions(id);
      },
      [self](get_atom, versions_atom, const std::string& id,
             const std::string& version) {
        return self->state.get_version(id, version);
      },
      [self](put_atom, versions_atom, const std::string& id,
             const std::string& version, bool force) {
        return self->state.restore_version(id, version, force);
      },
      [self](erase_atom, deploys_atom, const std::string& id, bool force) {
        return self->state.cancel_deployment(id, force);
      },
      [self](get_atom, info_atom) {
        return marathon_info{self->state.framework_id,
                             self->state.subscribed};
      },
      [self](subscribe_atom, events_atom, std::shared_ptr<stream_sink>& sink,
             const std::vector<std::string>& types) {
        self->state.subscribe(std::move(sink), types);
        return ok_atom::value;
      },
      [self](get_atom, queue_atom) { return self->state.queue(); },
      [self](erase_atom, queue_atom, const std::string& id) {
        return self->state.reset_delay(id);
      },
      [self](unreachable_atom) { self->state.check_unreachable(); },
      [self](converge_atom) { self->state.converge_dirty(); },
      [self](readiness_atom, const std::string& task_id) {
        self->state.check_readiness(task_id);
      },
      [self](kill_atom) {
        auto& st = self->state;
        if (st.subscribed)
          st.retry_kills();
        self->delayed_send(self, st.cfg.kill_retry_interval, kill_atom::value);
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.subscribed)
          st.reconcile();
        self->delayed_send(self, st.cfg.reconcile_interval, tick_atom::value);
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
      [self](const call::Event::Failure& f) {
        // An executor's end is followed by its tasks' updates; only a lost
        // agent is news.
        if (!f.has_executor_id())
          self->state.log->warn("agent {} failed", f.agent_id().value());
      },
      [self](const call::Event::Error& e) {
        self->state.log->critical("the master refused Marathon: {}",
                                  e.message());
        self->quit(make_error(errc::conflict, e.message()));
      },
      [](const call::Event::InverseOffers&) {},
      [](const call::Event::RescindInverseOffer&) {},
      [](const call::Event::UpdateOperationStatus&) {},
    };
  });
}

void when_loaded(caf::actor_system& sys, marathon_actor marathon,
                 std::function<void(const caf::error&)> done) {
  when_ready<std::vector<App>>(sys, std::move(marathon), std::move(done),
                               get_atom::value, apps_atom::value);
}

} // namespace dcos::marathon
