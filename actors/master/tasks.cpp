// Tasks: launch bookkeeping, status updates and acknowledgements, kill,
// reconciliation, and the messages between frameworks and executors.
#include <algorithm>

#include <fmt/format.h>

#include "dcos/buggify.hpp"
#include "dcos/error.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

// Strips what the master never needs to keep: the command and resources
// live elsewhere or not at all.
std::shared_ptr<const v1::TaskInfo> details_of(const v1::TaskInfo& task) {
  if (!task.has_labels() && !task.has_discovery() && !task.has_container()
      && !task.has_health_check() && !task.has_check()
      && !task.has_kill_policy())
    return nullptr;
  auto details = std::make_shared<v1::TaskInfo>();
  if (task.has_labels())
    *details->mutable_labels() = task.labels();
  if (task.has_discovery())
    *details->mutable_discovery() = task.discovery();
  if (task.has_container())
    *details->mutable_container() = task.container();
  if (task.has_health_check())
    *details->mutable_health_check() = task.health_check();
  if (task.has_check())
    *details->mutable_check() = task.check();
  if (task.has_kill_policy())
    *details->mutable_kill_policy() = task.kill_policy();
  return details;
}

} // namespace

v1::Task task_record::to_proto() const {
  v1::Task out;
  out.set_name(name);
  out.mutable_task_id()->set_value(id);
  out.mutable_framework_id()->set_value(framework_id);
  if (!executor_id.empty())
    out.mutable_executor_id()->set_value(executor_id);
  out.mutable_agent_id()->set_value(agent_id);
  out.set_state(state);
  used.to_proto(out.mutable_resources());
  if (last_status.has_task_id())
    *out.add_statuses() = last_status;
  if (!unacked_uuid.empty()) {
    out.set_status_update_state(unacked_state);
    out.set_status_update_uuid(unacked_uuid);
  }
  if (details) {
    if (details->has_labels())
      *out.mutable_labels() = details->labels();
    if (details->has_discovery())
      *out.mutable_discovery() = details->discovery();
    if (details->has_container())
      *out.mutable_container() = details->container();
    if (details->has_health_check())
      *out.mutable_health_check() = details->health_check();
    if (details->has_check())
      *out.mutable_check() = details->check();
    if (details->has_kill_policy())
      *out.mutable_kill_policy() = details->kill_policy();
  }
  return out;
}

v1::TaskStatus master_state::master_status(const task_record& task,
                                           v1::TaskState state,
                                           v1::TaskStatus::Reason reason,
                                           const std::string& message) const {
  v1::TaskStatus status;
  status.mutable_task_id()->set_value(task.id);
  status.set_state(state);
  status.set_source(v1::TaskStatus::SOURCE_MASTER);
  status.set_reason(reason);
  if (!message.empty())
    status.set_message(message);
  if (!task.agent_id.empty())
    status.mutable_agent_id()->set_value(task.agent_id);
  if (!task.executor_id.empty())
    status.mutable_executor_id()->set_value(task.executor_id);
  status.set_timestamp(now());
  const auto& last = task.last_status;
  if (last.has_healthy())
    status.set_healthy(last.healthy());
  if (last.has_check_status())
    *status.mutable_check_status() = last.check_status();
  if (last.has_container_status())
    *status.mutable_container_status() = last.container_status();
  if (last.has_labels())
    *status.mutable_labels() = last.labels();
  return status;
}

void master_state::count_terminal(v1::TaskState state) {
  ++metrics.tasks_terminal[state];
}

void master_state::launch_task(framework_record& fw, agent_record& agent,
                               const v1::TaskInfo& task,
                               const v1::ExecutorInfo* executor,
                               launch_plan plan, resources& remaining) {
  remaining -= plan.task_resources + plan.executor_resources;
  // A known bug for the simulation's mutation check: the task goes to its
  // agent, but the master never books it, so it runs unknown to the master.
  if (mutant("master_loses_launched_tasks"))
    return;
  task_record rec;
  rec.id = task.task_id().value();
  rec.name = task.name();
  rec.framework_id = fw.info.id().value();
  rec.agent_id = agent.info.id().value();
  if (executor != nullptr) {
    rec.executor_id = executor->executor_id().value();
    if (plan.new_executor) {
      agent.executors[{rec.framework_id, rec.executor_id}] = *executor;
      agent.used[rec.framework_id] += plan.executor_resources;
    }
  }
  rec.state = v1::TASK_STAGING;
  rec.used = std::move(plan.task_resources);
  rec.details = details_of(task);
  agent.used[rec.framework_id] += rec.used;
  auto [it, added] = fw.tasks.emplace(rec.id, std::move(rec));
  agent.tasks.insert(&it->second);
  task_added(it->second);
  ++metrics.tasks_launched;
}

void master_state::task_terminated(task_record& task) {
  if (auto a = agents.find(task.agent_id); a != agents.end()) {
    auto& used = a->second.used[task.framework_id];
    used -= task.used;
    if (used.empty())
      a->second.used.erase(task.framework_id);
    self->send(allocator, alloc::recover{task.framework_id, task.agent_id,
                                         task.used, std::nullopt});
  }
}

void master_state::release_lost_task(agent_record& agent,
                                     const std::string& framework_id,
                                     const std::string& task_id) {
  auto i = agent.lost_tasks.find({framework_id, task_id});
  if (i == agent.lost_tasks.end())
    return;
  auto held = std::move(i->second);
  agent.lost_tasks.erase(i);
  auto& used = agent.used[framework_id];
  used -= held;
  if (used.empty())
    agent.used.erase(framework_id);
  self->send(allocator, alloc::recover{framework_id, agent.info.id().value(),
                                       std::move(held), std::nullopt});
  if (agent.tasks.empty())
    check_drained(agent.info.id().value());
}

void master_state::complete_task(framework_record& fw,
                                 const std::string& task_id) {
  auto t = fw.tasks.find(task_id);
  if (t == fw.tasks.end())
    return;
  auto a = agents.find(t->second.agent_id);
  if (a != agents.end())
    a->second.tasks.erase(&t->second);
  fw.completed_tasks.push_back(std::move(t->second));
  if (fw.completed_tasks.size() > cfg.max_completed_tasks_per_framework)
    fw.completed_tasks.pop_front();
  fw.tasks.erase(t);
  if (a != agents.end() && a->second.tasks.empty())
    check_drained(a->first);
}

void master_state::status_update(const v1::internal::StatusUpdate& update) {
  const auto& fw_id = update.framework_id().value();
  auto fw_it = frameworks.find(fw_id);
  if (fw_it == frameworks.end()) {
    ++metrics.invalid_status_updates;
    log->warn("dropping status update for unknown framework {} task_id={}",
              fw_id, update.status().task_id().value());
    return;
  }
  // As in Mesos, only a registered agent speaks for its tasks. One that is
  // unreachable (or removed) retries until it has re-registered, and its
  // report then settles what its tasks did meanwhile. (Found by the
  // simulation: a retried TASK_RUNNING from an agent still marked
  // unreachable reached the framework, which then never learned that the
  // agent was cut off again.)
  const auto& agent_id = update.status().agent_id().value();
  auto agent_it = agents.find(agent_id);
  if (agent_it == agents.end()) {
    ++metrics.invalid_status_updates;
    log->warn("dropping status update from agent {}, which is not registered "
              "task_id={}",
              agent_id, update.status().task_id().value());
    return;
  }
  auto& fw = fw_it->second;
  ++metrics.valid_status_updates;
  // Lost tasks are rare: the common update pays one empty() for them.
  auto& agent = agent_it->second;
  const auto& task_id = update.status().task_id().value();
  if (!agent.lost_tasks.empty()
      && agent.lost_tasks.count({fw_id, task_id}) > 0
      && fw.tasks.count(task_id) == 0) {
    // The framework was told LOST, which is final (Mesos forwards nothing
    // more of such a task): acknowledged in its stead.
    drop_stale_update(update);
    if (is_terminal(update.status().state()))
      release_lost_task(agent, fw_id, task_id);
    return;
  }
  v1::TaskStatus status = update.status();
  status.clear_data(); // kept only in the update sent on
  auto t = fw.tasks.find(status.task_id().value());
  // A known bug for the simulation's update check: a retried update of a
  // task that ended reaches the framework, which thinks it alive again.
  bool stale = is_terminal(status.state()) ? ended_otherwise(fw, t, status)
                                           : ended_here(fw, t, status);
  if (stale && !mutant("master_forwards_stale_updates")) {
    drop_stale_update(update);
    return;
  }
  // A known bug for the simulation's mutation check: the framework hears of
  // a task's end, the master's books do not, so it counts the task as live.
  if (is_terminal(status.state()) && mutant("master_misses_task_ends"))
    t = fw.tasks.end();
  if (t != fw.tasks.end()) {
    auto& task = t->second;
    bool was_terminal = is_terminal(task.state);
    task.state = update.has_latest_state() ? update.latest_state()
                                           : status.state();
    record_status(task, status);
    if (!status.uuid().empty()) {
      task.unacked_uuid = status.uuid();
      task.unacked_state = status.state();
    }
    if (!was_terminal && is_terminal(task.state)) {
      task_terminated(task);
      count_terminal(task.state);
    }
    if (status.uuid().empty() && is_terminal(status.state()))
      complete_task(fw, status.task_id().value()); // nothing to acknowledge
  }
  send_update(fw, update.status());
}

bool master_state::ended_here(
  const framework_record& fw,
  std::unordered_map<std::string, task_record>::const_iterator t,
  const v1::TaskStatus& status) const {
  if (t != fw.tasks.end())
    return is_terminal(t->second.state);
  return std::any_of(fw.completed_tasks.begin(), fw.completed_tasks.end(),
                     [&](const task_record& c) {
                       return c.id == status.task_id().value()
                              && c.agent_id == status.agent_id().value();
                     });
}

bool master_state::ended_otherwise(
  const framework_record& fw,
  std::unordered_map<std::string, task_record>::const_iterator t,
  const v1::TaskStatus& status) const {
  // Only a completed task counts: one still in the books may carry an end
  // the master made up from the agent's report (a task that ended during a
  // partition), which the agent's own update, with its uuid, must follow.
  if (t != fw.tasks.end())
    return false;
  return std::any_of(fw.completed_tasks.begin(), fw.completed_tasks.end(),
                     [&](const task_record& c) {
                       return c.id == status.task_id().value()
                              && c.agent_id == status.agent_id().value()
                              && is_terminal(c.last_status.state())
                              && c.last_status.uuid() != status.uuid();
                     });
}

void master_state::drop_stale_update(
  const v1::internal::StatusUpdate& update) {
  const auto& status = update.status();
  log->info("dropping status update {} of task {}, which ended already",
            v1::TaskState_Name(status.state()), status.task_id().value());
  // Acknowledged in the framework's stead, so that the agent goes on to the
  // task's end rather than retrying this one for ever: the framework knows
  // better than this update already, or will with the next.
  auto agent = agents.find(status.agent_id().value());
  if (status.uuid().empty() || agent == agents.end()
      || !agent->second.connected)
    return;
  v1::internal::StatusUpdateAcknowledgement ack;
  *ack.mutable_agent_id() = status.agent_id();
  *ack.mutable_framework_id() = update.framework_id();
  *ack.mutable_task_id() = status.task_id();
  ack.set_uuid(status.uuid());
  self->send(agent->second.handle, std::move(ack));
}

void master_state::acknowledge(const std::string& framework_id,
                               const call::Call::Acknowledge& call) {
  auto* fw = find_framework(framework_id, "ACKNOWLEDGE");
  if (fw == nullptr)
    return;
  auto agent = agents.find(call.agent_id().value());
  if (agent != agents.end() && agent->second.connected) {
    v1::internal::StatusUpdateAcknowledgement ack;
    *ack.mutable_agent_id() = call.agent_id();
    ack.mutable_framework_id()->set_value(framework_id);
    *ack.mutable_task_id() = call.task_id();
    ack.set_uuid(call.uuid());
    // A rare path for the simulation: the acknowledgement reaches the agent
    // late (a slow link), after the agent has sent the update again.
    if (buggify("master.late_ack"))
      self->delayed_send(agent->second.handle, std::chrono::seconds(3),
                         std::move(ack));
    else
      self->send(agent->second.handle, std::move(ack));
  }
  auto t = fw->tasks.find(call.task_id().value());
  if (t == fw->tasks.end() || t->second.unacked_uuid != call.uuid())
    return;
  t->second.unacked_uuid.clear();
  if (is_terminal(t->second.unacked_state))
    complete_task(*fw, call.task_id().value());
}

void master_state::kill(const std::string& framework_id,
                        const call::Call::Kill& call) {
  auto* fw = find_framework(framework_id, "KILL");
  if (fw == nullptr)
    return;
  const auto& task_id = call.task_id().value();
  auto t = fw->tasks.find(task_id);
  std::string agent_id = t != fw->tasks.end() ? t->second.agent_id
                                              : call.agent_id().value();
  auto agent = agents.find(agent_id);
  if (t == fw->tasks.end()
      && (agent == agents.end() || !agent->second.connected)) {
    // Unknown here and nowhere to ask: tell the framework what we know.
    call::Call::Reconcile reconcile_call;
    auto* entry = reconcile_call.add_tasks();
    *entry->mutable_task_id() = call.task_id();
    *entry->mutable_agent_id() = call.agent_id();
    reconcile(framework_id, reconcile_call);
    return;
  }
  if (agent == agents.end() || !agent->second.connected) {
    log->warn("cannot kill task {} of framework {}: agent {} is not "
              "connected",
              task_id, framework_id, agent_id);
    return;
  }
  v1::internal::KillTask msg;
  msg.mutable_framework_id()->set_value(framework_id);
  *msg.mutable_task_id() = call.task_id();
  if (call.has_kill_policy())
    *msg.mutable_kill_policy() = call.kill_policy();
  else if (t != fw->tasks.end() && t->second.details
           && t->second.details->has_kill_policy())
    *msg.mutable_kill_policy() = t->second.details->kill_policy();
  self->send(agent->second.handle, std::move(msg));
}

void master_state::reconcile(const std::string& framework_id,
                             const call::Call::Reconcile& call) {
  auto* fw = find_framework(framework_id, "RECONCILE");
  if (fw == nullptr)
    return;
  auto answer = [&](const task_record& task) {
    auto status = master_status(task, task.state,
                                v1::TaskStatus::REASON_RECONCILIATION,
                                "Reconciliation: latest task state");
    if (task.state == v1::TASK_UNREACHABLE) {
      if (auto u = unreachable.find(task.agent_id); u != unreachable.end())
        status.mutable_unreachable_time()->set_nanoseconds(
          static_cast<int64_t>(u->second.since * 1e9));
    }
    send_update(*fw, std::move(status));
  };
  if (call.tasks_size() == 0) { // implicit: everything not terminal
    for (const auto& [id, task] : fw->tasks)
      if (!is_terminal(task.state))
        answer(task);
    return;
  }
  for (const auto& entry : call.tasks()) {
    auto t = fw->tasks.find(entry.task_id().value());
    if (t != fw->tasks.end()) {
      answer(t->second);
      continue;
    }
    // A task that ended here is answered with the end its framework was
    // told, not TASK_GONE: the simulation found a framework that asked
    // about a task while its TASK_DROPPED was on the way, and so learned
    // two different ends. (Mesos answers from its active tasks only.)
    auto ended = [&](const std::deque<task_record>& history) {
      auto done = std::find_if(
        history.rbegin(), history.rend(),
        [&](const task_record& c) { return c.id == entry.task_id().value(); });
      return done != history.rend() ? &*done : nullptr;
    };
    if (const auto* done = ended(fw->completed_tasks)) {
      answer(*done);
      continue;
    }
    if (const auto* refused = ended(fw->refused_launches)) {
      answer(*refused);
      continue;
    }
    task_record unknown;
    unknown.id = entry.task_id().value();
    unknown.agent_id = entry.agent_id().value();
    const auto& agent_id = unknown.agent_id;
    // An agent of the registry that has not re-registered since a master
    // failover may still bring the task: no answer yet, as in Mesos (the
    // simulation found frameworks told TASK_UNKNOWN about running tasks).
    if (!agent_id.empty() && recovering_agents.count(agent_id) > 0)
      continue;
    v1::TaskState state;
    if (!agent_id.empty() && unreachable.count(agent_id) > 0)
      state = fw->partition_aware ? v1::TASK_UNREACHABLE : v1::TASK_LOST;
    else if (!agent_id.empty()
             && (agents.count(agent_id) > 0 || gone_agents.count(agent_id) > 0))
      state = fw->partition_aware ? v1::TASK_GONE : v1::TASK_LOST;
    else
      state = fw->partition_aware ? v1::TASK_UNKNOWN : v1::TASK_LOST;
    send_update(*fw, master_status(unknown, state,
                                   v1::TaskStatus::REASON_RECONCILIATION,
                                   "Reconciliation: task is unknown"));
  }
}

void master_state::shutdown_executor(const std::string& framework_id,
                                     const call::Call::Shutdown& call) {
  if (find_framework(framework_id, "SHUTDOWN") == nullptr)
    return;
  auto agent = agents.find(call.agent_id().value());
  if (agent == agents.end() || !agent->second.connected)
    return;
  v1::internal::ShutdownExecutor msg;
  msg.mutable_framework_id()->set_value(framework_id);
  *msg.mutable_executor_id() = call.executor_id();
  self->send(agent->second.handle, std::move(msg));
}

void master_state::framework_message(const std::string& framework_id,
                                     const call::Call::Message& call) {
  if (find_framework(framework_id, "MESSAGE") == nullptr)
    return;
  auto agent = agents.find(call.agent_id().value());
  if (agent == agents.end() || !agent->second.connected) {
    log->warn("dropping MESSAGE from framework {}: agent {} not connected",
              framework_id, call.agent_id().value());
    return;
  }
  v1::internal::FrameworkToExecutor msg;
  *msg.mutable_agent_id() = call.agent_id();
  msg.mutable_framework_id()->set_value(framework_id);
  *msg.mutable_executor_id() = call.executor_id();
  msg.set_data(call.data());
  self->send(agent->second.handle, std::move(msg));
}

void master_state::executor_message(
  const v1::internal::ExecutorToFramework& msg) {
  auto fw = frameworks.find(msg.framework_id().value());
  if (fw == frameworks.end() || !fw->second.connected)
    return;
  call::Event::Message event;
  *event.mutable_agent_id() = msg.agent_id();
  *event.mutable_executor_id() = msg.executor_id();
  event.set_data(msg.data());
  self->send(fw->second.handle, std::move(event));
}

void master_state::release_executor(agent_record& agent,
                                    const executor_key& key) {
  auto e = agent.executors.find(key);
  if (e == agent.executors.end())
    return;
  if (auto used = resources::from_proto(e->second.resources());
      used && !used->empty()) {
    auto& fw_used = agent.used[key.framework_id];
    fw_used -= *used;
    if (fw_used.empty())
      agent.used.erase(key.framework_id);
    self->send(allocator, alloc::recover{key.framework_id,
                                         agent.info.id().value(),
                                         std::move(*used), std::nullopt});
  }
  agent.executors.erase(e);
}

void master_state::executor_exited(const v1::internal::ExitedExecutor& msg) {
  auto agent = agents.find(msg.agent_id().value());
  if (agent == agents.end())
    return;
  auto key = executor_key{msg.framework_id().value(),
                          msg.executor_id().value()};
  release_executor(agent->second, key);
  auto fw = frameworks.find(key.framework_id);
  if (fw != frameworks.end() && fw->second.connected) {
    call::Event::Failure event;
    *event.mutable_agent_id() = msg.agent_id();
    *event.mutable_executor_id() = msg.executor_id();
    event.set_status(msg.status());
    self->send(fw->second.handle, std::move(event));
  }
}

} // namespace dcos::kernel
