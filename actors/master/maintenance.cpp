// Maintenance: the operator's schedule of machines going down, as in Mesos'
// maintenance primitives (UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE,
// STOP_MAINTENANCE, GET_MAINTENANCE_SCHEDULE, GET_MAINTENANCE_STATUS).
//
// A scheduled machine is DRAINING: offers of its agents carry the window's
// unavailability, so that frameworks can move work away in time. Brought
// DOWN, its agents are removed (told to shut down, their tasks gone by
// operator) and refused until the machine is brought UP again, which also
// takes it off the schedule. Schedule and DOWN machines are in the
// registry.
//
// A machine is named by hostname, IP address or both; it matches an agent
// whose advertised hostname is that hostname (or, for a machine named by IP
// only, that IP: agents advertise their IP when they have no hostname).
#include <arpa/inet.h>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

using v1::master::Call;
using v1::master::Response;

// Mesos names a machine in its errors by its JSON.
std::string name_of(const v1::MachineID& id) {
  return to_json(id);
}

caf::error validate_machine(const v1::MachineID& id, const std::string& field) {
  if (id.hostname().empty() && id.ip().empty())
    return invalid(field + ": both 'hostname' and 'ip' are empty");
  in_addr addr;
  if (!id.ip().empty() && inet_pton(AF_INET, id.ip().c_str(), &addr) != 1)
    return invalid(fmt::format("{}.ip: '{}' is not an IPv4 address", field,
                               id.ip()));
  return {};
}

// The machines of a START or STOP call: at least one, each valid, none
// twice.
caf::error
validate_machines(const google::protobuf::RepeatedPtrField<v1::MachineID>& ids,
                  const std::string& field) {
  if (ids.empty())
    return invalid(field + ": the list of machines is empty");
  std::set<std::string> seen;
  for (int i = 0; i < ids.size(); ++i) {
    auto at = fmt::format("{}[{}]", field, i);
    if (auto err = validate_machine(ids[i], at))
      return err;
    if (!seen.insert(machine_key(ids[i])).second)
      return invalid(fmt::format("{}: machine '{}' appears more than once", at,
                                 name_of(ids[i])));
  }
  return {};
}

} // namespace

std::string machine_key(const v1::MachineID& id) {
  return id.hostname() + '\n' + id.ip();
}

const machine_record* master_state::machine_of(const v1::AgentInfo& info) const {
  for (const auto& [key, m] : machines) {
    const auto& id = m.id;
    if (!id.hostname().empty() ? id.hostname() == info.hostname()
                               : id.ip() == info.hostname())
      return &m;
  }
  return nullptr;
}

bool master_state::machine_down(const v1::AgentInfo& info) const {
  const auto* m = machine_of(info);
  return m != nullptr && m->down;
}

caf::result<Response> master_state::update_maintenance_schedule(
  const Call::UpdateMaintenanceSchedule& call) {
  const auto& schedule = call.schedule();
  std::map<std::string, machine_record> next;
  for (int w = 0; w < schedule.windows_size(); ++w) {
    const auto& window = schedule.windows(w);
    auto field = fmt::format("update_maintenance_schedule.schedule.windows[{}]",
                             w);
    if (window.machine_ids().empty())
      return invalid(field + ".machine_ids: the list of machines in the "
                             "maintenance window is empty");
    if (window.unavailability().duration().nanoseconds() < 0)
      return invalid(field + ".unavailability.duration: negative");
    for (int i = 0; i < window.machine_ids_size(); ++i) {
      const auto& id = window.machine_ids(i);
      auto at = fmt::format("{}.machine_ids[{}]", field, i);
      if (auto err = validate_machine(id, at))
        return err;
      auto key = machine_key(id);
      if (next.count(key) > 0)
        return invalid(fmt::format("{}: machine '{}' appears more than once "
                                   "in the schedule",
                                   at, name_of(id)));
      auto& m = next[key];
      m.id = id;
      m.unavailability = window.unavailability();
      if (auto old = machines.find(key); old != machines.end())
        m.down = old->second.down;
    }
  }
  for (const auto& [key, m] : machines)
    if (m.down && next.count(key) == 0)
      return invalid(fmt::format("update_maintenance_schedule.schedule: "
                                 "machine '{}' is DOWN and cannot be removed "
                                 "from the schedule (STOP_MAINTENANCE brings "
                                 "it up)",
                                 name_of(m.id)));
  // What each agent's offers said about its machine, to rescind those the
  // new schedule changes: they come back saying it.
  auto unavailability_of = [this](const agent_record& agent) {
    const auto* m = machine_of(agent.info);
    return m != nullptr ? m->unavailability.SerializeAsString()
                        : std::string{"none"};
  };
  std::unordered_map<std::string, std::string> before;
  for (const auto& [id, agent] : agents)
    before[id] = unavailability_of(agent);
  machines = std::move(next);
  maintenance_schedule = schedule;
  log->info("maintenance schedule updated: {} window(s), {} machine(s)",
            schedule.windows_size(), machines.size());
  for (auto& [id, agent] : agents)
    if (unavailability_of(agent) != before[id]) {
      rescind_agent_offers(agent);
      rescind_inverse_offers(id, true); // new ones ask about the new window
    }
  auto rp = self->make_response_promise<Response>();
  persist([this, rp]() mutable {
    make_inverse_offers();
    arm_inverse_offers();
    rp.deliver(Response{});
  });
  return rp;
}

caf::result<Response>
master_state::start_maintenance(const Call::StartMaintenance& call) {
  if (auto err = validate_machines(call.machines(), "start_maintenance.machines"))
    return err;
  for (int i = 0; i < call.machines_size(); ++i) {
    auto m = machines.find(machine_key(call.machines(i)));
    if (m == machines.end())
      return invalid(fmt::format("start_maintenance.machines[{}]: machine "
                                 "'{}' is not part of a maintenance schedule",
                                 i, name_of(call.machines(i))));
    if (m->second.down)
      return invalid(fmt::format("start_maintenance.machines[{}]: machine "
                                 "'{}' is already DOWN",
                                 i, name_of(call.machines(i))));
  }
  for (const auto& id : call.machines())
    machines[machine_key(id)].down = true;
  auto rp = self->make_response_promise<Response>();
  persist([this, rp]() mutable {
    // Durable first: a master failover must not bring back agents whose
    // tasks were already reported gone.
    std::vector<std::string> down;
    for (const auto& [id, agent] : agents)
      if (machine_down(agent.info))
        down.push_back(id);
    for (const auto& id : down) {
      auto why = fmt::format("agent {} was removed: its machine went down for "
                             "maintenance",
                             id);
      log->info("{}", why);
      if (auto a = agents.find(id); a != agents.end() && a->second.handle)
        self->send(a->second.handle, shutdown_atom::value, why);
      ++metrics.agents_removed;
      remove_agent(id, v1::TASK_GONE_BY_OPERATOR, why,
                   v1::TaskStatus::REASON_AGENT_REMOVED_BY_OPERATOR);
    }
    if (!down.empty())
      persist();
    rp.deliver(Response{});
  });
  return rp;
}

caf::result<Response>
master_state::stop_maintenance(const Call::StopMaintenance& call) {
  if (auto err = validate_machines(call.machines(), "stop_maintenance.machines"))
    return err;
  std::set<std::string> up;
  for (int i = 0; i < call.machines_size(); ++i) {
    auto key = machine_key(call.machines(i));
    auto m = machines.find(key);
    if (m == machines.end() || !m->second.down)
      return invalid(fmt::format("stop_maintenance.machines[{}]: machine '{}' "
                                 "is not DOWN and cannot be brought up",
                                 i, name_of(call.machines(i))));
    up.insert(key);
  }
  // UP machines leave the schedule; so do windows left empty.
  v1::master::MaintenanceSchedule next;
  for (const auto& window : maintenance_schedule.windows()) {
    v1::master::MaintenanceWindow kept;
    *kept.mutable_unavailability() = window.unavailability();
    for (const auto& id : window.machine_ids())
      if (up.count(machine_key(id)) == 0)
        *kept.add_machine_ids() = id;
    if (kept.machine_ids_size() > 0)
      *next.add_windows() = std::move(kept);
  }
  maintenance_schedule = std::move(next);
  for (const auto& key : up)
    machines.erase(key);
  auto rp = self->make_response_promise<Response>();
  persist([rp]() mutable { rp.deliver(Response{}); });
  return rp;
}

v1::master::MaintenanceStatus master_state::maintenance_status() const {
  v1::master::MaintenanceStatus out;
  for (const auto& [key, m] : machines) {
    if (m.down) {
      *out.add_down_machines() = m.id;
      continue;
    }
    auto& draining = *out.add_draining_machines();
    *draining.mutable_id() = m.id;
    // What the frameworks answered for the machine's agents.
    for (const auto& [id, agent] : agents) {
      if (machine_of(agent.info) != &m)
        continue;
      if (auto a = agent_maintenance.find(id); a != agent_maintenance.end())
        for (const auto& [fw_id, status] : a->second.statuses)
          *draining.add_statuses() = status;
    }
  }
  return out;
}

void master_state::load_maintenance(const v1::internal::Registry& reg) {
  maintenance_schedule = reg.schedule();
  for (const auto& window : maintenance_schedule.windows())
    for (const auto& id : window.machine_ids()) {
      auto& m = machines[machine_key(id)];
      m.id = id;
      m.unavailability = window.unavailability();
    }
  for (const auto& id : reg.down_machines())
    if (auto m = machines.find(machine_key(id)); m != machines.end())
      m->second.down = true;
  arm_inverse_offers();
}

void master_state::save_maintenance(v1::internal::Registry& reg) const {
  *reg.mutable_schedule() = maintenance_schedule;
  for (const auto& [key, m] : machines)
    if (m.down)
      *reg.add_down_machines() = m.id;
}

} // namespace dcos::kernel
