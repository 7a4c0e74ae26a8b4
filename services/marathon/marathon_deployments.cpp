#include "marathon_state.hpp"

namespace dcos::marathon {

std::vector<const Deployment*>
marathon_state::deployments_of(const std::string& app_id) {
  std::vector<const Deployment*> out;
  for (const auto& [id, d] : deployments)
    if (std::count(d.plan().affected_apps().begin(),
                   d.plan().affected_apps().end(), app_id))
      out.push_back(&d.plan());
  return out;
}

caf::error marathon_state::lock(const std::string& app_id, bool force) {
  auto held = deployments_of(app_id);
  if (held.empty())
    return {};
  if (!force)
    return make_error(
      errc::conflict,
      fmt::format("App is locked by one or more deployments. Override with "
                  "the option '?force=true'. View details at "
                  "'/v2/deployments/{}'.",
                  held.front()->id()));
  std::vector<std::string> ids;
  for (const auto* d : held)
    ids.push_back(d->id());
  for (const auto& id : ids) {
    publish_deployment("deployment_failed", deployments[id].plan());
    deployments.erase(id);
    forget(deployment_key(id));
  }
  recompute_held();
  return {};
}

bool marathon_state::converged(const std::string& app_id) {
  auto at = apps.find(app_id);
  if (at == apps.end())
    return true; // removed, and its tasks are gone
  return at->second.converged && !dirty.count(app_id);
}

void marathon_state::recompute_held() {
  held.clear();
  for (const auto& [id, d] : deployments) {
    const auto& plan = d.plan();
    for (int i = std::max(plan.current_step(), 0); i < plan.steps_size();
         ++i)
      for (const auto& a : plan.steps(i).actions())
        if (a.action() != "StopApplication")
          held.insert(a.app());
  }
}

void marathon_state::finish_deployments() {
  std::vector<std::string> done, released;
  for (auto& [id, record] : deployments) {
    auto& plan = *record.mutable_plan();
    bool advanced = false;
    while (plan.current_step() <= plan.total_steps()) {
      if (plan.current_step() > 0) {
        const auto& step = plan.steps(plan.current_step() - 1);
        if (!std::all_of(step.actions().begin(), step.actions().end(),
                         [this](const DeploymentAction& a) {
                           return converged(a.app());
                         }))
          break;
        publish_deployment("deployment_step_success", plan);
      }
      plan.set_current_step(plan.current_step() + 1);
      advanced = true;
      plan.clear_current_actions();
      if (plan.current_step() <= plan.total_steps()) {
        *plan.mutable_current_actions()
          = plan.steps(plan.current_step() - 1).actions();
        for (const auto& a : plan.current_actions())
          released.push_back(a.app());
      }
    }
    if (plan.current_step() > plan.total_steps())
      done.push_back(id);
    else if (advanced)
      persist(deployment_key(id), record);
  }
  for (const auto& id : done) {
    log->info("deployment {} finished", id);
    auto plan = deployments[id].plan();
    plan.set_current_step(plan.total_steps());
    publish_deployment("deployment_success", plan);
    deployments.erase(id);
    forget(deployment_key(id));
  }
  if (done.empty() && released.empty())
    return;
  recompute_held();
  for (const auto& app_id : released)
    if (auto at = apps.find(app_id); at != apps.end())
      converge(at->second);
}

caf::result<Deployment>
marathon_state::deploy(group_change change, bool force,
                       const std::set<std::string>& restarts) {
  auto record = plan_change(change, force, restarts);
  if (!record)
    return record.error();
  auto rp = self->make_response_promise<Deployment>();
  commit(std::move(*record), std::move(change.groups), rp);
  return rp;
}

void marathon_state::deploy_to(group_change change, bool force,
                               caf::typed_response_promise<Deployment> rp) {
  auto record = plan_change(change, force, {});
  if (!record)
    rp.deliver(record.error());
  else
    commit(std::move(*record), std::move(change.groups), rp);
}

caf::expected<DeploymentRecord>
marathon_state::plan_change(group_change& change, bool force,
            const std::set<std::string>& restarts) {
  if (!loaded)
    return not_loaded();
  // The apps after the change, for their dependencies.
  std::map<std::string, App> after;
  for (const auto& [id, entry] : apps)
    if (!entry.removing)
      after[id] = entry.app;
  for (const auto& id : change.removes)
    after.erase(id);
  for (const auto& [id, app] : change.puts)
    after[id] = app;
  auto graph = resolve_dependencies(after, change.groups);
  if (auto cycle = find_cycle(graph); !cycle.empty())
    return make_error(errc::invalid_argument,
                      "Dependency graph has cyclic dependencies: " + cycle);
  for (const auto& [id, app] : change.puts)
    if (auto err = check_resident(app))
      return err;
  std::vector<std::string> touched;
  for (const auto& [id, app] : change.puts)
    touched.push_back(id);
  for (const auto& id : change.removes)
    if (live_app(id))
      touched.push_back(id);
  if (!force)
    for (const auto& id : touched)
      if (auto err = lock(id, false))
        return err;
  for (const auto& id : touched)
    (void)lock(id, true); // (an app being removed is still locked)

  auto version = timestamp();
  DeploymentRecord record;
  auto& plan = *record.mutable_plan();
  plan.set_id(uuid());
  plan.set_version(version);
  std::vector<DeploymentAction> actions;
  for (auto& [id, app] : change.puts) {
    auto* current = live_app(id);
    // A rollback restores a definition with its own config version, so
    // that the tasks still running it are kept; the REST API never sets
    // it.
    auto restored = app.version_info().last_config_change_at();
    auto config_version = restored.empty() ? version : restored;
    app.set_version(version);
    DeploymentAction action;
    action.set_app(id);
    if (current) {
      bool restart = restarts.count(id) > 0;
      *app.mutable_version_info() = current->app.version_info();
      action.set_action("ScaleApplication");
      if (restart || !same_definition(current->app, app)) {
        app.mutable_version_info()->set_last_config_change_at(
          restart ? version : config_version);
        action.set_action("RestartApplication");
      }
      *record.add_previous() = current->app;
    } else {
      app.mutable_version_info()->set_last_config_change_at(config_version);
      action.set_action("StartApplication");
    }
    app.mutable_version_info()->set_last_scaling_at(version);
    *record.add_target() = app;
    actions.push_back(std::move(action));
  }
  for (const auto& id : change.removes) {
    auto* current = live_app(id);
    if (!current)
      continue;
    *record.add_previous() = current->app;
    record.add_removed(id);
    DeploymentAction action;
    action.set_action("StopApplication");
    action.set_app(id);
    actions.push_back(std::move(action));
  }
  std::set<std::string> affected;
  for (const auto& a : actions)
    affected.insert(a.app());
  for (const auto& id : affected)
    plan.add_affected_apps(id);
  for (auto& step : order_steps(actions, graph))
    *plan.add_steps() = std::move(step);
  plan.set_total_steps(plan.steps_size());
  plan.set_current_step(plan.steps_size() > 0 ? 1 : 0);
  if (plan.steps_size() > 0)
    *plan.mutable_current_actions() = plan.steps(0).actions();
  return record;
}

void
marathon_state::commit(DeploymentRecord record, std::vector<Group> groups_after,
                       caf::typed_response_promise<Deployment> rp) {
  auto key = deployment_key(record.plan().id());
  self
    ->request(cfg.store, caf::infinite, put_atom::value, key,
              record.SerializeAsString())
    .then(
      [this, record, groups_after, rp](ok_atom) mutable {
        install(record);
        auto groups_before = std::move(groups);
        groups = std::move(groups_after);
        GroupList list;
        *list.mutable_groups() = {groups.begin(), groups.end()};
        persist("groups", list);
        const auto& d = record.plan();
        // Answered once the change's group version is stored as well (the
        // store writes in order, so "groups" too): a change Marathon
        // acknowledged keeps its place in /v2/groups/{id}/versions across a
        // crash.
        keep_group_version(record, groups_before,
                           [rp, d]() mutable { rp.deliver(d); });
        log->info("deployment {}: {} step(s) for {}", d.id(),
                  d.total_steps(),
                  fmt::join(d.affected_apps().begin(),
                            d.affected_apps().end(), ", "));
        for (const auto& app : record.target()) {
          ApiPostEvent e;
          e.set_uri("/v2/apps" + app.id());
          *e.mutable_app_definition() = app;
          publish("api_post_event", std::move(e));
        }
        GroupChangeSuccess g;
        g.set_group_id("/");
        g.set_version(d.version());
        publish("group_change_success", std::move(g));
        publish_deployment("deployment_info", d);
        for (const auto& id : d.affected_apps())
          if (auto at = apps.find(id); at != apps.end())
            converge(at->second);
        finish_deployments(); // one with no steps is done
      },
      [this, key, rp](caf::error& err) mutable {
        rp.deliver(err);
        store_failed(key, err);
      });
}

void marathon_state::install(const DeploymentRecord& record) {
  for (const auto& app : record.target()) {
    auto& entry = apps[app.id()];
    entry.removing = false;
    entry.constraints = constraints_of(app);
    if (entry.app.version_info().last_config_change_at()
        != app.version_info().last_config_change_at()) {
      entry.failures = 0; // a changed app starts without backoff
      entry.not_before = {};
      entry.offers.Clear(); // and with a fresh look at offers
      entry.declined.clear();
      entry.unused_offers.clear();
    }
    entry.app = app;
    entry.converged = false; // until converge() looks at it
    persist(app_key(app.id()), app);
    keep_version(app);
  }
  for (const auto& id : record.removed()) {
    // A resident app's volumes go with it, now: an app of the same id
    // posted while its tasks die starts afresh.
    release_all(id);
    apps[id].removing = true;
    apps[id].converged = false;
    forget(app_key(id));
    for (const auto& v : versions[id])
      forget(version_key(id, v));
    versions.erase(id);
  }
  deployments[record.plan().id()] = record;
  recompute_held();
}

} // namespace dcos::marathon
