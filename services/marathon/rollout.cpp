#include "rollout.hpp"

#include <algorithm>
#include <cmath>

namespace dcos::marathon {

namespace {

// Orders `tasks` so that the ones to kill first come first: tasks not yet
// ready, then by killSelection on the time they were staged.
void order_for_killing(std::vector<const Task*>& tasks, bool youngest_first) {
  std::sort(tasks.begin(), tasks.end(), [&](const Task* a, const Task* b) {
    if (is_ready(*a) != is_ready(*b))
      return !is_ready(*a);
    if (a->staged_at() != b->staged_at())
      return youngest_first ? a->staged_at() > b->staged_at()
                            : a->staged_at() < b->staged_at();
    return a->id() < b->id();
  });
}

} // namespace

bool is_healthy(const Task& task) {
  return task.health_check_results_size() > 0
         && task.health_check_results(0).alive();
}

bool is_ready(const Task& task) {
  return task.state() == "TASK_RUNNING"
         && (!task.health_checked() || is_healthy(task))
         && (!task.readiness_checked() || task.ready());
}

rollout_step plan_rollout(const App& app,
                          const std::map<std::string, Task>& tasks,
                          bool removing) {
  rollout_step step;
  const auto& version = app.version_info().last_config_change_at();
  std::vector<const Task*> current, old;
  int killing = 0, current_running = 0, old_running = 0;
  for (const auto& [id, task] : tasks) {
    if (task.killing()) {
      ++killing;
      continue;
    }
    if (task.inactive())
      continue; // unreachable too long: replaced
    bool is_current = !removing && task.version() == version;
    (is_current ? current : old).push_back(&task);
    (is_current ? current_running : old_running) += is_ready(task);
  }
  int instances = removing ? 0 : app.instances();
  bool youngest_first = app.kill_selection() != "OLDEST_FIRST";
  auto alive_current = static_cast<int>(current.size());
  if (alive_current > instances) {
    order_for_killing(current, youngest_first);
    for (int i = 0; i < alive_current - instances; ++i)
      step.kills.push_back(current[static_cast<size_t>(i)]->id());
    alive_current = instances;
  }
  if (old.empty() || removing) {
    for (const auto* t : old)
      step.kills.push_back(t->id());
    step.launches = std::max(0, instances - alive_current);
    step.converged = step.launches == 0 && step.kills.empty() && killing == 0
                     && current_running == instances
                     && (!removing || tasks.empty());
    return step;
  }
  // A rolling replacement of the old tasks.
  const auto& strategy = app.upgrade_strategy();
  auto max_alive = std::max(
    instances, static_cast<int>(std::floor(
                 instances * (1 + strategy.maximum_over_capacity()) + 1e-9)));
  auto min_running = static_cast<int>(
    std::ceil(instances * strategy.minimum_health_capacity() - 1e-9));
  // Tasks being killed still hold their resources: they count against
  // the over-capacity until they are gone.
  auto alive_old = static_cast<int>(old.size());
  step.launches = std::max(
    0, std::min(instances - alive_current,
                max_alive - alive_current - alive_old - killing));
  int running = std::min(current_running, instances) + old_running;
  order_for_killing(old, youngest_first);
  for (const auto* t : old) {
    if (is_ready(*t)) {
      if (running - 1 < min_running)
        continue;
      --running;
    }
    step.kills.push_back(t->id());
  }
  // No room either way, and nothing under way that would make some (a new
  // task starting, a task being killed): one old task goes first.
  bool under_way = current_running < alive_current || killing > 0;
  if (step.launches == 0 && step.kills.empty() && alive_current < instances
      && !under_way)
    step.kills.push_back(old.front()->id());
  return step;
}

} // namespace dcos::marathon
