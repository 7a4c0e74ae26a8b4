// Framework lifecycle: SUBSCRIBE and re-subscription, UPDATE_FRAMEWORK,
// disconnection and failover, teardown and removal, SUPPRESS and REVIVE,
// REQUEST, heartbeats.
#include <cmath>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/mesos_defaults.hpp"
#include "dcos/role.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

// Checks a FrameworkInfo and fills in the roles it effectively asks for.
caf::error
validate(v1::FrameworkInfo& info, const std::vector<std::string>& allowed_roles,
         const google::protobuf::RepeatedPtrField<std::string>& suppressed) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (info.has_role()) {
    if (info.roles_size() > 0)
      return invalid("framework_info: 'role' and 'roles' are both set");
    info.add_roles(info.role());
    info.clear_role();
  }
#pragma GCC diagnostic pop
  if (info.roles_size() == 0)
    info.mutable_roles()->Add(std::string(1, '*'));
  bool multi_role = false;
  for (const auto& cap : info.capabilities())
    multi_role = multi_role
                 || cap.type() == v1::FrameworkInfo::Capability::MULTI_ROLE;
  if (info.roles_size() > 1 && !multi_role)
    return invalid("framework_info.roles: more than one role needs the "
                   "MULTI_ROLE capability");
  std::set<std::string> seen;
  for (const auto& role : info.roles()) {
    if (auto err = validate_role(role))
      return invalid(fmt::format("framework_info.roles: {}",
                                 describe_reason(err)));
    if (!seen.insert(role).second)
      return invalid(fmt::format("framework_info.roles: '{}' appears twice",
                                 role));
    if (!allowed_roles.empty() && role != "*"
        && std::find(allowed_roles.begin(), allowed_roles.end(), role)
             == allowed_roles.end())
      return invalid(fmt::format("framework_info.roles: role '{}' is not "
                                 "allowed by this master (--roles)",
                                 role));
  }
  for (const auto& role : suppressed)
    if (seen.count(role) == 0)
      return invalid(fmt::format("suppressed_roles: '{}' is not one of the "
                                 "framework's roles",
                                 role));
  auto timeout = failover_timeout_seconds(info);
  if (!std::isfinite(timeout) || timeout < 0)
    return invalid("framework_info.failover_timeout: must be a non-negative "
                   "number of seconds");
  return {};
}

// Mesos' rule for a known framework's new info (re-subscription and
// UPDATE_FRAMEWORK): its principal, user and checkpointing stay.
caf::error validate_update(const v1::FrameworkInfo& old_info,
                           const v1::FrameworkInfo& new_info) {
  if (old_info.has_principal() != new_info.has_principal()
      || old_info.principal() != new_info.principal())
    return invalid("framework_info.principal: changing a framework's "
                   "principal is not allowed");
  if (old_info.user() != new_info.user())
    return invalid(fmt::format("framework_info.user: updating it is "
                               "unsupported; attempted to update from '{}' "
                               "to '{}'",
                               old_info.user(), new_info.user()));
  if (old_info.checkpoint() != new_info.checkpoint())
    return invalid(fmt::format("framework_info.checkpoint: updating it is "
                               "unsupported; attempted to update from {} to "
                               "{}",
                               old_info.checkpoint(), new_info.checkpoint()));
  return {};
}

} // namespace

bool framework_record::has_capability(
  v1::FrameworkInfo::Capability::Type type) const {
  for (const auto& cap : info.capabilities())
    if (cap.type() == type)
      return true;
  return false;
}

void framework_record::set_info(v1::FrameworkInfo new_info,
                                const std::vector<std::string>& suppressed) {
  info = std::move(new_info);
  roles.assign(info.roles().begin(), info.roles().end());
  suppressed_roles = {suppressed.begin(), suppressed.end()};
  partition_aware
    = has_capability(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  killing_state
    = has_capability(v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
}

framework_record* master_state::find_framework(const std::string& id,
                                               std::string_view call_name) {
  auto i = frameworks.find(id);
  if (i == frameworks.end() || !i->second.connected) {
    log->warn("dropping {} from framework {}: not subscribed", call_name, id);
    return nullptr;
  }
  return &i->second;
}

caf::result<call::Event::Subscribed>
master_state::subscribe(const scheduler_actor& handle,
                        const call::Call::Subscribe& call) {
  if (!recovered)
    return make_error(errc::unavailable,
                      "the master is recovering its registry; retry");
  if (!handle)
    return invalid("subscribe: no scheduler handle");
  auto info = call.framework_info();
  if (auto err = validate(info, cfg.roles, call.suppressed_roles()))
    return err;
  std::string id = info.id().value();
  if (!id.empty() && framework_removed_before(id))
    return make_error(errc::conflict,
                      fmt::format("framework {} has been removed", id));
  if (id.empty())
    id = new_id("", next_framework);
  info.mutable_id()->set_value(id);

  std::vector<std::string> roles(info.roles().begin(), info.roles().end());
  std::vector<std::string> suppressed(call.suppressed_roles().begin(),
                                      call.suppressed_roles().end());
  auto existing = frameworks.find(id);
  bool known = existing != frameworks.end();
  if (known && !existing->second.recovered)
    if (auto err = validate_update(existing->second.info, info))
      return err;
  auto& fw = frameworks[id];
  if (known) {
    // Failover: a new scheduler instance (or the same one reconnecting).
    if (fw.connected && fw.handle && fw.handle != handle) {
      call::Event::Error error;
      error.set_message("framework failed over to another scheduler");
      self->send(fw.handle, std::move(error));
    }
    if (fw.handle) {
      self->demonitor(fw.handle.address());
      framework_by_addr.erase(fw.handle.address());
    }
    rescind_framework_offers(fw);
    drop_inverse_offers(id);
    fw.reregistered_time = now();
    log->info("framework re-subscribed framework_id={} name=\"{}\"", id,
              info.name());
  } else {
    fw.registered_time = now();
    log->info("framework subscribed framework_id={} name=\"{}\" roles={}", id,
              info.name(), fmt::join(roles, ","));
  }
  bool was_in_allocator = known; // recovered placeholders are there too
  fw.set_info(info, suppressed);
  fw.handle = handle;
  fw.connected = true;
  fw.active = true;
  fw.recovered = false;
  fw.unregistered_time = 0;
  ++fw.failover_generation; // a pending failover timeout no longer applies
  persist(); // a later leader knows it, and that it has a scheduler
  self->monitor(handle);
  framework_by_addr[handle.address()] = id;
  framework_changed(fw, known ? v1::master::Event::FRAMEWORK_UPDATED
                              : v1::master::Event::FRAMEWORK_ADDED);

  if (was_in_allocator) {
    self->send(allocator, alloc::update_framework{id, roles, suppressed});
    self->send(allocator, alloc::activate_framework{id, true});
  } else {
    alloc::add_framework add{id, roles, suppressed, true, {}};
    self->send(allocator, std::move(add));
  }

  call::Event::Subscribed reply;
  reply.mutable_framework_id()->set_value(id);
  reply.set_heartbeat_interval_seconds(
    std::chrono::duration<double>(cfg.framework_heartbeat_interval).count());
  *reply.mutable_master_info() = master_info();
  return reply;
}

void master_state::disconnect_framework(const std::string& id) {
  auto i = frameworks.find(id);
  if (i == frameworks.end() || !i->second.connected)
    return;
  auto& fw = i->second;
  fw.connected = false;
  fw.active = false;
  fw.unregistered_time = now();
  self->send(allocator, alloc::activate_framework{id, false});
  rescind_framework_offers(fw);
  drop_inverse_offers(id);
  log->info("framework disconnected framework_id={} failover_timeout={}s", id,
            failover_timeout_seconds(fw.info));
  start_failover_timeout(fw);
  persist(); // its timeout keeps running under a later leader
}

void master_state::start_failover_timeout(framework_record& fw) {
  auto deadline = fw.unregistered_time + failover_timeout_seconds(fw.info);
  if (fw.recovered)
    deadline = std::max(deadline,
                        recovered_at
                          + std::chrono::duration<double>(
                              cfg.agent_reregister_timeout)
                              .count());
  auto wait = std::max(0.0, deadline - now());
  self->delayed_send(self,
                     std::chrono::duration_cast<caf::timespan>(
                       std::chrono::duration<double>(wait)),
                     timeout_atom::value, fw.info.id().value(),
                     ++fw.failover_generation);
}

bool master_state::framework_removed_before(const std::string& id) const {
  for (const auto& done : completed_frameworks)
    if (done.info.id().value() == id)
      return true;
  return false;
}

void master_state::failover_expired(const std::string& id,
                                    uint64_t generation) {
  auto i = frameworks.find(id);
  if (i == frameworks.end() || i->second.connected
      || i->second.failover_generation != generation)
    return;
  remove_framework(id, "failover timeout expired");
}

void master_state::remove_framework(const std::string& id,
                                    const std::string& why) {
  auto i = frameworks.find(id);
  if (i == frameworks.end())
    return;
  auto& fw = i->second;
  log->info("removing framework framework_id={} reason=\"{}\"", id, why);
  // Its offers vanish with it: the allocator gets everything back at once.
  for (const auto& offer_id : std::vector<std::string>(fw.offers.begin(),
                                                       fw.offers.end()))
    rescind(offer_id, false);
  drop_inverse_offers(id);
  std::set<std::string> agents_to_tell;
  for (auto& [task_id, task] : fw.tasks) {
    agents_to_tell.insert(task.agent_id);
    if (auto a = agents.find(task.agent_id); a != agents.end())
      a->second.tasks.erase(&task);
    if (!is_terminal(task.state)) {
      task.state = v1::TASK_KILLED;
      record_status(task, master_status(
                            task, v1::TASK_KILLED,
                            v1::TaskStatus::REASON_FRAMEWORK_REMOVED,
                            "framework removed: " + why));
      count_terminal(v1::TASK_KILLED);
    }
  }
  for (auto& [agent_id, agent] : agents) {
    agent.used.erase(id);
    for (auto e = agent.executors.begin(); e != agent.executors.end();) {
      if (e->first.framework_id != id) {
        ++e;
        continue;
      }
      agents_to_tell.insert(agent_id); // what still runs there is ended
      e = agent.executors.erase(e);
    }
    for (auto l = agent.lost_tasks.begin(); l != agent.lost_tasks.end();) {
      if (l->first.first != id) {
        ++l;
        continue;
      }
      agents_to_tell.insert(agent_id);
      l = agent.lost_tasks.erase(l);
    }
    if (agents_to_tell.count(agent_id) > 0 && agent.connected) {
      v1::internal::ShutdownFramework shutdown;
      shutdown.mutable_framework_id()->set_value(id);
      self->send(agent.handle, std::move(shutdown));
    }
  }
  for (auto& [task_id, task] : fw.tasks) {
    fw.completed_tasks.push_back(std::move(task));
    if (fw.completed_tasks.size() > cfg.max_completed_tasks_per_framework)
      fw.completed_tasks.pop_front();
  }
  fw.tasks.clear();
  for (const auto& agent_id : agents_to_tell)
    if (auto a = agents.find(agent_id);
        a != agents.end() && a->second.tasks.empty())
      check_drained(agent_id); // its last tasks were this framework's
  self->send(allocator, alloc::remove_framework{id});
  if (fw.handle) {
    self->demonitor(fw.handle.address());
    framework_by_addr.erase(fw.handle.address());
  }
  fw.connected = false;
  fw.active = false;
  fw.unregistered_time = now();
  ++metrics.frameworks_removed;
  auto info = fw.info;
  completed_frameworks.push_back(std::move(fw));
  if (completed_frameworks.size() > cfg.max_completed_frameworks)
    completed_frameworks.pop_front();
  forget_operations_of_framework(id);
  frameworks.erase(i);
  framework_removed(info);
  persist();
}

void master_state::suppress(const std::string& id,
                            const call::Call::Suppress& call) {
  auto* fw = find_framework(id, "SUPPRESS");
  if (fw == nullptr)
    return;
  std::vector<std::string> roles(call.roles().begin(), call.roles().end());
  for (const auto& role : roles.empty() ? fw->roles : roles)
    fw->suppressed_roles.insert(role);
  self->send(allocator, alloc::suppress{id, std::move(roles)});
}

void master_state::revive(const std::string& id,
                          const call::Call::Revive& call) {
  auto* fw = find_framework(id, "REVIVE");
  if (fw == nullptr)
    return;
  std::vector<std::string> roles(call.roles().begin(), call.roles().end());
  if (roles.empty())
    fw->suppressed_roles.clear();
  for (const auto& role : roles)
    fw->suppressed_roles.erase(role);
  self->send(allocator, alloc::revive{id, std::move(roles)});
}

caf::result<v1::FrameworkInfo>
master_state::update_framework(const std::string& id,
                               const call::Call::UpdateFramework& call) {
  auto i = frameworks.find(id);
  if (i == frameworks.end() || !i->second.connected)
    return make_error(errc::not_found,
                      fmt::format("update_framework: framework {} is not "
                                  "subscribed",
                                  id));
  auto& fw = i->second;
  auto info = call.framework_info();
  if (auto err = validate(info, cfg.roles, call.suppressed_roles()))
    return invalid("Supplied FrameworkInfo is not valid: "
                   + describe_reason(err));
  info.mutable_id()->set_value(id);
  if (auto err = validate_update(fw.info, info))
    return invalid("FrameworkInfo update is not valid: "
                   + describe_reason(err));
  std::vector<std::string> roles(info.roles().begin(), info.roles().end());
  std::vector<std::string> suppressed(call.suppressed_roles().begin(),
                                      call.suppressed_roles().end());
  bool changed = fw.info.SerializeAsString() != info.SerializeAsString();
  log->info("framework updated framework_id={} name=\"{}\" roles={} "
            "suppressed={}",
            id, info.name(), fmt::join(roles, ","),
            fmt::join(suppressed, ","));
  self->send(allocator, alloc::update_framework{id, roles, suppressed});
  fw.set_info(info, suppressed);
  // Offers made to a role the framework no longer has are void.
  std::set<std::string> kept(roles.begin(), roles.end());
  std::vector<std::string> void_offers;
  for (const auto& offer_id : fw.offers)
    if (auto o = offers.find(offer_id);
        o != offers.end() && kept.count(role_of(o->second.amount)) == 0)
      void_offers.push_back(offer_id);
  for (const auto& offer_id : void_offers)
    rescind(offer_id, true);
  if (changed) {
    framework_changed(fw, v1::master::Event::FRAMEWORK_UPDATED);
    persist(); // its new failover timeout, say
  }
  return fw.info;
}

void master_state::request(const std::string& id,
                           const call::Call::Request& call) {
  if (find_framework(id, "REQUEST") == nullptr)
    return;
  // As Mesos' allocator: requests are heard, and have no effect.
  log->info("framework {} requested resources ({} request(s)); requests are "
            "not used for allocation",
            id, call.requests_size());
}

void master_state::heartbeat_frameworks() {
  for (auto& [id, fw] : frameworks)
    if (fw.connected)
      self->send(fw.handle, call::Event::Heartbeat{});
}

} // namespace dcos::kernel
