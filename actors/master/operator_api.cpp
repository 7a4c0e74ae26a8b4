// The operator API (POST /api/v1 on the HTTP edge): state queries, metrics,
// logging level, weights, quota, operator reservations and teardown (the
// calls on agents are in agent_admin.cpp).
#include <cmath>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/role.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

caf::error not_registered(const std::string& agent_id) {
  return make_error(errc::not_found,
                    fmt::format("agent_id: agent '{}' is not registered",
                                agent_id));
}

using v1::master::Call;
using v1::master::Response;

v1::TimeInfo time_info(double seconds) {
  v1::TimeInfo t;
  t.set_nanoseconds(static_cast<int64_t>(seconds * 1e9));
  return t;
}

// As Mesos' agent pid: its address (its hostname if it did not say).
std::string agent_pid(const agent_record& agent) {
  const auto& info = agent.info;
  return fmt::format("slave(1)@{}:{}",
                     agent.ip.empty() ? info.hostname() : agent.ip,
                     info.has_port() ? info.port() : 5051);
}

} // namespace

Response::GetAgents::Agent
master_state::agent_entry(const agent_record& agent) const {
  Response::GetAgents::Agent a;
  *a.mutable_agent_info() = agent.info;
  a.mutable_agent_info()->clear_resources();
  agent.total.to_proto(a.mutable_agent_info()->mutable_resources());
  a.set_active(agent.active);
  a.set_version(agent.version);
  a.set_pid(agent_pid(agent));
  *a.mutable_registered_time() = time_info(agent.registered_time);
  if (agent.reregistered_time > 0)
    *a.mutable_reregistered_time() = time_info(agent.reregistered_time);
  agent.total.to_proto(a.mutable_total_resources());
  agent.used_total().to_proto(a.mutable_allocated_resources());
  agent.offered(offers).to_proto(a.mutable_offered_resources());
  const auto& id = agent.info.id().value();
  if (deactivated_agents.count(id) > 0)
    a.set_deactivated(true);
  if (auto d = draining_agents.find(id); d != draining_agents.end())
    *a.mutable_drain_info() = d->second;
  if (agent.drain_started > 0)
    *a.mutable_estimated_drain_start_time() = time_info(agent.drain_started);
  return a;
}

Response::GetAgents master_state::get_agents() const {
  Response::GetAgents out;
  for (const auto& [id, agent] : agents)
    *out.add_agents() = agent_entry(agent);
  for (const auto& [id, info] : recovering_agents)
    *out.add_recovered_agents() = info;
  return out;
}

Response::GetFrameworks::Framework
master_state::framework_entry(const framework_record& fw) const {
  Response::GetFrameworks::Framework f;
  *f.mutable_framework_info() = fw.info;
  f.set_active(fw.active);
  f.set_connected(fw.connected);
  f.set_recovered(fw.recovered);
  *f.mutable_registered_time() = time_info(fw.registered_time);
  if (fw.reregistered_time > 0)
    *f.mutable_reregistered_time() = time_info(fw.reregistered_time);
  if (fw.unregistered_time > 0)
    *f.mutable_unregistered_time() = time_info(fw.unregistered_time);
  resources used;
  for (const auto& [agent_id, agent] : agents)
    if (auto u = agent.used.find(fw.info.id().value()); u != agent.used.end())
      used += u->second;
  used.to_proto(f.mutable_allocated_resources());
  resources offered;
  for (const auto& offer_id : fw.offers) {
    auto o = offers.find(offer_id);
    if (o == offers.end())
      continue;
    offered += o->second.amount;
    auto* offer = f.add_offers();
    offer->mutable_id()->set_value(offer_id);
    *offer->mutable_framework_id() = fw.info.id();
    offer->mutable_agent_id()->set_value(o->second.agent_id);
    if (auto a = agents.find(o->second.agent_id); a != agents.end())
      offer->set_hostname(a->second.info.hostname());
    o->second.amount.to_proto(offer->mutable_resources());
  }
  offered.to_proto(f.mutable_offered_resources());
  return f;
}

Response::GetFrameworks master_state::get_frameworks() const {
  Response::GetFrameworks out;
  for (const auto& [id, fw] : frameworks)
    *out.add_frameworks() = framework_entry(fw);
  for (const auto& fw : completed_frameworks)
    *out.add_completed_frameworks() = framework_entry(fw);
  return out;
}

Response::GetTasks master_state::get_tasks() const {
  Response::GetTasks out;
  auto add_all = [&](const framework_record& fw) {
    for (const auto& [id, task] : fw.tasks)
      *(task.state == v1::TASK_UNREACHABLE ? out.add_unreachable_tasks()
                                           : out.add_tasks())
        = task.to_proto();
    for (const auto& task : fw.completed_tasks)
      *out.add_completed_tasks() = task.to_proto();
  };
  for (const auto& [id, fw] : frameworks)
    add_all(fw);
  for (const auto& fw : completed_frameworks)
    add_all(fw);
  return out;
}

Response::GetRoles master_state::get_roles() const {
  std::map<std::string, v1::master::Role> roles;
  auto role = [&](const std::string& name) -> v1::master::Role& {
    auto& r = roles[name];
    if (r.name().empty()) {
      r.set_name(name);
      auto w = weights.find(name);
      r.set_weight(w == weights.end() ? 1.0 : w->second);
    }
    return r;
  };
  std::map<std::string, resources> allocated;
  for (const auto& [id, fw] : frameworks)
    for (const auto& name : fw.roles)
      *role(name).add_frameworks() = fw.info.id();
  for (const auto& [id, agent] : agents) {
    for (const auto& [fw, used] : agent.used)
      for (const auto& r : used)
        allocated[r.allocation_role.empty() ? r.role() : r.allocation_role]
          += r;
    for (const auto& r : agent.total)
      if (r.is_reserved())
        role(r.role());
  }
  for (const auto& [name, weight] : weights)
    role(name);
  for (const auto& [name, config] : quotas)
    *role(name).mutable_quota() = config;
  for (auto& [name, amount] : allocated) {
    amount.to_proto(role(name).mutable_allocated());
    amount.unallocate().to_proto(role(name).mutable_resources());
  }
  Response::GetRoles out;
  for (auto& [name, r] : roles)
    *out.add_roles() = std::move(r);
  return out;
}

Response::GetState master_state::get_state() const {
  Response::GetState out;
  *out.mutable_get_tasks() = get_tasks();
  *out.mutable_get_frameworks() = get_frameworks();
  *out.mutable_get_agents() = get_agents();
  for (const auto& [id, agent] : agents) {
    for (const auto& [key, info] : agent.executors) {
      auto* e = out.mutable_get_executors()->add_executors();
      *e->mutable_executor_info() = info;
      *e->mutable_agent_id() = agent.info.id();
    }
  }
  return out;
}

metrics_snapshot master_state::current_metrics() const {
  metrics_snapshot m;
  auto add = [&](std::string name, double value) {
    add_metric(m, std::move(name), value);
  };
  add("master/uptime_secs",
      std::chrono::duration<double>(self->clock().now() - started_at).count());
  add("master/elected", 1);
  size_t active = 0;
  size_t connected = 0;
  for (const auto& [id, agent] : agents) {
    active += agent.active ? 1 : 0;
    connected += agent.connected ? 1 : 0;
  }
  add("master/slaves_active", static_cast<double>(active));
  add("master/slaves_inactive", static_cast<double>(agents.size() - active));
  add("master/slaves_connected", static_cast<double>(connected));
  add("master/slaves_disconnected",
      static_cast<double>(agents.size() - connected));
  add("master/slaves_unreachable", static_cast<double>(unreachable.size()));
  add("master/slave_registrations",
      static_cast<double>(metrics.agents_registered));
  add("master/slave_reregistrations",
      static_cast<double>(metrics.agents_reregistered));
  add("master/slave_removals", static_cast<double>(metrics.agents_removed));
  add("master/slave_unreachable_completed",
      static_cast<double>(metrics.agents_unreachable));
  size_t fw_active = 0;
  size_t fw_connected = 0;
  std::map<v1::TaskState, size_t> current;
  for (const auto& [id, fw] : frameworks) {
    fw_active += fw.active ? 1 : 0;
    fw_connected += fw.connected ? 1 : 0;
    for (const auto& [task_id, task] : fw.tasks)
      if (!is_terminal(task.state))
        ++current[task.state];
  }
  add("master/frameworks_active", static_cast<double>(fw_active));
  add("master/frameworks_inactive",
      static_cast<double>(frameworks.size() - fw_active));
  add("master/frameworks_connected", static_cast<double>(fw_connected));
  add("master/frameworks_disconnected",
      static_cast<double>(frameworks.size() - fw_connected));
  add("master/frameworks_removed",
      static_cast<double>(metrics.frameworks_removed));
  add("master/operator_event_stream_subscribers",
      static_cast<double>(subscribers.size()));
  for (auto state : {v1::TASK_STAGING, v1::TASK_STARTING, v1::TASK_RUNNING,
                     v1::TASK_KILLING, v1::TASK_UNREACHABLE})
    add(task_state_metric("master/", state),
        static_cast<double>(current[state]));
  for (auto state : {v1::TASK_FINISHED, v1::TASK_FAILED, v1::TASK_KILLED,
                     v1::TASK_LOST, v1::TASK_ERROR, v1::TASK_DROPPED,
                     v1::TASK_GONE, v1::TASK_GONE_BY_OPERATOR}) {
    auto i = metrics.tasks_terminal.find(state);
    add(task_state_metric("master/", state),
        i == metrics.tasks_terminal.end() ? 0.0
                                          : static_cast<double>(i->second));
  }
  resources total;
  resources used;
  for (const auto& [id, agent] : agents) {
    total += agent.total;
    used += agent.used_total();
  }
  auto flat_total = total.flatten();
  auto flat_used = used.flatten();
  for (const char* kind : {"cpus", "mem", "disk", "gpus"}) {
    double t = flat_total.scalar(kind).value_or(0);
    double u = flat_used.scalar(kind).value_or(0);
    add(fmt::format("master/{}_total", kind), t);
    add(fmt::format("master/{}_used", kind), u);
    add(fmt::format("master/{}_percent", kind), t > 0 ? u / t : 0.0);
  }
  add("master/outstanding_offers", static_cast<double>(offers.size()));
  add("master/valid_status_updates",
      static_cast<double>(metrics.valid_status_updates));
  add("master/invalid_status_updates",
      static_cast<double>(metrics.invalid_status_updates));
  add("master/messages_launch_tasks",
      static_cast<double>(metrics.tasks_launched));
  add("master/invalid_launches", static_cast<double>(metrics.invalid_launches));
  add("master/offers_sent", static_cast<double>(metrics.offers_sent));
  add("master/offers_declined", static_cast<double>(metrics.offers_declined));
  add("master/offers_accepted", static_cast<double>(metrics.offers_accepted));
  add("master/offers_rescinded", static_cast<double>(metrics.offers_rescinded));
  return m;
}

caf::result<Response>
master_state::operator_convert(const std::string& agent_id,
                               caf::expected<conversion> conv) {
  if (!conv)
    return conv.error();
  auto a = agents.find(agent_id);
  if (a == agents.end())
    return not_registered(agent_id);
  // Offered resources may be needed: take the agent's offers back first.
  rescind_agent_offers(a->second);
  auto rp = self->make_response_promise<Response>();
  auto from = conv->from.unallocate();
  auto to = conv->to.unallocate();
  self->request(allocator, caf::infinite, alloc::convert_free{agent_id, from, to})
    .then(
      [this, rp, agent_id, from, to](bool applied) mutable {
        auto a = agents.find(agent_id);
        if (!applied || a == agents.end()) {
          rp.deliver(make_error(errc::conflict,
                                fmt::format("resources: {} are not free on "
                                            "agent {}",
                                            from.to_string(), agent_id)));
          return;
        }
        a->second.total -= from;
        a->second.total += to;
        checkpoint_resources(a->second);
        rp.deliver(Response{});
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<Response>
master_state::update_weights(const Call::UpdateWeights& call) {
  alloc::set_weights set;
  for (int i = 0; i < call.weight_infos_size(); ++i) {
    const auto& w = call.weight_infos(i);
    if (!w.has_role())
      return invalid(fmt::format("update_weights.weight_infos[{}].role: "
                                 "missing",
                                 i));
    if (auto err = validate_role(w.role()); err || w.role() == "*")
      return invalid(fmt::format("update_weights.weight_infos[{}].role: '{}' "
                                 "cannot have a weight",
                                 i, w.role()));
    if (!std::isfinite(w.weight()) || w.weight() <= 0)
      return invalid(fmt::format("update_weights.weight_infos[{}].weight: "
                                 "must be a positive number",
                                 i));
    set.weights.emplace_back(w.role(), w.weight());
  }
  for (auto& [role, weight] : set.weights)
    weights[role] = weight;
  self->send(allocator, std::move(set));
  auto rp = self->make_response_promise<Response>();
  persist([rp]() mutable { rp.deliver(Response{}); });
  return rp;
}

caf::result<Response>
master_state::update_quota(const Call::UpdateQuota& call) {
  std::map<std::string, v1::master::QuotaConfig> next = quotas;
  for (int i = 0; i < call.quota_configs_size(); ++i) {
    const auto& config = call.quota_configs(i);
    auto field = fmt::format("update_quota.quota_configs[{}]", i);
    if (auto err = validate_role(config.role());
        err || config.role() == "*")
      return invalid(fmt::format("{}.role: '{}' cannot have quota", field,
                                 config.role()));
    for (const auto* map : {&config.guarantees(), &config.limits()})
      for (const auto& [name, scalar] : *map)
        if (name.empty() || !std::isfinite(scalar.value())
            || scalar.value() < 0)
          return invalid(fmt::format("{}: '{}' needs a non-negative amount",
                                     field, name));
    for (const auto& [name, guarantee] : config.guarantees()) {
      auto limit = config.limits().find(name);
      if (limit != config.limits().end()
          && guarantee.value() > limit->second.value())
        return invalid(fmt::format("{}: guarantee of {} ({}) exceeds its "
                                   "limit ({})",
                                   field, name, guarantee.value(),
                                   limit->second.value()));
    }
    if (config.guarantees().empty() && config.limits().empty())
      next.erase(config.role());
    else
      next[config.role()] = config;
  }
  if (!call.force()) {
    // Guarantees that the cluster cannot hold are refused unless forced.
    resources total;
    for (const auto& [id, agent] : agents)
      total += agent.total;
    auto flat = total.flatten();
    std::map<std::string, double> sum;
    for (const auto& [role, config] : next)
      for (const auto& [name, scalar] : config.guarantees())
        sum[name] += scalar.value();
    for (const auto& [name, value] : sum)
      if (value > flat.scalar(name).value_or(0) + 1e-9)
        return make_error(errc::conflict,
                          fmt::format("quota guarantees overcommit the "
                                      "cluster: total guarantees of {} "
                                      "({}) exceed the cluster's {} (set "
                                      "'force' to allow)",
                                      name, value,
                                      flat.scalar(name).value_or(0)));
  }
  for (int i = 0; i < call.quota_configs_size(); ++i) {
    const auto& config = call.quota_configs(i);
    alloc::set_quota set{config.role(), {}, {}};
    for (const auto& [name, scalar] : config.guarantees())
      set.guarantees[name] = to_milli(scalar.value());
    for (const auto& [name, scalar] : config.limits())
      set.limits[name] = to_milli(scalar.value());
    self->send(allocator, std::move(set));
  }
  quotas = std::move(next);
  auto rp = self->make_response_promise<Response>();
  persist([rp]() mutable { rp.deliver(Response{}); });
  return rp;
}

caf::result<Response> master_state::set_quota(const Call::SetQuota& call) {
  // Mesos' rules for the older call, then the same path as UPDATE_QUOTA
  // with limits equal to the guarantees (as Mesos 1.9 and later store it).
  const auto& request = call.quota_request();
  const auto& role = request.role();
  if (auto err = validate_role(role); err || role == "*")
    return invalid(fmt::format("set_quota.quota_request.role: '{}' cannot "
                               "have quota",
                               role));
  if (role.find('/') != std::string::npos)
    return invalid(fmt::format("set_quota.quota_request.role: setting quota "
                               "on nested role '{}' is not supported",
                               role));
  if (quotas.count(role) > 0)
    return invalid(fmt::format("set_quota.quota_request.role: role '{}' "
                               "already has quota (use UPDATE_QUOTA to "
                               "change it)",
                               role));
  v1::master::QuotaConfig config;
  config.set_role(role);
  for (int i = 0; i < request.guarantee_size(); ++i) {
    const auto& r = request.guarantee(i);
    auto field = fmt::format("set_quota.quota_request.guarantee[{}]", i);
    if (r.name().empty())
      return invalid(field + ".name: missing");
    if (r.type() != v1::Value::SCALAR || !r.has_scalar())
      return invalid(fmt::format("{}: '{}' must be a scalar", field, r.name()));
    if (!std::isfinite(r.scalar().value()) || r.scalar().value() < 0)
      return invalid(fmt::format("{}: '{}' needs a non-negative amount",
                                 field, r.name()));
    if (r.reservations_size() > 0 || r.has_disk())
      return invalid(fmt::format("{}: '{}' must be a plain amount, without "
                                 "reservations or disk information",
                                 field, r.name()));
    if (config.guarantees().count(r.name()) > 0)
      return invalid(fmt::format("{}: '{}' is named twice", field, r.name()));
    (*config.mutable_guarantees())[r.name()] = r.scalar();
  }
  if (config.guarantees().empty())
    return invalid("set_quota.quota_request.guarantee: empty");
  *config.mutable_limits() = config.guarantees();
  Call::UpdateQuota update;
  update.set_force(request.force());
  *update.add_quota_configs() = std::move(config);
  return update_quota(update);
}

caf::result<Response>
master_state::remove_quota(const Call::RemoveQuota& call) {
  if (quotas.count(call.role()) == 0)
    return invalid(fmt::format("remove_quota.role: role '{}' has no quota set",
                               call.role()));
  Call::UpdateQuota update;
  update.set_force(true); // less quota cannot overcommit anything
  update.add_quota_configs()->set_role(call.role());
  return update_quota(update);
}

caf::result<Response> master_state::teardown(const Call::Teardown& call) {
  const auto& id = call.framework_id().value();
  if (frameworks.count(id) == 0)
    return invalid(fmt::format("teardown.framework_id: no framework with id "
                               "'{}'",
                               id));
  // The scheduler hears why before its subscription ends (an HTTP
  // framework's stream closes after the ERROR).
  send_error(id, "Framework has been removed by the operator");
  remove_framework(id, "torn down by the operator");
  return Response{};
}

caf::result<Response>
master_state::set_logging_level(const Call::SetLoggingLevel& call) {
  if (!call.has_duration() || call.duration().nanoseconds() <= 0)
    return invalid("set_logging_level.duration: must be positive");
  log->info("logging verbosity set to {} for {}s", call.level(),
            call.duration().nanoseconds() / 1e9);
  // A later call replaces this one's revert timer.
  self->delayed_send(self, caf::timespan{call.duration().nanoseconds()},
                     logging_atom::value, verbosity.set(call.level()));
  return Response{};
}

void master_state::logging_level_expired(uint64_t generation) {
  if (verbosity.expire(generation))
    log->info("logging verbosity reverted to 0");
}

caf::result<Response> master_state::operator_call(const Call& call) {
  Response out;
  switch (call.type()) {
    case Call::GET_HEALTH:
      out.set_type(Response::GET_HEALTH);
      out.mutable_get_health()->set_healthy(true);
      return out;
    case Call::GET_VERSION:
      out.set_type(Response::GET_VERSION);
      out.mutable_get_version()->mutable_version_info()->set_version(
        cfg.version);
      return out;
    case Call::GET_FLAGS: // the daemon's, known to its HTTP edge
    case Call::LIST_FILES: // the agents', through the HTTP edge
    case Call::READ_FILE:
      return invalid(fmt::format("{} is answered by the master's HTTP "
                                 "endpoint, POST /api/v1",
                                 Call::Type_Name(call.type())));
    case Call::GET_LOGGING_LEVEL:
      out.set_type(Response::GET_LOGGING_LEVEL);
      out.mutable_get_logging_level()->set_level(verbosity.level());
      return out;
    case Call::SET_LOGGING_LEVEL:
      return set_logging_level(call.set_logging_level());
    case Call::GET_METRICS: {
      auto rp = self->make_response_promise<Response>();
      auto snapshot = current_metrics();
      self->request(allocator, caf::infinite, metrics_atom::value)
        .then(
          [rp, snapshot](const alloc::allocator_stats& stats) mutable {
            auto add = [&](std::string name, double value) {
              add_metric(snapshot, std::move(name), value);
            };
            add("allocator/allocation_runs",
                static_cast<double>(stats.allocation_runs));
            add("allocator/allocation_run_ms", stats.last_run_ms);
            add("allocator/allocation_run_ms_total", stats.total_run_ms);
            add("allocator/offers_made", static_cast<double>(stats.offers_made));
            add("allocator/event_queue_dispatches",
                static_cast<double>(stats.events));
            add("allocator/offer_filters/active",
                static_cast<double>(stats.filters_active));
            Response out;
            out.set_type(Response::GET_METRICS);
            *out.mutable_get_metrics() = std::move(snapshot);
            rp.deliver(std::move(out));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    }
    case Call::GET_STATE:
      out.set_type(Response::GET_STATE);
      *out.mutable_get_state() = get_state();
      return out;
    case Call::GET_AGENTS:
      out.set_type(Response::GET_AGENTS);
      *out.mutable_get_agents() = get_agents();
      return out;
    case Call::GET_FRAMEWORKS:
      out.set_type(Response::GET_FRAMEWORKS);
      *out.mutable_get_frameworks() = get_frameworks();
      return out;
    case Call::GET_EXECUTORS:
      out.set_type(Response::GET_EXECUTORS);
      *out.mutable_get_executors() = get_state().get_executors();
      return out;
    case Call::GET_TASKS:
      out.set_type(Response::GET_TASKS);
      *out.mutable_get_tasks() = get_tasks();
      return out;
    case Call::GET_OPERATIONS:
      out.set_type(Response::GET_OPERATIONS);
      *out.mutable_get_operations() = get_operations();
      return out;
    case Call::GET_ROLES:
      out.set_type(Response::GET_ROLES);
      *out.mutable_get_roles() = get_roles();
      return out;
    case Call::GET_WEIGHTS:
      out.set_type(Response::GET_WEIGHTS);
      for (const auto& [role, weight] : weights) {
        auto* w = out.mutable_get_weights()->add_weight_infos();
        w->set_role(role);
        w->set_weight(weight);
      }
      return out;
    case Call::GET_MASTER:
      out.set_type(Response::GET_MASTER);
      *out.mutable_get_master()->mutable_master_info() = master_info();
      out.mutable_get_master()->set_start_time(cfg.start_time);
      out.mutable_get_master()->set_elected_time(cfg.start_time);
      return out;
    case Call::GET_QUOTA:
      out.set_type(Response::GET_QUOTA);
      for (const auto& [role, config] : quotas)
        *out.mutable_get_quota()->mutable_status()->add_configs() = config;
      return out;
    case Call::UPDATE_WEIGHTS:
      return update_weights(call.update_weights());
    case Call::UPDATE_QUOTA:
      return update_quota(call.update_quota());
    case Call::GET_MAINTENANCE_SCHEDULE:
      out.set_type(Response::GET_MAINTENANCE_SCHEDULE);
      *out.mutable_get_maintenance_schedule()->mutable_schedule()
        = maintenance_schedule;
      return out;
    case Call::GET_MAINTENANCE_STATUS:
      out.set_type(Response::GET_MAINTENANCE_STATUS);
      *out.mutable_get_maintenance_status()->mutable_status()
        = maintenance_status();
      return out;
    case Call::UPDATE_MAINTENANCE_SCHEDULE:
      return update_maintenance_schedule(call.update_maintenance_schedule());
    case Call::START_MAINTENANCE:
      return start_maintenance(call.start_maintenance());
    case Call::STOP_MAINTENANCE:
      return stop_maintenance(call.stop_maintenance());
    case Call::SET_QUOTA:
      return set_quota(call.set_quota());
    case Call::REMOVE_QUOTA:
      return remove_quota(call.remove_quota());
    case Call::TEARDOWN:
      return teardown(call.teardown());
    case Call::DRAIN_AGENT:
      return drain_agent(call.drain_agent());
    case Call::DEACTIVATE_AGENT:
      return deactivate_agent(call.deactivate_agent());
    case Call::REACTIVATE_AGENT:
      return reactivate_agent(call.reactivate_agent());
    case Call::MARK_AGENT_GONE:
      return mark_agent_gone(call.mark_agent_gone());
    case Call::RESERVE_RESOURCES:
      return operator_convert(
        call.reserve_resources().agent_id().value(),
        validate_reserve(call.reserve_resources().resources(), nullptr, ""));
    case Call::UNRESERVE_RESOURCES:
      return operator_convert(
        call.unreserve_resources().agent_id().value(),
        validate_unreserve(call.unreserve_resources().resources(), nullptr,
                           ""));
    case Call::CREATE_VOLUMES: {
      const auto& id = call.create_volumes().agent_id().value();
      auto a = agents.find(id);
      if (a == agents.end())
        return not_registered(id);
      return operator_convert(
        id, validate_create(call.create_volumes().volumes(), a->second, ""));
    }
    case Call::DESTROY_VOLUMES:
      return operator_convert(
        call.destroy_volumes().agent_id().value(),
        validate_destroy(call.destroy_volumes().volumes(), ""));
    case Call::GROW_VOLUME:
      return operator_convert(call.grow_volume().agent_id().value(),
                              validate_grow(call.grow_volume().volume(),
                                            call.grow_volume().addition()));
    case Call::SHRINK_VOLUME:
      return operator_convert(call.shrink_volume().agent_id().value(),
                              validate_shrink(call.shrink_volume().volume(),
                                              call.shrink_volume().subtract()));
    case Call::SUBSCRIBE:
      // Its answer is a stream, which one reply cannot be.
      return invalid("type: SUBSCRIBE is answered by a stream: send "
                     "(subscribe_atom, master_subscriber_actor) instead");
    default:
      return invalid(fmt::format("type: {} is not a supported call",
                                 Call::Type_Name(call.type()).empty()
                                   ? std::to_string(call.type())
                                   : Call::Type_Name(call.type())));
  }
}

} // namespace dcos::kernel
