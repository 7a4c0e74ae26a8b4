#include "marathon_state.hpp"

#include "dcos/launch_backoff.hpp"

namespace dcos::marathon {

app_entry* marathon_state::app_of(const std::string& task_id) {
  auto at = app_of_task.find(task_id);
  if (at == app_of_task.end())
    return nullptr;
  auto app = apps.find(at->second);
  return app == apps.end() ? nullptr : &app->second;
}

void marathon_state::kill(app_entry& entry, const std::string& task_id) {
  auto& task = entry.tasks[task_id];
  call::Call::Kill k;
  k.mutable_task_id()->set_value(task_id);
  k.mutable_agent_id()->set_value(task.slave_id());
  self->send(driver, std::move(k));
  if (task.has_unreachable_since()) {
    // Its agent cannot say it ended: forget it now (killed, as a task
    // Marathon does not know, should it come back).
    entry.tasks.erase(task_id);
    app_of_task.erase(task_id);
    forget(task_key(task_id));
    return;
  }
  task.set_killing(true);
  persist(task_key(task_id), task);
}

void marathon_state::converge(app_entry& entry) {
  if (held.count(entry.app.id()))
    return; // its deployment step has not come yet
  auto step = plan_rollout(entry.app, entry.tasks, entry.removing);
  entry.converged = step.converged;
  if (step.launches > 0 && entry.waiting_since.empty()) {
    entry.waiting_since = timestamp();
  } else if (step.launches == 0 && !entry.waiting_since.empty()) {
    entry.waiting_since.clear();
    entry.offers.Clear();
    entry.declined.clear();
    entry.unused_offers.clear();
  }
  for (const auto& id : step.kills)
    kill(entry, id);
  if (step.launches > 0 && suppressed && subscribed) {
    suppressed = false;
    self->send(driver, call::Call::Revive{});
  }
  if (entry.removing && entry.tasks.empty()) {
    AppTerminatedEvent e;
    e.set_app_id(entry.app.id());
    apps.erase(e.app_id()); // `entry` is gone from here on
    publish("app_terminated_event", std::move(e));
  }
  finish_deployments();
}

void marathon_state::converge_all() {
  std::vector<std::string> ids;
  for (const auto& [id, entry] : apps)
    ids.push_back(id);
  for (const auto& id : ids)
    if (auto at = apps.find(id); at != apps.end())
      converge(at->second);
}

void marathon_state::on_update(const v1::TaskStatus& status) {
  const auto& id = status.task_id().value();
  auto* entry = app_of(id);
  if (!entry) {
    if (!is_terminal(status.state())) {
      // A task of this framework that Marathon does not know (its record
      // was lost in a crash): nothing wants it.
      log->warn("killing unknown task {}", id);
      call::Call::Kill k;
      *k.mutable_task_id() = status.task_id();
      *k.mutable_agent_id() = status.agent_id();
      self->send(driver, std::move(k));
    }
    return;
  }
  auto& task = entry->tasks[id];
  auto state = v1::TaskState_Name(status.state());
  if (task.state() != state)
    publish_status(*entry, task, status);
  bool health_changed = false;
  if (task.health_checked() && status.has_healthy()
      && !is_terminal(status.state()))
    health_changed = note_health(*entry, task, status);
  // A task being killed whose agent turned unreachable cannot say that
  // it ended: it is forgotten (and killed, should it come back).
  bool lost_while_killing
    = task.killing() && status.state() == v1::TASK_UNREACHABLE;
  if (is_terminal(status.state()) || lost_while_killing) {
    if (!task.killing()) {
      note_failure(*entry, task, status);
      if (status.reason()
          == v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED)
        publish_unhealthy_kill(*entry, task, status);
    }
    if (task.has_reservation_id()) {
      note_resident_status(task, status);
      suspend_reservation(task.reservation_id(), id);
    }
    entry->tasks.erase(id);
    entry->readiness.erase(id);
    app_of_task.erase(id);
    forget(task_key(id));
  } else if (task.state() != state) {
    if (task.has_reservation_id())
      note_resident_status(task, status);
    task.set_state(state);
    if (status.state() == v1::TASK_UNREACHABLE) {
      task.set_unreachable_since(now());
      watch_unreachable(entry->app);
    } else {
      task.clear_unreachable_since();
      task.clear_inactive();
    }
    if (status.state() == v1::TASK_RUNNING && task.started_at().empty())
      task.set_started_at(timestamp());
    if (status.has_container_status()) {
      task.clear_ip_addresses();
      for (const auto& n : status.container_status().network_infos())
        for (const auto& ip : n.ip_addresses()) {
          auto* a = task.add_ip_addresses();
          a->set_ip_address(ip.ip_address());
          a->set_protocol("IPv4");
        }
    }
    persist(task_key(id), task);
    if (status.state() == v1::TASK_RUNNING && task.readiness_checked()
        && !task.ready())
      self->send(self, readiness_atom::value, id);
  } else if (health_changed) {
    persist(task_key(id), task);
  }
  converge_soon(entry->app.id());
}

void marathon_state::converge_soon(const std::string& app_id) {
  dirty.insert(app_id);
  if (dirty.size() == 1)
    self->send(self, converge_atom::value);
}

void marathon_state::converge_dirty() {
  auto ids = std::move(dirty);
  dirty.clear();
  for (const auto& id : ids)
    if (auto at = apps.find(id); at != apps.end())
      converge(at->second);
}

bool marathon_state::note_health(const app_entry& entry, Task& task,
                                 const v1::TaskStatus& status) {
  if (task.health_check_results_size() == 0) {
    auto* fresh = task.add_health_check_results();
    fresh->set_instance_id(task.id());
    fresh->set_task_id(task.id());
    fresh->set_consecutive_failures(0);
  }
  auto& result = *task.mutable_health_check_results(0);
  bool healthy = status.healthy();
  if (result.has_alive() && result.alive() == healthy)
    return false;
  result.set_alive(healthy);
  if (healthy) {
    if (result.first_success().empty())
      result.set_first_success(timestamp());
    result.set_last_success(timestamp());
    result.set_consecutive_failures(0);
  } else {
    result.set_last_failure(timestamp());
    result.set_last_failure_cause(status.message());
    result.set_consecutive_failures(result.consecutive_failures() + 1);
    FailedHealthCheckEvent failed;
    failed.set_app_id(entry.app.id());
    failed.set_task_id(task.id());
    failed.set_instance_id(task.id());
    if (entry.app.health_checks_size() > 0)
      *failed.mutable_health_check() = entry.app.health_checks(0);
    publish("failed_health_check_event", std::move(failed));
  }
  HealthStatusChangedEvent changed;
  changed.set_app_id(entry.app.id());
  changed.set_task_id(task.id());
  changed.set_instance_id(task.id());
  changed.set_version(task.version());
  changed.set_alive(healthy);
  publish("health_status_changed_event", std::move(changed));
  return true;
}

void
marathon_state::publish_unhealthy_kill(const app_entry& entry, const Task& task,
                                       const v1::TaskStatus& status) {
  UnhealthyInstanceKillEvent e;
  e.set_app_id(entry.app.id());
  e.set_task_id(task.id());
  e.set_instance_id(task.id());
  e.set_version(task.version());
  e.set_reason(status.message());
  e.set_host(task.host());
  e.set_slave_id(task.slave_id());
  publish("unhealthy_instance_kill_event", std::move(e));
}

void marathon_state::watch_unreachable(const App& app) {
  const auto& strategy = app.unreachable_strategy();
  if (strategy.disabled())
    return; // unreachable tasks are waited for
  for (double seconds : {strategy.inactive_after_seconds(),
                         strategy.expunge_after_seconds()})
    self->delayed_send(self,
                       std::chrono::duration_cast<caf::timespan>(
                         std::chrono::duration<double>(seconds + 0.001)),
                       unreachable_atom::value);
}

void marathon_state::check_unreachable() {
  auto t = now();
  std::vector<std::string> touched;
  for (auto& [id, entry] : apps) {
    const auto& strategy = entry.app.unreachable_strategy();
    if (strategy.disabled())
      continue;
    std::vector<std::string> expunged;
    for (auto& [task_id, task] : entry.tasks) {
      if (!task.has_unreachable_since())
        continue;
      auto away = t - task.unreachable_since();
      if (away >= strategy.expunge_after_seconds()) {
        expunged.push_back(task_id);
      } else if (away >= strategy.inactive_after_seconds()
                 && !task.inactive()) {
        task.set_inactive(true);
        persist(task_key(task_id), task);
        touched.push_back(id);
      }
    }
    for (const auto& task_id : expunged) {
      log->info("expunging task {}, unreachable for too long", task_id);
      entry.tasks.erase(task_id);
      app_of_task.erase(task_id);
      forget(task_key(task_id));
      touched.push_back(id);
    }
  }
  for (const auto& id : touched)
    if (auto at = apps.find(id); at != apps.end())
      converge(at->second);
}

void marathon_state::note_failure(app_entry& entry, const Task& task,
                                  const v1::TaskStatus& status) {
  auto& f = entry.last_failure;
  f.set_app_id(entry.app.id());
  f.set_host(task.host());
  f.set_message(status.message());
  f.set_state(v1::TaskState_Name(status.state()));
  f.set_task_id(task.id());
  f.set_timestamp(timestamp());
  f.set_version(task.version());
  f.set_slave_id(task.slave_id());
  const auto& app = entry.app;
  auto delay = backoff_delay({app.backoff_seconds(), app.backoff_factor(),
                              app.max_launch_delay_seconds()},
                             ++entry.failures);
  entry.not_before
    = self->clock().now()
      + std::chrono::duration_cast<caf::timespan>(
        std::chrono::duration<double>(delay));
  log->info("task {} of {} ended ({}); next launch in {:.1f}s", task.id(),
            app.id(), f.state(), delay);
}

void marathon_state::retry_kills() {
  for (const auto& [id, entry] : apps)
    for (const auto& [task_id, task] : entry.tasks)
      if (task.killing()) {
        call::Call::Kill k;
        k.mutable_task_id()->set_value(task_id);
        k.mutable_agent_id()->set_value(task.slave_id());
        self->send(driver, std::move(k));
      }
}

void marathon_state::reconcile() {
  call::Call::Reconcile explicit_tasks;
  for (const auto& [id, entry] : apps)
    for (const auto& [task_id, task] : entry.tasks) {
      auto* t = explicit_tasks.add_tasks();
      t->mutable_task_id()->set_value(task_id);
      t->mutable_agent_id()->set_value(task.slave_id());
    }
  if (explicit_tasks.tasks_size() > 0)
    self->send(driver, std::move(explicit_tasks));
  // Implicit: the master answers for every task it has of this framework,
  // which finds the tasks Marathon does not know.
  self->send(driver, call::Call::Reconcile{});
}

void marathon_state::on_subscribed(const call::Event::Subscribed& s) {
  subscribed = true;
  suppressed = false;
  if (s.framework_id().value() != framework_id) {
    framework_id = s.framework_id().value();
    self->request(cfg.store, caf::infinite, put_atom::value,
                  std::string{"framework_id"}, framework_id)
      .then([](ok_atom) {},
            [this](caf::error& err) { store_failed("the framework id", err); });
  }
  log->info("subscribed as framework {}", framework_id);
  // Offers this framework declined before (a Marathon that restarted
  // declined them for long) are filtered still: ask for all again.
  self->send(driver, call::Call::Revive{});
  reconcile();
  retry_kills();
  converge_all();
}

} // namespace dcos::marathon

