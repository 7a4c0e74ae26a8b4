#include "dcos/cluster_state.hpp"

#include "dcos/task_state.hpp"

namespace dcos {

namespace {

using v1::master::Event;

std::string task_key(const std::string& framework_id,
                     const std::string& task_id) {
  std::string key;
  key.reserve(framework_id.size() + task_id.size() + 1);
  key += framework_id;
  key += '\n';
  key += task_id;
  return key;
}

std::string task_key(const v1::Task& task) {
  return task_key(task.framework_id().value(), task.task_id().value());
}

// Removes element `i` of a repeated field by moving the last one into its
// place: constant time, order not kept (the master's order is a map's).
template <class Repeated>
void swap_remove(Repeated& field, int i) {
  int last = field.size() - 1;
  if (i != last)
    field.SwapElements(i, last);
  field.RemoveLast();
}

} // namespace

void cluster_state::reset(state_type state) {
  state_ = std::move(state);
  reindex();
}

void cluster_state::reindex() {
  tasks_.clear();
  agents_.clear();
  const auto& tasks = state_.get_tasks().tasks();
  for (int i = 0; i < tasks.size(); ++i)
    tasks_[task_key(tasks[i])] = i;
  const auto& agents = state_.get_agents().agents();
  for (int i = 0; i < agents.size(); ++i)
    agents_[agents[i].agent_info().id().value()] = i;
}

bool cluster_state::apply(const Event& event) {
  switch (event.type()) {
    case Event::SUBSCRIBED:
      reset(event.subscribed().get_state());
      return true;
    case Event::TASK_ADDED:
      return task_added(event.task_added().task());
    case Event::TASK_UPDATED:
      return task_updated(event.task_updated());
    case Event::AGENT_ADDED:
      return agent_added(event.agent_added().agent());
    case Event::AGENT_REMOVED:
      return agent_removed(event.agent_removed().agent_id().value());
    case Event::FRAMEWORK_ADDED:
      return framework_changed(event.framework_added().framework());
    case Event::FRAMEWORK_UPDATED:
      return framework_changed(event.framework_updated().framework());
    case Event::FRAMEWORK_REMOVED:
      return framework_removed(event.framework_removed().framework_info());
    default:
      return false;
  }
}

bool cluster_state::task_added(const v1::Task& task) {
  auto* all = state_.mutable_get_tasks();
  auto* tasks = all->mutable_tasks();
  auto key = task_key(task);
  // The master lists a task where its state puts it (an agent that comes
  // back may report a task that ended meanwhile): one place only.
  auto* unreachable = all->mutable_unreachable_tasks();
  for (int i = 0; i < unreachable->size(); ++i)
    if (task_key(unreachable->Get(i)) == key) {
      swap_remove(*unreachable, i);
      break;
    }
  auto it = tasks_.find(key);
  if (is_terminal(task.state()) || task.state() == v1::TASK_UNREACHABLE) {
    if (it != tasks_.end())
      remove_active_task(it->second, key);
    if (task.state() == v1::TASK_UNREACHABLE) {
      *unreachable->Add() = task;
      return true;
    }
    auto* completed = all->mutable_completed_tasks();
    *completed->Add() = task;
    if (static_cast<size_t>(completed->size()) > max_completed_tasks_)
      completed->DeleteSubrange(0, 1);
    return true;
  }
  if (it != tasks_.end()) {
    *tasks->Mutable(it->second) = task;
    return true;
  }
  *tasks->Add() = task;
  tasks_.emplace(std::move(key), tasks->size() - 1);
  return true;
}

void cluster_state::remove_active_task(int index, const std::string& key) {
  auto* tasks = state_.mutable_get_tasks()->mutable_tasks();
  tasks_.erase(key);
  int last = tasks->size() - 1;
  if (index != last)
    tasks_[task_key(tasks->Get(last))] = index;
  swap_remove(*tasks, index);
}

bool cluster_state::task_updated(const Event::TaskUpdated& update) {
  auto* all = state_.mutable_get_tasks();
  const auto& framework_id = update.framework_id().value();
  const auto& task_id = update.status().task_id().value();
  auto state = update.state();
  v1::Task task;
  auto key = task_key(framework_id, task_id);
  if (auto it = tasks_.find(key); it != tasks_.end()) {
    auto* current = all->mutable_tasks(it->second);
    current->set_state(state);
    current->clear_statuses();
    *current->add_statuses() = update.status();
    if (!is_terminal(state) && state != v1::TASK_UNREACHABLE)
      return true;
    task = std::move(*current);
    remove_active_task(it->second, key);
  } else {
    // Unreachable tasks come back (or end) rarely: a scan is enough.
    auto* unreachable = all->mutable_unreachable_tasks();
    int i = 0;
    while (i < unreachable->size()
           && !(unreachable->Get(i).task_id().value() == task_id
                && unreachable->Get(i).framework_id().value() == framework_id))
      ++i;
    if (i == unreachable->size())
      return false;
    task = std::move(*unreachable->Mutable(i));
    swap_remove(*unreachable, i);
    task.set_state(state);
    task.clear_statuses();
    *task.add_statuses() = update.status();
    if (!is_terminal(state) && state != v1::TASK_UNREACHABLE)
      return task_added(task);
  }
  if (state == v1::TASK_UNREACHABLE) {
    *all->add_unreachable_tasks() = std::move(task);
    return true;
  }
  auto* completed = all->mutable_completed_tasks();
  *completed->Add() = std::move(task);
  if (static_cast<size_t>(completed->size()) > max_completed_tasks_)
    completed->DeleteSubrange(0, 1);
  return true;
}

bool cluster_state::agent_added(
  const v1::master::Response::GetAgents::Agent& agent) {
  auto* agents = state_.mutable_get_agents()->mutable_agents();
  const auto& id = agent.agent_info().id().value();
  if (auto it = agents_.find(id); it != agents_.end()) {
    *agents->Mutable(it->second) = agent;
    return true;
  }
  *agents->Add() = agent;
  agents_.emplace(id, agents->size() - 1);
  return true;
}

bool cluster_state::agent_removed(const std::string& agent_id) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end())
    return false;
  auto* agents = state_.mutable_get_agents()->mutable_agents();
  int index = it->second;
  agents_.erase(it);
  int last = agents->size() - 1;
  if (index != last)
    agents_[agents->Get(last).agent_info().id().value()] = index;
  swap_remove(*agents, index);
  return true;
}

bool cluster_state::framework_changed(
  const v1::master::Response::GetFrameworks::Framework& framework) {
  auto* frameworks = state_.mutable_get_frameworks()->mutable_frameworks();
  const auto& id = framework.framework_info().id().value();
  for (auto& f : *frameworks)
    if (f.framework_info().id().value() == id) {
      f = framework;
      return true;
    }
  *frameworks->Add() = framework;
  return true;
}

bool cluster_state::framework_removed(const v1::FrameworkInfo& info) {
  auto* all = state_.mutable_get_frameworks();
  auto* frameworks = all->mutable_frameworks();
  for (int i = 0; i < frameworks->size(); ++i)
    if (frameworks->Get(i).framework_info().id().value() == info.id().value()) {
      auto removed = std::move(*frameworks->Mutable(i));
      frameworks->DeleteSubrange(i, 1);
      removed.set_active(false);
      removed.set_connected(false);
      *all->add_completed_frameworks() = std::move(removed);
      return true;
    }
  return false;
}

} // namespace dcos
