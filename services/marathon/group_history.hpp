// The versions of Marathon's groups: which changes touched which group,
// and what the whole tree was at each change, so that a group can be shown
// as it was (/v2/groups/{id}/versions/{version}) and put back to it (PUT
// /v2/groups/{id} with {"version": ...}). The last 50 changes are kept, as
// Marathon keeps its root group versions.
//
// Thread-safety: a group_history is used by one actor.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "marathon.pb.h"

namespace dcos::marathon {

/// The groups a change touches: every group above an app it puts or
/// removes, and every explicit group it adds, removes or whose
/// dependencies it changes (with the groups above). The root always.
std::set<std::string> touched_groups(const std::vector<std::string>& app_ids,
                                     const std::vector<Group>& before,
                                     const std::vector<Group>& after);

/// Sets the version of `root` and of every group in it to the one in
/// `versions` (groups without one keep theirs).
void stamp_versions(Group& root,
                    const std::map<std::string, std::string>& versions);

/// A group update that puts the group `then` (a group as it was) back:
/// its apps, its groups and its dependencies replace today's, all the way
/// down.
GroupUpdate restore_update(const Group& then);

class group_history {
public:
  static constexpr size_t max_versions = 50;

  /// Records the change `version` (REQUIRES: later than every recorded
  /// one), which touched `touched`, leaving `apps` (live definitions) and
  /// the explicit `groups`. Returns the snapshot to keep; the versions no
  /// longer kept are added to `*dropped`.
  GroupVersion record(const std::string& version,
                      const std::set<std::string>& touched,
                      const std::vector<App>& apps,
                      const std::vector<Group>& groups,
                      std::vector<std::string>* dropped);

  /// Takes a snapshot read back from the store (any order). The newest
  /// gives the groups' current versions.
  void restore(const GroupVersion& kept);

  /// The groups' versions now (a group not in it: none recorded yet).
  const std::map<std::string, std::string>& current() const {
    return current_;
  }

  /// stamp_versions() with the groups' current versions.
  void stamp(Group& root) const { stamp_versions(root, current_); }

  /// The versions group `id` had, newest first (empty: none recorded).
  std::vector<std::string> versions_of(const std::string& id) const;

  /// Whether the change `version` is kept and gave group `id` that version
  /// (then the snapshot of `version` shows the group as it was).
  bool has(const std::string& id, const std::string& version) const;

  /// The recorded changes, oldest first.
  std::vector<std::string> changes() const;

private:
  // Root version -> each group's version after that change.
  std::map<std::string, std::map<std::string, std::string>> kept_;
  std::map<std::string, std::string> current_;
};

} // namespace dcos::marathon
