#include "marathon_state.hpp"

namespace dcos::marathon {

void marathon_state::keep_group_version(const DeploymentRecord& record,
                                        const std::vector<Group>& before,
                                        std::function<void()> done) {
  std::vector<std::string> changed;
  for (const auto& app : record.target())
    changed.push_back(app.id());
  changed.insert(changed.end(), record.removed().begin(),
                 record.removed().end());
  // The history needs each app's id and version, not its definition.
  std::vector<App> live;
  for (const auto& [id, entry] : apps) {
    if (entry.removing)
      continue;
    auto& ref = live.emplace_back();
    ref.set_id(id);
    ref.set_version(entry.app.version());
  }
  std::vector<std::string> dropped;
  persist(group_version_key(record.plan().version()),
          history.record(record.plan().version(),
                         touched_groups(changed, before, groups), live,
                         groups, &dropped),
          std::move(done));
  for (const auto& version : dropped)
    forget(group_version_key(version));
}

caf::error marathon_state::no_group(const std::string& id) const {
  return make_error(errc::not_found,
                    fmt::format("Group '{}' does not exist", id));
}

caf::error marathon_state::no_group_version(const std::string& id,
                                            const std::string& version) const {
  return make_error(errc::not_found,
                    fmt::format("Group '{}' does not exist in version {}", id,
                                version));
}

caf::result<std::vector<std::string>>
marathon_state::list_group_versions(const std::string& id) {
  if (!loaded)
    return not_loaded();
  auto root = root_group();
  const auto* now = find_group(root, id);
  auto out = history.versions_of(id);
  if (out.empty() && !now)
    return no_group(id);
  if (out.empty())
    out.push_back(now->version());
  return out;
}

caf::result<Group>
marathon_state::get_group_version(const std::string& id,
                                  const std::string& version) {
  if (!loaded)
    return not_loaded();
  if (!history.has(id, version))
    return no_group_version(id, version);
  auto rp = self->make_response_promise<Group>();
  read_group_version(
    id, version,
    [rp](Group group) mutable { rp.deliver(std::move(group)); },
    [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<Deployment>
marathon_state::restore_group_version(const std::string& id,
                                      const std::string& version, bool force) {
  if (!loaded)
    return not_loaded();
  if (!history.has(id, version))
    return no_group_version(id, version);
  auto rp = self->make_response_promise<Deployment>();
  read_group_version(
    id, version,
    [this, rp, force](Group then) mutable {
      auto change = apply_group_update(restore_update(then),
                                       live_definitions(), groups);
      if (!change)
        rp.deliver(change.error());
      else
        deploy_to(std::move(*change), force, rp);
    },
    [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void marathon_state::keep_version(const App& app) {
  auto& list = versions[app.id()];
  if (std::find(list.begin(), list.end(), app.version()) != list.end())
    return;
  list.push_back(app.version());
  persist(version_key(app.id(), app.version()), app);
  while (list.size() > max_versions) {
    forget(version_key(app.id(), list.front()));
    list.erase(list.begin());
  }
}

caf::result<std::vector<std::string>>
marathon_state::list_versions(const std::string& id) {
  if (!live_app(id))
    return no_app(id);
  const auto& list = versions[id];
  return std::vector<std::string>{list.rbegin(), list.rend()};
}

caf::error marathon_state::check_version(const std::string& id,
                                         const std::string& version) {
  if (!live_app(id))
    return no_app(id);
  const auto& list = versions[id];
  if (std::find(list.begin(), list.end(), version) == list.end())
    return make_error(errc::not_found,
                      fmt::format("App '{}' does not exist in version {}",
                                  id, version));
  return {};
}

caf::result<App> marathon_state::get_version(const std::string& id,
                                             const std::string& version) {
  if (auto err = check_version(id, version))
    return err;
  auto rp = self->make_response_promise<App>();
  read_version(
    id, version, [rp](App app) mutable { rp.deliver(std::move(app)); },
    [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<Deployment>
marathon_state::restore_version(const std::string& id,
                                const std::string& version, bool force) {
  if (!loaded)
    return not_loaded();
  if (auto err = check_version(id, version))
    return err;
  auto rp = self->make_response_promise<Deployment>();
  read_version(
    id, version,
    [this, rp, force](App old) mutable {
      group_change change;
      change.groups = groups;
      change.puts[old.id()] = std::move(old);
      deploy_to(std::move(change), force, rp);
    },
    [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

} // namespace dcos::marathon
