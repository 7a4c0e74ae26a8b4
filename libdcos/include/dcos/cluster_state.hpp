// The master's state as a follower of its operator event stream sees it: the
// SUBSCRIBED event's GetState, kept current by applying every later event.
// This is what the cluster view (cluster_view_actor.hpp) holds for services
// that name, balance or show what runs (Mesos-DNS, Minuteman, the
// dashboard), and what the simulation compares with the master's own state.
//
// How events change the state, as Mesos' own followers read them:
//  - TASK_ADDED adds the task to get_tasks.tasks (replacing one with the
//    same framework and task id), or, if it is added in a terminal state or
//    unreachable, to completed_tasks or unreachable_tasks (as the master
//    lists it);
//  - TASK_UPDATED sets the task's state and makes the event's status its
//    latest (the only one kept, as the master's state has it). A task that
//    becomes terminal moves to completed_tasks (the oldest dropped beyond
//    `max_completed_tasks`); TASK_UNREACHABLE moves it to unreachable_tasks,
//    and an unreachable task that comes back moves back;
//  - AGENT_ADDED adds or replaces the agent; AGENT_REMOVED removes it (its
//    tasks change with their own TASK_UPDATED events);
//  - FRAMEWORK_ADDED and FRAMEWORK_UPDATED add or replace the framework;
//    FRAMEWORK_REMOVED moves it to completed_frameworks;
//  - SUBSCRIBED replaces everything; HEARTBEAT changes nothing.
//
// Thread-safety: none (one owner, an actor).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include <dcos/v1/master.pb.h>

namespace dcos {

class cluster_state {
public:
  using state_type = v1::master::Response::GetState;

  explicit cluster_state(size_t max_completed_tasks = 1000)
    : max_completed_tasks_(max_completed_tasks) {
  }

  /// Starts over from a whole state (a SUBSCRIBED event's).
  void reset(state_type state);

  /// Applies one event. Returns whether the state changed: false for
  /// HEARTBEAT, and for an update of a task or an agent it does not know
  /// (nothing to change; the next SUBSCRIBED brings it if it exists).
  bool apply(const v1::master::Event& event);

  const state_type& get() const noexcept {
    return state_;
  }

private:
  void reindex();
  bool task_added(const v1::Task& task);
  bool task_updated(const v1::master::Event::TaskUpdated& update);
  bool agent_added(const v1::master::Response::GetAgents::Agent& agent);
  bool agent_removed(const std::string& agent_id);
  bool framework_changed(
    const v1::master::Response::GetFrameworks::Framework& framework);
  bool framework_removed(const v1::FrameworkInfo& info);
  void remove_active_task(int index, const std::string& key);

  size_t max_completed_tasks_;
  state_type state_;
  // Key "FRAMEWORK_ID\nTASK_ID" -> index in get_tasks.tasks; agent id ->
  // index in get_agents.agents (so that a cluster of 10,000 agents and
  // 100,000 tasks applies an event in constant time).
  std::unordered_map<std::string, int> tasks_;
  std::unordered_map<std::string, int> agents_;
};

} // namespace dcos
