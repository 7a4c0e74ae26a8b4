// Agents: registration, re-registration (after an agent restart, a master
// restart, or a partition), health pings, unreachability and removal.
#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "dcos/buggify.hpp"
#include "dcos/error.hpp"
#include "dcos/mesos_defaults.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

std::vector<task_record*> agent_record::tasks_in_order() const {
  std::vector<task_record*> out(tasks.begin(), tasks.end());
  std::sort(out.begin(), out.end(),
            [](const task_record* a, const task_record* b) {
              return std::tie(a->framework_id, a->id)
                     < std::tie(b->framework_id, b->id);
            });
  return out;
}

namespace {

caf::error recovering_error() {
  return make_error(errc::unavailable,
                    "the master is recovering its registry; retry");
}

// The address an agent says it serves on, if it is one others can reach
// (0.0.0.0 is not: its hostname stands for it then).
std::string advertised_ip(const std::string& ip) {
  return ip == "0.0.0.0" || ip == "::" ? std::string{} : ip;
}

} // namespace

v1::internal::AgentRegistered
master_state::registered_reply(const std::string& agent_id) {
  v1::internal::AgentRegistered reply;
  reply.mutable_agent_id()->set_value(agent_id);
  *reply.mutable_master_info() = master_info();
  reply.set_ping_interval_seconds(
    std::chrono::duration<double>(cfg.agent_ping_timeout).count());
  return reply;
}

void master_state::admit(
  agent_record& agent, std::vector<std::pair<std::string, resources>> used) {
  // Known to the allocator (its used resources count for the frameworks'
  // shares) but not offered until admitted(): a task must never reach an
  // agent before the reply that tells it its id, or it would report the
  // task's updates under no agent id (found by the simulation).
  const auto& id = agent.info.id().value();
  self->send(allocator, alloc::add_agent{id, agent.total, std::move(used)});
  self->send(allocator, alloc::activate_agent{id, false});
}

void master_state::admitted(
  const std::string& agent_id,
  caf::typed_response_promise<v1::internal::AgentRegistered>& rp) {
  // Answer once the agent's admission is durable, as Mesos does; only then
  // offer it.
  rp.deliver(registered_reply(agent_id));
  auto a = agents.find(agent_id);
  if (a == agents.end() || !a->second.connected)
    return;
  a->second.active = offerable(a->second);
  if (a->second.active)
    self->send(allocator, alloc::activate_agent{agent_id, true});
  start_draining(a->second); // if it is DRAINING
  resend_pending_operations(a->second);
}

std::string master_state::endpoint_of(const v1::AgentInfo& info) {
  return fmt::format("{}:{}", info.hostname(), info.port());
}

void master_state::start_pinging(agent_record& agent) {
  agent.missed_pings = 0;
  agent.last_ping = self->clock().now();
  self->delayed_send(self, cfg.agent_ping_timeout, ping_atom::value,
                     agent.info.id().value(), ++agent.ping_generation);
}

caf::result<v1::internal::AgentRegistered>
master_state::register_agent(const agent_actor& handle,
                             const v1::internal::RegisterAgent& msg) {
  if (!recovered)
    return recovering_error();
  if (!handle)
    return make_error(errc::invalid_argument, "register: no agent handle");
  // A retried registration from the same agent process.
  if (auto known = agent_by_addr.find(handle.address());
      known != agent_by_addr.end())
    return registered_reply(known->second);
  auto info = msg.agent_info();
  if (info.hostname().empty())
    return make_error(errc::invalid_argument, "agent_info.hostname: empty");
  if (machine_down(info))
    return make_error(errc::conflict,
                      fmt::format("the machine of agent {} is DOWN for "
                                  "maintenance",
                                  info.hostname()));
  auto total = resources::from_proto(info.resources());
  if (!total)
    return make_error(errc::invalid_argument,
                      fmt::format("agent_info.{}",
                                  describe_reason(total.error())));
  // As in Mesos: an agent registering anew at the address of a disconnected
  // one is its successor (that process died, or lost its link, before it
  // learned its id), so the old one and its tasks are gone. Otherwise the
  // old one would turn unreachable and its tasks stay so for good (found
  // by the simulation).
  if (auto old = agent_by_endpoint.find(endpoint_of(info));
      old != agent_by_endpoint.end()) {
    auto stale = old->second;
    if (auto a = agents.find(stale); a != agents.end() && !a->second.connected) {
      log->warn("agent replaced by a new registration at its address "
                "agent_id={}",
                stale);
      ++metrics.agents_removed;
      remove_agent(stale, v1::TASK_GONE,
                   fmt::format("agent {} was replaced by a new agent at its "
                               "address",
                               stale));
    }
  }
  auto id = new_id("S", next_agent);
  info.mutable_id()->set_value(id);
  auto& agent = agents[id];
  agent.info = info;
  agent.ip = advertised_ip(msg.ip());
  agent_by_endpoint[endpoint_of(info)] = id;
  agent.handle = handle;
  agent.version = msg.version();
  agent.total = *total;
  agent.registered_time = now();
  self->monitor(handle);
  agent_by_addr[handle.address()] = id;
  ++metrics.agents_registered;
  log->info("agent registered agent_id={} hostname={} resources={}", id,
            info.hostname(), total->to_string());
  agent_added(agent);
  admit(agent, {});
  start_pinging(agent);
  auto rp = self->make_response_promise<v1::internal::AgentRegistered>();
  persist([this, rp, id]() mutable { admitted(id, rp); });
  return rp;
}

framework_record&
master_state::framework_placeholder(const std::string& id,
                                    const v1::FrameworkInfo* info,
                                    std::optional<double> disconnected_at) {
  auto i = frameworks.find(id);
  if (i != frameworks.end())
    return i->second;
  auto& fw = frameworks[id];
  if (info != nullptr)
    fw.info = *info;
  fw.info.mutable_id()->set_value(id);
  if (fw.info.roles_size() == 0)
    fw.info.mutable_roles()->Add(std::string(1, '*'));
  fw.roles.assign(fw.info.roles().begin(), fw.info.roles().end());
  fw.recovered = true;
  fw.partition_aware
    = fw.has_capability(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  fw.killing_state
    = fw.has_capability(v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
  fw.registered_time = now();
  fw.unregistered_time = disconnected_at.value_or(now());
  framework_changed(fw, v1::master::Event::FRAMEWORK_ADDED);
  // Inactive until it re-subscribes; its tasks still count for its share.
  self->send(allocator, alloc::add_framework{id, fw.roles, {}, false, {}});
  // If it never comes back, remove it after its failover timeout.
  start_failover_timeout(fw);
  log->info("framework recovered framework_id={} failover_timeout={}s", id,
            failover_timeout_seconds(fw.info));
  return fw;
}

void master_state::adopt_tasks(agent_record& agent,
                               const v1::internal::ReregisterAgent& msg,
                               bool kill_lost_tasks) {
  const auto& agent_id = agent.info.id().value();
  auto info_of = [&](const std::string& fw_id) -> const v1::FrameworkInfo* {
    for (const auto& f : msg.frameworks())
      if (f.id().value() == fw_id)
        return &f;
    return nullptr;
  };
  // A framework removed while the agent was away ends there too (once).
  std::map<std::string, bool> removed;
  auto was_removed = [&](const std::string& fw_id) {
    auto [at, added] = removed.try_emplace(fw_id, false);
    if (added && frameworks.count(fw_id) == 0
        && framework_removed_before(fw_id)) {
      at->second = true;
      v1::internal::ShutdownFramework shutdown;
      shutdown.mutable_framework_id()->set_value(fw_id);
      self->send(agent.handle, std::move(shutdown));
    }
    return at->second;
  };
  // The executors of a framework whose tasks here were LOST are kept: what
  // they hold is not free until they exit (the simulation found it offered
  // while they still ran).
  for (const auto& e : msg.executors()) {
    const auto& fw_id = e.framework_id().value();
    if (was_removed(fw_id))
      continue;
    agent.executors[{fw_id, e.executor_id().value()}] = e;
    if (auto used = resources::from_proto(e.resources()); used)
      agent.used[fw_id] += *used;
  }
  for (const auto& reported : msg.tasks()) {
    const auto& fw_id = reported.framework_id().value();
    if (was_removed(fw_id))
      continue;
    auto existing = frameworks.find(fw_id);
    if (kill_lost_tasks && existing != frameworks.end()
        && !existing->second.partition_aware
        && existing->second.tasks.count(reported.task_id().value()) == 0) {
      // It was reported LOST (and completed), which is final for this
      // framework: killed, with its executor, as Mesos shuts such a
      // framework down on the returning agent, and held in lost_tasks
      // until the agent reports its end. One that ended meanwhile holds
      // nothing; its end, if still on its way, is dropped as a second end.
      if (!is_terminal(reported.state())) {
        auto used = resources::from_proto(reported.resources());
        auto& held = agent.lost_tasks[{fw_id, reported.task_id().value()}];
        if (used) {
          agent.used[fw_id] += *used;
          held = std::move(*used);
        }
        kill_lost_task(agent, reported);
      }
      continue;
    }
    auto& fw = framework_placeholder(fw_id, info_of(fw_id));
    bool known = fw.tasks.count(reported.task_id().value()) > 0;
    auto& task = fw.tasks[reported.task_id().value()];
    bool was_unreachable = task.state == v1::TASK_UNREACHABLE;
    task.id = reported.task_id().value();
    task.name = reported.name();
    task.framework_id = fw_id;
    task.agent_id = agent_id;
    task.executor_id = reported.executor_id().value();
    task.state = reported.state();
    if (auto used = resources::from_proto(reported.resources()); used)
      task.used = std::move(*used);
    if (reported.statuses_size() > 0) {
      auto latest = reported.statuses(reported.statuses_size() - 1);
      if (known)
        record_status(task, std::move(latest));
      else
        task.last_status = std::move(latest);
    } else if (known) {
      record_status(task, task.last_status); // its state may be new
    }
    if (reported.has_labels() || reported.has_discovery()
        || reported.has_container() || reported.has_health_check()
        || reported.has_check()) {
      // Only the parts the task has: an empty health check would read as
      // one with no result yet (unhealthy) to the task's followers.
      auto details = std::make_shared<v1::TaskInfo>();
      if (reported.has_labels())
        *details->mutable_labels() = reported.labels();
      if (reported.has_discovery())
        *details->mutable_discovery() = reported.discovery();
      if (reported.has_container())
        *details->mutable_container() = reported.container();
      if (reported.has_health_check())
        *details->mutable_health_check() = reported.health_check();
      if (reported.has_check())
        *details->mutable_check() = reported.check();
      task.details = std::move(details);
    }
    agent.tasks.insert(&task);
    if (!is_terminal(task.state))
      agent.used[fw_id] += task.used;
    if (!known)
      task_added(task);
    // A known bug for the simulation's convergence check: a task back from
    // a partition stays unreachable in the master's view (its resources
    // are counted again), although its agent is registered and it runs.
    if (was_unreachable && mutant("master_keeps_tasks_unreachable")) {
      task.state = v1::TASK_UNREACHABLE;
      continue;
    }
    if (was_unreachable) {
      // Back from a partition: tell the framework at once.
      auto status = master_status(task, task.state,
                                  v1::TaskStatus::REASON_AGENT_REREGISTERED,
                                  "agent re-registered");
      record_status(task, status);
      send_update(fw, std::move(status));
    }
  }
  if (kill_lost_tasks)
    forget_unreported_tasks(agent_id, msg);
}

void master_state::kill_lost_task(const agent_record& agent,
                                  const v1::Task& task) {
  v1::internal::KillTask kill;
  *kill.mutable_framework_id() = task.framework_id();
  *kill.mutable_task_id() = task.task_id();
  self->send(agent.handle, std::move(kill));
  if (task.has_executor_id() && !task.executor_id().value().empty()) {
    v1::internal::ShutdownExecutor shutdown;
    *shutdown.mutable_framework_id() = task.framework_id();
    *shutdown.mutable_executor_id() = task.executor_id();
    self->send(agent.handle, std::move(shutdown));
  }
}

void master_state::forget_unreported_tasks(
  const std::string& agent_id, const v1::internal::ReregisterAgent& msg) {
  // Tasks left unreachable on an agent that came back without them (their
  // launch was lost in the partition, say) are gone: without this they
  // stayed unreachable for good (the simulation's convergence check found
  // it).
  std::set<std::pair<std::string, std::string>> reported;
  for (const auto& t : msg.tasks())
    reported.emplace(t.framework_id().value(), t.task_id().value());
  for (auto& [fw_id, fw] : frameworks) {
    std::vector<std::string> gone;
    for (const auto& [task_id, task] : fw.tasks)
      if (task.agent_id == agent_id && task.state == v1::TASK_UNREACHABLE
          && reported.count({fw_id, task_id}) == 0)
        gone.push_back(task_id);
    for (const auto& task_id : gone) {
      auto& task = fw.tasks[task_id];
      auto status = master_status(task, v1::TASK_GONE,
                                  v1::TaskStatus::REASON_AGENT_REREGISTERED,
                                  "the agent re-registered without this task");
      task.state = v1::TASK_GONE;
      record_status(task, status);
      count_terminal(v1::TASK_GONE);
      send_update(fw, std::move(status));
      complete_task(fw, task_id);
    }
  }
}

caf::result<v1::internal::AgentRegistered>
master_state::reregister_agent(const agent_actor& handle,
                               const v1::internal::ReregisterAgent& msg) {
  if (!recovered)
    return recovering_error();
  const auto& id = msg.agent_info().id().value();
  if (id.empty())
    return make_error(errc::invalid_argument, "agent_info.id: empty");
  if (gone_agents.count(id) > 0)
    return make_error(errc::conflict,
                      fmt::format("agent {} was removed for good", id));
  if (machine_down(msg.agent_info()))
    return make_error(errc::conflict,
                      fmt::format("the machine of agent {} is DOWN for "
                                  "maintenance",
                                  id));
  auto total = resources::from_proto(msg.checkpointed_resources_size() > 0
                                       ? msg.checkpointed_resources()
                                       : msg.agent_info().resources());
  if (!total)
    return make_error(errc::invalid_argument,
                      fmt::format("checkpointed_resources: {}",
                                  describe_reason(total.error())));
  auto known = agents.find(id);
  if (known != agents.end()) {
    // The same agent reconnects (it restarted, or its link broke).
    auto& agent = known->second;
    if (agent.handle != handle) {
      self->demonitor(agent.handle.address());
      agent_by_addr.erase(agent.handle.address());
      agent.handle = handle;
      self->monitor(handle);
      agent_by_addr[handle.address()] = id;
    }
    agent.connected = true;
    agent.active = offerable(agent);
    agent.version = msg.version();
    agent.ip = advertised_ip(msg.ip());
    agent.reregistered_time = now();
    // Tasks we know that the agent no longer has ended while we were apart.
    std::set<std::pair<std::string, std::string>> reported;
    for (const auto& t : msg.tasks())
      reported.emplace(t.framework_id().value(), t.task_id().value());
    // Lost tasks it no longer has have ended; those it still runs are
    // killed again (the kill may have been lost with the link).
    std::vector<std::pair<std::string, std::string>> lost_and_gone;
    for (const auto& [key, held] : agent.lost_tasks)
      if (reported.count(key) == 0)
        lost_and_gone.push_back(key);
    for (const auto& [fw_id, task_id] : lost_and_gone)
      release_lost_task(agent, fw_id, task_id);
    for (const auto& t : msg.tasks())
      if (!agent.lost_tasks.empty() && !is_terminal(t.state())
          && agent.lost_tasks.count(
               {t.framework_id().value(), t.task_id().value()})
               > 0)
        kill_lost_task(agent, t);
    for (auto* task : agent.tasks_in_order()) {
      if (reported.count({task->framework_id, task->id}) > 0
          || is_terminal(task->state))
        continue;
      auto& fw = frameworks[task->framework_id];
      auto state = !fw.partition_aware ? v1::TASK_LOST
                   : task->state == v1::TASK_STAGING ? v1::TASK_DROPPED
                                                     : v1::TASK_GONE;
      auto status = master_status(*task, state,
                                  v1::TaskStatus::REASON_AGENT_REREGISTERED,
                                  "the agent re-registered without this task");
      task->state = state;
      record_status(*task, status);
      task_terminated(*task);
      count_terminal(state);
      auto task_id = task->id;
      send_update(fw, std::move(status));
      complete_task(fw, task_id);
    }
    // Executors we know that the agent no longer runs ended while we were
    // apart (its restart ended them before it could say so): what they
    // held is free again, persistent volumes included (the simulation
    // found a pod's volume held for good by a default executor that had
    // ended).
    std::set<executor_key> running;
    for (const auto& e : msg.executors())
      running.insert(
        executor_key{e.framework_id().value(), e.executor_id().value()});
    std::vector<executor_key> ended;
    for (const auto& [key, e] : agent.executors)
      if (running.count(key) == 0)
        ended.push_back(key);
    for (const auto& key : ended)
      release_executor(agent, key);
    ++metrics.agents_reregistered;
    log->info("agent re-registered agent_id={}", id);
    if (agent.active)
      self->send(allocator, alloc::activate_agent{id, true});
    start_pinging(agent);
    // Answered before a drain is sent again, so that the agent hears it
    // on the link it has just registered.
    auto rp = self->make_response_promise<v1::internal::AgentRegistered>();
    rp.deliver(registered_reply(id));
    start_draining(agent);
    resend_pending_operations(agent);
    return rp;
  }
  // Back from unreachable, or admitted by an earlier master, or unknown
  // (admitted: the registry is not strict, as Mesos' default).
  bool was_unreachable = unreachable.erase(id) > 0;
  recovering_agents.erase(id);
  auto& agent = agents[id];
  agent.info = msg.agent_info();
  agent.ip = advertised_ip(msg.ip());
  agent_by_endpoint[endpoint_of(agent.info)] = id;
  agent.handle = handle;
  agent.version = msg.version();
  agent.total = *total;
  agent.registered_time = now();
  agent.reregistered_time = agent.registered_time;
  self->monitor(handle);
  agent_by_addr[handle.address()] = id;
  // Before its tasks, so that a follower knows where they run.
  agent_added(agent);
  adopt_tasks(agent, msg, was_unreachable);
  ++metrics.agents_reregistered;
  log->info("agent re-registered agent_id={} hostname={} tasks={}{}", id,
            agent.info.hostname(), msg.tasks_size(),
            was_unreachable ? " (was unreachable)" : "");
  std::vector<std::pair<std::string, resources>> used(agent.used.begin(),
                                                      agent.used.end());
  admit(agent, std::move(used));
  start_pinging(agent);
  auto rp = self->make_response_promise<v1::internal::AgentRegistered>();
  persist([this, rp, id]() mutable { admitted(id, rp); });
  return rp;
}

void master_state::ping_agent(const std::string& agent_id,
                              uint64_t generation) {
  auto a = agents.find(agent_id);
  if (a == agents.end() || a->second.ping_generation != generation)
    return;
  auto& agent = a->second;
  agent.last_ping = self->clock().now();
  auto next = [this, agent_id, generation](bool answered) {
    auto a = agents.find(agent_id);
    if (a == agents.end() || a->second.ping_generation != generation)
      return;
    auto& agent = a->second;
    if (answered) {
      agent.missed_pings = 0;
    } else if (++agent.missed_pings >= cfg.max_agent_ping_timeouts) {
      mark_unreachable(agent_id,
                       fmt::format("missed {} pings", agent.missed_pings));
      return;
    }
    // One ping per timeout period, however fast a failure came back.
    auto due = agent.last_ping + cfg.agent_ping_timeout;
    auto now = self->clock().now();
    self->delayed_send(self, due > now ? due - now : caf::timespan{0},
                       ping_atom::value, agent_id, generation);
  };
  self->request(agent.handle, cfg.agent_ping_timeout, ping_atom::value)
    .then([next](pong_atom) { next(true); },
          [next](caf::error&) { next(false); });
}

void master_state::agent_disconnected(const std::string& agent_id) {
  auto a = agents.find(agent_id);
  if (a == agents.end() || !a->second.connected)
    return;
  auto& agent = a->second;
  log->warn("agent disconnected agent_id={}", agent_id);
  agent.connected = false;
  agent.active = false;
  self->send(allocator, alloc::activate_agent{agent_id, false});
  rescind_agent_offers(agent);
  rescind_inverse_offers(agent_id, false);
  // Pings go on failing; enough misses make it unreachable.
}

void master_state::remove_agent(const std::string& agent_id,
                                v1::TaskState aware_state,
                                const std::string& why,
                                v1::TaskStatus::Reason reason) {
  auto a = agents.find(agent_id);
  if (a == agents.end())
    return;
  auto& agent = a->second;
  // Its operations go with it: an agent that comes back reports its own
  // resources, which may lack what a pending operation did here.
  std::optional<v1::OperationState> feedback;
  if (aware_state == v1::TASK_UNREACHABLE)
    feedback = v1::OPERATION_UNREACHABLE;
  else if (aware_state == v1::TASK_GONE_BY_OPERATOR)
    feedback = v1::OPERATION_GONE_BY_OPERATOR;
  forget_operations_of_agent(agent_id, feedback, why);
  for (const auto& offer : std::vector<std::string>(agent.offers.begin(),
                                                    agent.offers.end()))
    rescind(offer, false); // the allocator forgets the agent as a whole
  rescind_inverse_offers(agent_id, true);
  for (auto* task : agent.tasks_in_order()) {
    auto& fw = frameworks[task->framework_id];
    if (is_terminal(task->state)) {
      complete_task(fw, task->id);
      continue;
    }
    auto state = fw.partition_aware ? aware_state : v1::TASK_LOST;
    auto status = master_status(
      *task, state,
      state == v1::TASK_LOST ? v1::TaskStatus::REASON_AGENT_REMOVED : reason,
      why);
    if (state == v1::TASK_UNREACHABLE)
      status.mutable_unreachable_time()->set_nanoseconds(
        static_cast<int64_t>(now() * 1e9));
    task->state = state;
    record_status(*task, status);
    auto task_id = task->id;
    // A known bug for the simulation's partition check: frameworks are not
    // told that the tasks of an unreachable agent are unreachable.
    if (state != v1::TASK_UNREACHABLE
        || !mutant("master_silent_unreachable"))
      send_update(fw, std::move(status));
    if (is_terminal(state)) {
      count_terminal(state);
      complete_task(fw, task_id);
    }
    // Unreachable tasks stay with their framework, off any agent.
  }
  self->send(allocator, alloc::remove_agent{agent_id});
  if (aware_state != v1::TASK_UNREACHABLE) {
    // Removed for good: nothing of it is left to drain or reactivate.
    deactivated_agents.erase(agent_id);
    draining_agents.erase(agent_id);
  }
  if (agent.handle) {
    self->demonitor(agent.handle.address());
    agent_by_addr.erase(agent.handle.address());
  }
  if (auto e = agent_by_endpoint.find(endpoint_of(agent.info));
      e != agent_by_endpoint.end() && e->second == agent_id)
    agent_by_endpoint.erase(e);
  agent_removed(agent_id); // before the erase: `agent_id` may be its key
  agents.erase(a);
}

void master_state::mark_unreachable(const std::string& agent_id,
                                    const std::string& why) {
  auto a = agents.find(agent_id);
  if (a == agents.end())
    return;
  log->warn("agent unreachable agent_id={} reason=\"{}\"", agent_id, why);
  unreachable[agent_id] = unreachable_agent{a->second.info, now()};
  ++metrics.agents_unreachable;
  remove_agent(agent_id, v1::TASK_UNREACHABLE,
               fmt::format("agent {} is unreachable: {}", agent_id, why));
  persist();
}

void master_state::unregister_agent(const std::string& agent_id) {
  if (agents.count(agent_id) == 0)
    return;
  log->info("agent unregistered agent_id={}", agent_id);
  ++metrics.agents_removed;
  remove_agent(agent_id, v1::TASK_GONE,
               fmt::format("agent {} shut down", agent_id));
  persist();
}

void master_state::reregister_timeout() {
  for (auto& [id, info] : recovering_agents) {
    log->warn("agent did not re-register after master failover "
              "agent_id={}",
              id);
    unreachable[id] = unreachable_agent{info, now()};
    ++metrics.agents_unreachable;
  }
  if (!recovering_agents.empty()) {
    recovering_agents.clear();
    persist();
  }
}

} // namespace dcos::kernel
