#include "deployment_plan.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

namespace dcos::marathon {

namespace {

bool is_under(const std::string& id, const std::string& group) {
  if (group == "/")
    return true;
  return id.size() > group.size() && id.compare(0, group.size(), group) == 0
         && id[group.size()] == '/';
}

} // namespace

dependency_graph resolve_dependencies(const std::map<std::string, App>& apps,
                                      const std::vector<Group>& groups) {
  // The apps a path stands for: the app itself, or every app under it.
  auto resolve = [&apps](const std::string& path) {
    std::set<std::string> out;
    if (apps.count(path)) {
      out.insert(path);
      return out;
    }
    for (const auto& [id, app] : apps)
      if (is_under(id, path))
        out.insert(id);
    return out;
  };
  dependency_graph graph;
  for (const auto& [id, app] : apps) {
    auto& edges = graph[id];
    std::vector<std::string> paths{app.dependencies().begin(),
                                   app.dependencies().end()};
    for (const auto& g : groups)
      if (is_under(id, g.id()))
        paths.insert(paths.end(), g.dependencies().begin(),
                     g.dependencies().end());
    for (const auto& path : paths)
      for (auto& dep : resolve(path))
        if (dep != id && !is_under(id, path)) // a group's own apps
          edges.insert(std::move(dep));
  }
  return graph;
}

std::string find_cycle(const dependency_graph& graph) {
  enum class mark { none, open, done };
  std::map<std::string, mark> marks;
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& id) {
    auto& m = marks[id];
    if (m == mark::done)
      return false;
    if (m == mark::open) {
      auto from = std::find(path.begin(), path.end(), id);
      std::vector<std::string> loop{from, path.end()};
      loop.push_back(id);
      cycle = fmt::format("{}", fmt::join(loop, " -> "));
      return true;
    }
    m = mark::open;
    path.push_back(id);
    if (auto at = graph.find(id); at != graph.end())
      for (const auto& dep : at->second)
        if (visit(dep))
          return true;
    path.pop_back();
    marks[id] = mark::done;
    return false;
  };
  for (const auto& [id, edges] : graph)
    if (visit(id))
      return cycle;
  return {};
}

std::vector<DeploymentStep> order_steps(
  const std::vector<DeploymentAction>& actions,
  const dependency_graph& graph) {
  // An app's level: 0 without dependencies, else one more than the
  // highest of those it depends on (the graph is acyclic).
  std::map<std::string, int> levels;
  std::function<int(const std::string&)> level = [&](const std::string& id) {
    if (auto at = levels.find(id); at != levels.end())
      return at->second;
    int l = 0;
    if (auto at = graph.find(id); at != graph.end())
      for (const auto& dep : at->second)
        l = std::max(l, level(dep) + 1);
    levels[id] = l;
    return l;
  };
  std::map<int, DeploymentStep> by_level;
  for (const auto& action : actions) {
    // Stopped apps are gone from the graph: they go first.
    int l = action.action() == "StopApplication" ? -1 : level(action.app());
    *by_level[l].add_actions() = action;
  }
  std::vector<DeploymentStep> steps;
  for (auto& [l, step] : by_level)
    steps.push_back(std::move(step));
  return steps;
}

} // namespace dcos::marathon
