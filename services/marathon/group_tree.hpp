// Marathon's groups: the tree /v2/groups shows, and what a group update
// (POST or PUT /v2/groups) or removal does to the apps. Groups are implied
// by app ids ("/shop/web" is in "/shop", which is in "/"); a group created
// by an update also exists while empty, and carries dependencies for all
// of its apps.
//
// Thread-safety: plain functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "marathon.pb.h"

namespace dcos::marathon {

/// The root group "/" with every group (`groups`, and those the apps'
/// ids imply) and every app in place, groups and apps sorted by id. A
/// group's version is the latest of its apps' (the root's if it has none).
Group build_tree(const std::vector<App>& apps, const std::vector<Group>& groups);

/// The group `id` within `root`, or nullptr.
const Group* find_group(const Group& root, const std::string& id);

/// What a change does: the definitions it puts (new or changed apps), the
/// apps it stops, and the explicit groups after it.
struct group_change {
  std::map<std::string, App> puts;
  std::set<std::string> removes;
  std::vector<Group> groups;
};

/// The change `update` makes to `apps` (by id) and the explicit `groups`.
/// An app whose definition the update leaves as it is is not put.
/// Errors (errc::invalid_argument, naming the path): an app or group that
/// is not a direct child of its group.
caf::expected<group_change> apply_group_update(
  const GroupUpdate& update, const std::map<std::string, App>& apps,
  const std::vector<Group>& groups);

/// Removing the group `id` ("/" for all): every app and group under it.
group_change remove_group(const std::string& id,
                          const std::map<std::string, App>& apps,
                          const std::vector<Group>& groups);

/// Whether `id` is `group` or lies under it.
bool in_group(const std::string& id, const std::string& group);

} // namespace dcos::marathon
