// The order of a deployment: which app waits for which. An app depends on
// the apps and groups its `dependencies` name and on those its groups'
// dependencies name (a group stands for every app under it). A deployment
// changes its apps in steps: an app's step comes after the steps of every
// app it depends on, directly or through others; apps it stops go first,
// in a step of their own.
//
// Thread-safety: plain functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "marathon.pb.h"

namespace dcos::marathon {

/// App id -> the ids of the apps it depends on.
using dependency_graph = std::map<std::string, std::set<std::string>>;

/// The graph of `apps` (by id) in `groups` (their dependencies; apps'
/// groups need not be listed). A dependency that names neither an app nor
/// a group with apps is no edge: there is nothing to wait for.
dependency_graph resolve_dependencies(const std::map<std::string, App>& apps,
                                      const std::vector<Group>& groups);

/// A cycle of `graph` as "/a -> /b -> /a", or "" if it has none.
std::string find_cycle(const dependency_graph& graph);

/// Orders `actions` (one per app) into steps by `graph`.
/// REQUIRES: find_cycle(graph) is empty.
std::vector<DeploymentStep> order_steps(
  const std::vector<DeploymentAction>& actions, const dependency_graph& graph);

} // namespace dcos::marathon
