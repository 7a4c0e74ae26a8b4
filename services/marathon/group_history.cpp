#include "group_history.hpp"

#include <algorithm>

#include "app_definition.hpp"
#include "group_tree.hpp"

namespace dcos::marathon {

namespace {

void add_with_parents(std::set<std::string>& out, std::string id) {
  while (true) {
    out.insert(id);
    if (id == "/")
      return;
    id = parent_group(id);
  }
}

std::map<std::string, const Group*> by_id(const std::vector<Group>& groups) {
  std::map<std::string, const Group*> out;
  for (const auto& g : groups)
    out[g.id()] = &g;
  return out;
}

bool same_dependencies(const Group& a, const Group& b) {
  return std::vector<std::string>(a.dependencies().begin(),
                                  a.dependencies().end())
         == std::vector<std::string>(b.dependencies().begin(),
                                     b.dependencies().end());
}

void collect_versions(const Group& g, std::map<std::string, std::string>& out) {
  out[g.id()] = g.version();
  for (const auto& child : g.groups())
    collect_versions(child, out);
}

} // namespace

std::set<std::string> touched_groups(const std::vector<std::string>& app_ids,
                                     const std::vector<Group>& before,
                                     const std::vector<Group>& after) {
  std::set<std::string> out{"/"};
  for (const auto& id : app_ids)
    add_with_parents(out, parent_group(id));
  auto old_groups = by_id(before);
  auto new_groups = by_id(after);
  for (const auto& [id, g] : new_groups) {
    auto was = old_groups.find(id);
    if (was == old_groups.end() || !same_dependencies(*was->second, *g))
      add_with_parents(out, id);
  }
  for (const auto& [id, g] : old_groups)
    if (!new_groups.count(id))
      add_with_parents(out, parent_group(id));
  return out;
}

GroupUpdate restore_update(const Group& then) {
  GroupUpdate out;
  out.set_id(then.id());
  out.set_with_apps(true);
  out.set_with_groups(true);
  out.set_with_dependencies(true);
  for (const auto& app : then.apps()) {
    auto* a = out.add_apps();
    *a = app;
    a->clear_version();
    a->clear_version_info();
  }
  for (const auto& g : then.groups())
    *out.add_groups() = restore_update(g);
  *out.mutable_dependencies() = then.dependencies();
  return out;
}

GroupVersion group_history::record(const std::string& version,
                                   const std::set<std::string>& touched,
                                   const std::vector<App>& apps,
                                   const std::vector<Group>& groups,
                                   std::vector<std::string>* dropped) {
  // The tree after the change, its groups stamped with their last change.
  auto root = build_tree(apps, groups);
  std::map<std::string, std::string> after;
  collect_versions(root, after);
  for (auto& [id, v] : after) {
    if (touched.count(id))
      v = version;
    else if (auto known = current_.find(id); known != current_.end())
      v = known->second;
  }
  current_ = after;
  kept_[version] = after;
  while (kept_.size() > max_versions) {
    dropped->push_back(kept_.begin()->first);
    kept_.erase(kept_.begin());
  }
  GroupVersion out;
  out.set_version(version);
  *out.mutable_groups() = {groups.begin(), groups.end()};
  for (const auto& app : apps) {
    auto* ref = out.add_apps();
    ref->set_id(app.id());
    ref->set_version(app.version());
  }
  out.mutable_group_versions()->insert(after.begin(), after.end());
  return out;
}

void group_history::restore(const GroupVersion& kept) {
  auto& versions = kept_[kept.version()];
  versions = {kept.group_versions().begin(), kept.group_versions().end()};
  if (kept_.rbegin()->first == kept.version())
    current_ = versions;
}

void stamp_versions(Group& root,
                    const std::map<std::string, std::string>& versions) {
  if (auto v = versions.find(root.id()); v != versions.end())
    root.set_version(v->second);
  for (auto& child : *root.mutable_groups())
    stamp_versions(child, versions);
}

std::vector<std::string> group_history::versions_of(
  const std::string& id) const {
  std::vector<std::string> out;
  for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
    auto v = it->second.find(id);
    if (v != it->second.end()
        && std::find(out.begin(), out.end(), v->second) == out.end())
      out.push_back(v->second);
  }
  return out;
}

bool group_history::has(const std::string& id,
                        const std::string& version) const {
  auto change = kept_.find(version);
  if (change == kept_.end())
    return false;
  auto v = change->second.find(id);
  return v != change->second.end() && v->second == version;
}

std::vector<std::string> group_history::changes() const {
  std::vector<std::string> out;
  for (const auto& [version, _] : kept_)
    out.push_back(version);
  return out;
}

} // namespace dcos::marathon
