#include "marathon_state.hpp"

namespace dcos::marathon {

void marathon_state::fail_to_load(const std::string& what,
                                  const caf::error& err) {
  log->critical("cannot load {} from the store: {}", what, describe(err));
  self->quit(err);
}

void marathon_state::load() {
  load_or_empty(
    self, cfg.store, "incarnation",
    [this](const std::string& text) {
      uint64_t incarnation = std::strtoull(text.c_str(), nullptr, 10) + 1;
      self
        ->request(cfg.store, caf::infinite, put_atom::value,
                  std::string{"incarnation"}, std::to_string(incarnation))
        .then(
          [this, incarnation](ok_atom) {
            rng.seed(cfg.seed ^ (incarnation * 0x9e3779b97f4a7c15ull));
            load_framework_id();
          },
          [this](caf::error& err) { fail_to_load("incarnation", err); });
    },
    [this](const caf::error& err) { fail_to_load("incarnation", err); });
}

void marathon_state::load_framework_id() {
  load_or_empty(
    self, cfg.store, "framework_id",
    [this](const std::string& id) {
      framework_id = id;
      load_all(
        "apps/",
        [this](const std::string& bytes) {
          App app;
          if (!app.ParseFromString(bytes))
            return log->error("an app in the store does not parse; skipped");
          // An app stored by an older Marathon gets the fields added since
          // (e.g. networks), so that an unchanged definition compares equal.
          apply_defaults(&app);
          auto& entry = apps[app.id()];
          entry.constraints = constraints_of(app);
          entry.app = std::move(app);
        },
        [this] { load_tasks(); });
    },
    [this](const caf::error& err) { fail_to_load("framework_id", err); });
}

void marathon_state::load_tasks() {
  load_all(
    "tasks/",
    [this](const std::string& bytes) {
      Task task;
      if (!task.ParseFromString(bytes))
        return log->error("a task in the store does not parse; skipped");
      auto& entry = apps[task.app_id()];
      if (entry.app.id().empty()) { // its app was removed: kill it
        entry.app.set_id(task.app_id());
        entry.removing = true;
      }
      app_of_task[task.id()] = task.app_id();
      entry.tasks[task.id()] = std::move(task);
    },
    [this] { load_reservations(); });
}

void marathon_state::load_reservations() {
  load_all(
    "reservations/",
    [this](const std::string& bytes) {
      Reservation r;
      if (r.ParseFromString(bytes))
        reservations[r.id()] = std::move(r);
      else
        log->error("a reservation in the store does not parse; skipped");
    },
    [this] {
      load_all(
        "deployments/",
        [this](const std::string& bytes) {
          DeploymentRecord d;
          if (d.ParseFromString(bytes))
            deployments[d.plan().id()] = std::move(d);
        },
        [this] { load_groups(); });
    });
}

void marathon_state::load_groups() {
  load_or_empty(
    self, cfg.store, "groups",
    [this](const std::string& bytes) {
      GroupList list;
      if (!list.ParseFromString(bytes))
        log->error("the groups in the store do not parse; skipped");
      groups = {list.groups().begin(), list.groups().end()};
      load_versions();
    },
    [this](const caf::error& err) { fail_to_load("groups", err); });
}

void marathon_state::load_versions() {
  self->request(cfg.store, caf::infinite, keys_atom::value,
                std::string{"versions/"})
    .then(
      [this](const std::vector<std::string>& keys) {
        std::map<std::string, std::string> id_of; // store key -> app id
        for (const auto& [id, entry] : apps)
          id_of[app_id_key(id)] = id;
        for (const auto& key : keys) {
          auto slash = key.rfind('/');
          auto app = id_of.find(key.substr(9, slash - 9));
          if (app == id_of.end() || apps[app->second].removing)
            forget(key); // of an app that is gone
          else
            versions[app->second].push_back(key.substr(slash + 1));
        }
        for (auto& [id, list] : versions)
          std::sort(list.begin(), list.end());
        // The changes of the deployments in flight, again: their apps'
        // own keys may not all have been written.
        std::vector<DeploymentRecord> in_flight;
        for (const auto& [id, record] : deployments)
          in_flight.push_back(record);
        for (const auto& record : in_flight)
          install(record);
        load_all(
          "group-versions/",
          [this](const std::string& bytes) {
            GroupVersion kept;
            if (kept.ParseFromString(bytes))
              history.restore(kept);
            else
              log->error("a group version in the store does not parse; "
                         "skipped");
          },
          [this] { start(); });
      },
      [this](caf::error& err) { fail_to_load("versions/", err); });
}

void marathon_state::start() {
  loaded = true;
  for (const auto& [id, entry] : apps)
    for (const auto& [task_id, task] : entry.tasks) {
      if (task.has_unreachable_since())
        watch_unreachable(entry.app);
      if (task.readiness_checked() && !task.ready())
        self->send(self, readiness_atom::value, task_id);
    }
  // A reservation whose app is gone (its removal was cut short) goes too.
  for (auto& [id, r] : reservations)
    if (!live_app(r.app_id()))
      release(r);
  log->info("loaded {} apps, {} tasks, {} reservations, {} deployments",
            apps.size(), app_of_task.size(), reservations.size(),
            deployments.size());
  auto info = cfg.framework;
  if (!framework_id.empty())
    info.mutable_id()->set_value(framework_id);
  driver = spawn_scheduler_driver(self->system(),
                                  caf::actor_cast<framework_actor>(self),
                                  info, cfg.detector, cfg.driver_options);
  self->link_to(driver);
  self->delayed_send(self, cfg.reconcile_interval, tick_atom::value);
  self->delayed_send(self, cfg.kill_retry_interval, kill_atom::value);
}

} // namespace dcos::marathon
