// The operator's hold on agents: DEACTIVATE_AGENT, REACTIVATE_AGENT,
// DRAIN_AGENT and MARK_AGENT_GONE, with Mesos' rules and answers.
//
// Deactivation and draining belong to the agent id, whatever the agent's
// state (registered, unreachable, or known from the registry only), and are
// kept in the registry: a draining agent that comes back is told again, and
// a deactivated one is not offered. Each call answers once its change is
// durable.
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

using v1::master::Call;
using v1::master::Response;

} // namespace

bool master_state::known_agent(const std::string& agent_id) const {
  return agents.count(agent_id) > 0 || unreachable.count(agent_id) > 0
         || recovering_agents.count(agent_id) > 0;
}

bool master_state::offerable(const agent_record& agent) const {
  return agent.connected
         && deactivated_agents.count(agent.info.id().value()) == 0;
}

void master_state::deactivate(agent_record& agent) {
  if (!agent.active)
    return;
  agent.active = false;
  self->send(allocator,
             alloc::activate_agent{agent.info.id().value(), false});
  rescind_agent_offers(agent);
  rescind_inverse_offers(agent.info.id().value(), false);
}

caf::result<Response>
master_state::deactivate_agent(const Call::DeactivateAgent& call) {
  const auto& id = call.agent_id().value();
  if (!known_agent(id))
    return invalid(
      fmt::format("deactivate_agent.agent_id: unknown agent '{}'", id));
  deactivated_agents.insert(id);
  if (auto a = agents.find(id); a != agents.end())
    deactivate(a->second);
  log->info("agent deactivated by the operator agent_id={}", id);
  auto rp = self->make_response_promise<Response>();
  persist([rp]() mutable { rp.deliver(Response{}); });
  return rp;
}

caf::result<Response>
master_state::reactivate_agent(const Call::ReactivateAgent& call) {
  const auto& id = call.agent_id().value();
  if (deactivated_agents.count(id) == 0)
    return invalid(fmt::format("reactivate_agent.agent_id: agent '{}' is not "
                               "deactivated",
                               id));
  if (auto d = draining_agents.find(id);
      d != draining_agents.end() && d->second.state() == v1::DRAINING)
    return invalid(fmt::format("reactivate_agent.agent_id: agent '{}' is "
                               "still in the DRAINING state",
                               id));
  deactivated_agents.erase(id);
  draining_agents.erase(id);
  if (auto a = agents.find(id); a != agents.end()) {
    a->second.drain_started = 0;
    if (offerable(a->second)) {
      a->second.active = true;
      self->send(allocator, alloc::activate_agent{id, true});
    }
  }
  log->info("agent reactivated by the operator agent_id={}", id);
  auto rp = self->make_response_promise<Response>();
  persist([rp]() mutable { rp.deliver(Response{}); });
  return rp;
}

caf::result<Response>
master_state::drain_agent(const Call::DrainAgent& call) {
  const auto& id = call.agent_id().value();
  if (!known_agent(id))
    return invalid(fmt::format("drain_agent.agent_id: unknown agent '{}'", id));
  v1::DrainConfig config;
  if (call.has_max_grace_period()) {
    const auto& d = call.max_grace_period();
    if (d.seconds() < 0 || d.nanos() < 0)
      return invalid("drain_agent.max_grace_period: must not be negative");
    config.mutable_max_grace_period()->set_nanoseconds(
      d.seconds() * 1'000'000'000 + d.nanos());
  }
  config.set_mark_gone(call.mark_gone());
  // Again on a draining agent: the new configuration replaces the old, as
  // in Mesos.
  auto& info = draining_agents[id];
  info.set_state(v1::DRAINING);
  *info.mutable_config() = config;
  deactivated_agents.insert(id);
  log->info("agent draining agent_id={}{}{}", id,
            config.has_max_grace_period()
              ? fmt::format(" max_grace_period={}s",
                            config.max_grace_period().nanoseconds() / 1e9)
              : std::string{},
            config.mark_gone() ? " mark_gone" : "");
  auto rp = self->make_response_promise<Response>();
  persist([this, rp, id]() mutable {
    rp.deliver(Response{});
    // Killing starts once the drain is durable: a master failover in
    // between must not leave tasks killed by a drain nobody remembers.
    if (auto a = agents.find(id); a != agents.end()) {
      deactivate(a->second);
      start_draining(a->second);
    }
  });
  return rp;
}

void master_state::start_draining(agent_record& agent) {
  const auto& id = agent.info.id().value();
  auto d = draining_agents.find(id);
  if (d == draining_agents.end() || d->second.state() != v1::DRAINING)
    return;
  if (agent.drain_started == 0)
    agent.drain_started = now();
  v1::internal::DrainAgent msg;
  *msg.mutable_config() = d->second.config();
  self->send(agent.handle, std::move(msg));
  check_drained(id);
}

void master_state::check_drained(const std::string& agent_id) {
  auto d = draining_agents.find(agent_id);
  auto a = agents.find(agent_id);
  if (d == draining_agents.end() || d->second.state() != v1::DRAINING
      || a == agents.end() || !a->second.tasks.empty()
      || !a->second.lost_tasks.empty() || marking_gone.count(agent_id) > 0)
    return;
  if (d->second.config().mark_gone()) {
    log->info("agent drained; marking it gone agent_id={}", agent_id);
    marking_gone.insert(agent_id);
    gone_agents.insert(agent_id);
    persist([this, agent_id] { agent_gone(agent_id); });
    return;
  }
  log->info("agent drained agent_id={}", agent_id);
  d->second.set_state(v1::DRAINED);
  persist();
}

caf::result<Response>
master_state::mark_agent_gone(const Call::MarkAgentGone& call) {
  const auto& id = call.agent_id().value();
  if (gone_agents.count(id) > 0 && marking_gone.count(id) == 0)
    return Response{}; // already gone: nothing to do, as in Mesos
  if (marking_gone.count(id) > 0)
    return make_error(errc::unavailable,
                      fmt::format("agent '{}' is already being marked gone",
                                  id));
  if (!known_agent(id))
    return make_error(errc::not_found,
                      fmt::format("mark_agent_gone.agent_id: agent '{}' not "
                                  "found",
                                  id));
  log->info("agent marked gone by the operator agent_id={}", id);
  marking_gone.insert(id);
  gone_agents.insert(id);
  auto rp = self->make_response_promise<Response>();
  persist([this, rp, id]() mutable {
    agent_gone(id);
    rp.deliver(Response{});
  });
  return rp;
}

void master_state::agent_gone(const std::string& agent_id) {
  marking_gone.erase(agent_id);
  deactivated_agents.erase(agent_id);
  draining_agents.erase(agent_id);
  const std::string why = fmt::format("agent {} was marked gone", agent_id);
  if (auto a = agents.find(agent_id); a != agents.end()) {
    // It must stop, and kill what it still runs.
    if (a->second.handle)
      self->send(a->second.handle, shutdown_atom::value, why);
    ++metrics.agents_removed;
    remove_agent(agent_id, v1::TASK_GONE_BY_OPERATOR, why,
                 v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR);
  } else if (unreachable.erase(agent_id) > 0) {
    // Its tasks, unreachable until now, are gone for good.
    for (auto& [fw_id, fw] : frameworks) {
      std::vector<std::string> gone;
      for (const auto& [task_id, task] : fw.tasks)
        if (task.agent_id == agent_id && task.state == v1::TASK_UNREACHABLE)
          gone.push_back(task_id);
      for (const auto& task_id : gone) {
        auto& task = fw.tasks[task_id];
        auto state
          = fw.partition_aware ? v1::TASK_GONE_BY_OPERATOR : v1::TASK_LOST;
        auto status = master_status(
          task, state,
          fw.partition_aware ? v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR
                             : v1::TaskStatus::REASON_AGENT_REMOVED,
          why);
        task.state = state;
        record_status(task, status);
        count_terminal(state);
        send_update(fw, std::move(status));
        complete_task(fw, task_id);
      }
    }
  } else {
    // Known from the registry only: nothing of it to tell (as Mesos).
    recovering_agents.erase(agent_id);
  }
  persist();
}

} // namespace dcos::kernel
