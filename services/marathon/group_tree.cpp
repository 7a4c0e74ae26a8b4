#include "group_tree.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include <dcos/error.hpp>

#include "app_definition.hpp"

namespace dcos::marathon {

bool in_group(const std::string& id, const std::string& group) {
  if (group == "/" || id == group)
    return true;
  return id.size() > group.size() && id.compare(0, group.size(), group) == 0
         && id[group.size()] == '/';
}

Group build_tree(const std::vector<App>& apps,
                 const std::vector<Group>& groups) {
  // Every group by id, with its dependencies; then apps and groups hung
  // into their parents, deepest first.
  std::map<std::string, Group> all;
  all["/"].set_id("/");
  auto ensure = [&all](std::string id) {
    while (id != "/" && !all.count(id)) {
      all[id].set_id(id);
      id = parent_group(id);
    }
  };
  for (const auto& g : groups) {
    ensure(g.id());
    all[g.id()] = g;
  }
  for (const auto& app : apps) {
    auto parent = parent_group(app.id());
    ensure(parent);
    *all[parent].add_apps() = app;
  }
  // Longest ids first, so that a group is complete when it moves into its
  // parent (map order is by id; children sort after their parents).
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->first == "/")
      continue;
    *all[parent_group(it->first)].add_groups() = std::move(it->second);
  }
  auto root = std::move(all["/"]);
  // Children were added in reverse: sort each level by id.
  std::function<void(Group&)> sort = [&sort](Group& g) {
    std::sort(g.mutable_groups()->begin(), g.mutable_groups()->end(),
              [](const Group& a, const Group& b) { return a.id() < b.id(); });
    for (auto& child : *g.mutable_groups())
      sort(child);
  };
  sort(root);
  // A group's version: the last change to anything in it (an empty one
  // has the root's).
  std::function<std::string(Group&)> stamp = [&stamp](Group& g) {
    std::string latest;
    for (const auto& app : g.apps())
      latest = std::max(latest, app.version());
    for (auto& child : *g.mutable_groups())
      latest = std::max(latest, stamp(child));
    if (!latest.empty())
      g.set_version(latest);
    return latest;
  };
  stamp(root);
  std::function<void(Group&, const std::string&)> fill
    = [&fill](Group& g, const std::string& version) {
        if (!g.has_version() && !version.empty())
          g.set_version(version);
        for (auto& child : *g.mutable_groups())
          fill(child, version);
      };
  fill(root, root.version());
  return root;
}

const Group* find_group(const Group& root, const std::string& id) {
  if (root.id() == id)
    return &root;
  for (const auto& g : root.groups())
    if (in_group(id, g.id()))
      return find_group(g, id);
  return nullptr;
}

namespace {

// Applies `update` to `apps` (the definitions after the change so far) and
// `groups` (by id), recording removals in `removes`.
caf::error apply(const GroupUpdate& update, const std::string& path,
                 std::map<std::string, App>& apps,
                 std::map<std::string, Group>& groups,
                 std::set<std::string>& removes) {
  const auto& id = update.id();
  auto& group = groups[id];
  group.set_id(id);
  if (update.with_dependencies())
    *group.mutable_dependencies() = update.dependencies();
  if (update.with_apps()) {
    std::set<std::string> named;
    for (int i = 0; i < update.apps_size(); ++i) {
      const auto& app = update.apps(i);
      if (parent_group(app.id()) != id)
        return make_error(errc::invalid_argument,
                          fmt::format("{}/apps({})/id: app {} is not a direct "
                                      "child of group {}",
                                      path, i, app.id(), id));
      named.insert(app.id());
      apps[app.id()] = app;
    }
    for (auto it = apps.begin(); it != apps.end();) {
      if (parent_group(it->first) == id && !named.count(it->first)) {
        removes.insert(it->first);
        it = apps.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (update.with_groups()) {
    std::set<std::string> named;
    for (int i = 0; i < update.groups_size(); ++i) {
      const auto& sub = update.groups(i);
      if (sub.id() == "/" || parent_group(sub.id()) != id)
        return make_error(errc::invalid_argument,
                          fmt::format("{}/groups({})/id: group {} is not a "
                                      "direct child of group {}",
                                      path, i, sub.id(), id));
      named.insert(sub.id());
    }
    // Subgroups it no longer names go, with everything under them.
    std::set<std::string> dropped;
    // The subgroup of `id` that `x` (under it, not it) is in.
    auto child_of = [&id](std::string x) {
      while (parent_group(x) != id)
        x = parent_group(x);
      return x;
    };
    for (const auto& [app_id, app] : apps)
      if (in_group(app_id, id) && parent_group(app_id) != id)
        if (auto sub = child_of(parent_group(app_id)); !named.count(sub))
          dropped.insert(sub);
    for (const auto& [group_id, g] : groups)
      if (group_id != id && in_group(group_id, id))
        if (auto sub = child_of(group_id); !named.count(sub))
          dropped.insert(sub);
    for (const auto& gone : dropped) {
      for (auto it = apps.begin(); it != apps.end();) {
        if (in_group(it->first, gone)) {
          removes.insert(it->first);
          it = apps.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = groups.begin(); it != groups.end();)
        it = in_group(it->first, gone) ? groups.erase(it) : std::next(it);
    }
    for (int i = 0; i < update.groups_size(); ++i)
      if (auto err = apply(update.groups(i),
                           fmt::format("{}/groups({})", path, i), apps,
                           groups, removes))
        return err;
  }
  if (update.has_scale_by())
    for (auto& [app_id, app] : apps)
      if (in_group(app_id, id))
        app.set_instances(static_cast<int>(
          std::ceil(app.instances() * update.scale_by() - 1e-9)));
  return {};
}

group_change diff(const std::map<std::string, App>& before,
                  std::map<std::string, App> after,
                  std::set<std::string> removes,
                  std::map<std::string, Group> groups) {
  group_change out;
  for (auto& [id, app] : after) {
    removes.erase(id); // removed, then named again
    auto old = before.find(id);
    if (old == before.end() || !same_definition(old->second, app)
        || old->second.instances() != app.instances())
      out.puts[id] = std::move(app);
  }
  out.removes = std::move(removes);
  groups.erase("/");
  for (auto& [id, g] : groups)
    out.groups.push_back(std::move(g));
  return out;
}

} // namespace

caf::expected<group_change> apply_group_update(
  const GroupUpdate& update, const std::map<std::string, App>& apps,
  const std::vector<Group>& groups) {
  auto after = apps;
  std::map<std::string, Group> by_id;
  for (const auto& g : groups)
    by_id[g.id()] = g;
  // The group's ancestors exist from now on too.
  for (auto id = parent_group(update.id()); id != "/"; id = parent_group(id))
    by_id[id].set_id(id);
  std::set<std::string> removes;
  if (auto err = apply(update, "", after, by_id, removes))
    return err;
  return diff(apps, std::move(after), std::move(removes), std::move(by_id));
}

group_change remove_group(const std::string& id,
                          const std::map<std::string, App>& apps,
                          const std::vector<Group>& groups) {
  group_change out;
  for (const auto& [app_id, app] : apps)
    if (in_group(app_id, id))
      out.removes.insert(app_id);
  for (const auto& g : groups)
    if (!in_group(g.id(), id))
      out.groups.push_back(g);
  return out;
}

} // namespace dcos::marathon
