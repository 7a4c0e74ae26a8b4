#include "marathon_state.hpp"

namespace dcos::marathon {

caf::result<Deployment> marathon_state::put(App app, bool create, bool force) {
  if (!loaded)
    return not_loaded();
  if (create && live_app(app.id()))
    return make_error(errc::conflict,
                      fmt::format("An app with id [{}] already exists.",
                                  app.id()));
  group_change change;
  change.groups = groups;
  change.puts[app.id()] = std::move(app);
  return deploy(std::move(change), force);
}

caf::result<Deployment> marathon_state::remove(const std::string& id,
                                               bool force) {
  if (!loaded)
    return not_loaded();
  if (!live_app(id))
    return no_app(id);
  group_change change;
  change.groups = groups;
  change.removes.insert(id);
  return deploy(std::move(change), force);
}

caf::result<Deployment> marathon_state::restart(const std::string& id,
                                                bool force) {
  if (!loaded)
    return not_loaded();
  auto* current = live_app(id);
  if (!current)
    return no_app(id);
  group_change change;
  change.groups = groups;
  auto app = current->app;
  app.clear_version_info();
  change.puts[id] = std::move(app);
  return deploy(std::move(change), force, {id});
}

std::map<std::string, App> marathon_state::live_definitions() const {
  std::map<std::string, App> out;
  for (const auto& [id, entry] : apps)
    if (!entry.removing)
      out[id] = entry.app;
  return out;
}

Group marathon_state::root_group() const {
  auto root = build_tree(list_apps(), groups);
  history.stamp(root);
  return root;
}

caf::result<Deployment> marathon_state::update_group(const GroupUpdate& update,
                                                     bool create, bool force) {
  if (!loaded)
    return not_loaded();
  auto root = root_group();
  if (create && update.id() != "/" && find_group(root, update.id()))
    return make_error(errc::conflict,
                      fmt::format("Group {} is already created. Use PUT to "
                                  "change this group.",
                                  update.id()));
  auto change = apply_group_update(update, live_definitions(), groups);
  if (!change)
    return change.error();
  return deploy(std::move(*change), force);
}

caf::result<Deployment> marathon_state::remove_group(const std::string& id,
                                                     bool force) {
  if (!loaded)
    return not_loaded();
  if (id != "/" && !find_group(root_group(), id))
    return no_group(id);
  return deploy(marathon::remove_group(id, live_definitions(), groups),
                force);
}

caf::result<std::vector<Task>>
marathon_state::kill_tasks(const std::vector<std::string>& ids, bool scale,
                           bool wipe) {
  if (!loaded)
    return not_loaded();
  std::vector<Task> out;
  std::set<std::string> touched, scaled;
  for (const auto& id : ids) {
    if (wipe) {
      // The instance's reservation and volumes go: a suspended one is
      // answered as it was listed; a running one is killed as well.
      for (auto& [rid, r] : reservations) {
        if (r.task_id() != id || r.releasing())
          continue;
        auto* owner = live_app(r.app_id());
        bool suspended = !owner || !owner->tasks.count(id);
        if (suspended)
          out.push_back(suspended_task(r));
        release(r);
        if (suspended && owner)
          touched.insert(owner->app.id());
        break;
      }
    }
    auto* entry = app_of(id);
    if (!entry || !entry->tasks.count(id) || entry->tasks[id].killing())
      continue;
    out.push_back(entry->tasks[id]);
    kill(*entry, id);
    touched.insert(entry->app.id());
    if (scale && !entry->removing) {
      entry->app.set_instances(std::max(0, entry->app.instances() - 1));
      scaled.insert(entry->app.id());
    }
  }
  for (const auto& id : scaled) {
    auto& app = apps[id].app;
    app.set_version(timestamp());
    app.mutable_version_info()->set_last_scaling_at(app.version());
    persist(app_key(id), app);
    keep_version(app);
  }
  // Without `scale`, the killed tasks are replaced.
  for (const auto& id : touched)
    if (auto at = apps.find(id); at != apps.end())
      converge(at->second);
  return out;
}

std::vector<App> marathon_state::list_apps() const {
  std::vector<App> out;
  for (const auto& [id, entry] : apps) {
    if (entry.removing)
      continue;
    App app = entry.app;
    int staged = 0, running = 0, healthy = 0, unhealthy = 0;
    for (const auto& [task_id, task] : entry.tasks) {
      running += task.state() == "TASK_RUNNING";
      if (task.health_check_results_size() > 0
          && task.health_check_results(0).has_alive())
        ++(task.health_check_results(0).alive() ? healthy : unhealthy);
      staged += task.state() == "TASK_STAGING"
                || task.state() == "TASK_STARTING";
      *app.add_tasks() = task;
    }
    for (auto& task : suspended_tasks(entry))
      *app.add_tasks() = std::move(task);
    app.set_tasks_staged(staged);
    app.set_tasks_running(running);
    app.set_tasks_healthy(healthy);
    app.set_tasks_unhealthy(unhealthy);
    for (const auto& [d_id, d] : deployments)
      if (std::count(d.plan().affected_apps().begin(),
                     d.plan().affected_apps().end(), id))
        app.add_deployments()->set_id(d_id);
    if (!entry.last_failure.task_id().empty())
      *app.mutable_last_task_failure() = entry.last_failure;
    out.push_back(std::move(app));
  }
  return out;
}

std::vector<Deployment> marathon_state::list_deployments() {
  std::vector<Deployment> out;
  for (const auto& [id, d] : deployments) {
    Deployment copy = d.plan();
    std::vector<std::string> why;
    for (const auto& app_id : copy.affected_apps())
      if (auto at = apps.find(app_id);
          at != apps.end() && !at->second.stalled.empty())
        why.push_back(fmt::format("{}: {}", app_id, at->second.stalled));
    for (const auto& app_id : copy.affected_apps())
      if (auto at = apps.find(app_id); at != apps.end())
        for (const auto& [task_id, result] : at->second.readiness)
          *copy.add_readiness_check_results() = result;
    copy.set_stalled_because(fmt::format("{}", fmt::join(why, "; ")));
    out.push_back(std::move(copy));
  }
  return out;
}

caf::result<Deployment> marathon_state::cancel_deployment(const std::string& id,
                                                          bool force) {
  if (!loaded)
    return not_loaded();
  auto at = deployments.find(id);
  if (at == deployments.end())
    return make_error(errc::not_found,
                      fmt::format("DeploymentPlan {} does not exist", id));
  DeploymentRecord d = at->second;
  publish_deployment("deployment_failed", d.plan());
  deployments.erase(at);
  forget(deployment_key(id));
  recompute_held();
  if (force)
    return d.plan(); // stopped; the apps keep their definitions
  // Rollback: the apps go back to what they were before it; those it
  // created go.
  group_change change;
  change.groups = groups;
  for (const auto& app_id : d.plan().affected_apps()) {
    auto previous = std::find_if(
      d.previous().begin(), d.previous().end(),
      [&app_id](const App& app) { return app.id() == app_id; });
    if (previous != d.previous().end())
      change.puts[app_id] = *previous;
    else
      change.removes.insert(app_id);
  }
  return deploy(std::move(change), true);
}

} // namespace dcos::marathon
