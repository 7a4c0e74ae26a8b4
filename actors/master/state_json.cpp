#include "state_json.hpp"

#include <map>

#include <fmt/format.h>

#include "dcos/json.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/mesos_json.hpp"
#include "dcos/resources.hpp"

namespace dcos::kernel {

namespace {

double seconds(const v1::TimeInfo& t) {
  return static_cast<double>(t.nanoseconds()) / 1e9;
}

void write_task(json_writer& w, const v1::Task& t, const std::string& role) {
  w.begin_object();
  w.field("id", t.task_id().value());
  w.field("name", t.name());
  w.field("framework_id", t.framework_id().value());
  w.field("executor_id", t.executor_id().value());
  w.field("slave_id", t.agent_id().value());
  w.field("state", v1::TaskState_Name(t.state()));
  w.key("resources");
  write_resources_object(w, t.resources());
  w.field("role", role);
  w.key("statuses").begin_array();
  for (const auto& s : t.statuses())
    write_status_entry(w, s);
  w.end_array();
  if (t.has_labels()) {
    w.key("labels").begin_array();
    for (const auto& label : t.labels().labels()) {
      w.begin_object().field("key", label.key());
      if (label.has_value())
        w.field("value", label.value());
      w.end_object();
    }
    w.end_array();
  }
  if (t.has_discovery())
    w.key("discovery").raw(to_json(t.discovery()));
  if (t.has_container())
    w.key("container").raw(to_json(t.container()));
  if (t.has_health_check())
    w.key("health_check").raw(to_json(t.health_check()));
  if (t.has_check())
    w.key("check").raw(to_json(t.check()));
  w.end_object();
}

} // namespace

std::string legacy_state_json(
  const v1::master::Response::GetState& state,
  const v1::master::Response::GetMaster& master,
  const std::vector<std::pair<std::string, std::string>>& flags) {
  json_writer w;
  const auto& info = master.master_info();
  w.begin_object();
  w.field("version", info.version());
  w.field("id", info.id());
  w.field("pid", info.pid());
  w.field("hostname", info.hostname());
  w.field("start_time", master.start_time());
  w.field("elected_time", master.elected_time());
  w.field("leader", info.pid());
  w.key("leader_info").raw(to_json(info));
  int active = 0;
  for (const auto& a : state.get_agents().agents())
    active += a.active() ? 1 : 0;
  w.field("activated_slaves", active);
  w.field("deactivated_slaves", state.get_agents().agents_size() - active);
  w.key("flags").begin_object();
  for (const auto& [name, value] : flags)
    w.field(name, value);
  w.end_object();

  w.key("slaves").begin_array();
  for (const auto& a : state.get_agents().agents()) {
    const auto& ai = a.agent_info();
    w.begin_object();
    w.field("id", ai.id().value());
    w.field("pid", a.pid());
    w.field("hostname", ai.hostname());
    w.field("port", static_cast<int64_t>(ai.has_port() ? ai.port() : 5051));
    w.field("registered_time", seconds(a.registered_time()));
    if (a.has_reregistered_time())
      w.field("reregistered_time", seconds(a.reregistered_time()));
    w.key("resources");
    write_resources_object(w, a.total_resources());
    w.key("used_resources");
    write_resources_object(w, a.allocated_resources());
    w.key("offered_resources");
    write_resources_object(w, a.offered_resources());
    auto total = resources::from_proto(a.total_resources());
    w.key("reserved_resources").begin_object();
    if (total) {
      std::map<std::string, google::protobuf::RepeatedPtrField<v1::Resource>>
        by_role;
      for (const auto& r : total->reserved())
        *by_role[r.role()].Add() = resources::entry_to_proto(r);
      for (auto& [role, rs] : by_role) {
        w.key(role);
        write_resources_object(w, rs);
      }
    }
    w.end_object();
    w.key("unreserved_resources");
    google::protobuf::RepeatedPtrField<v1::Resource> unreserved;
    if (total)
      total->unreserved().to_proto(&unreserved);
    write_resources_object(w, unreserved);
    w.key("attributes");
    write_attributes_object(w, ai.attributes());
    w.field("active", a.active());
    // As Mesos 1.9 and later write an agent's maintenance.
    w.field("deactivated", a.deactivated());
    if (a.has_drain_info())
      w.key("drain_info").raw(to_json(a.drain_info()));
    if (a.has_estimated_drain_start_time())
      w.field("estimated_drain_start_time_seconds",
              seconds(a.estimated_drain_start_time()));
    w.field("version", a.version());
    if (ai.has_domain())
      w.key("domain").raw(to_json(ai.domain()));
    w.end_object();
  }
  w.end_array();

  // Tasks by framework.
  std::map<std::string, std::vector<const v1::Task*>> tasks, unreachable,
    completed;
  const auto& all = state.get_tasks();
  for (const auto& t : all.tasks())
    tasks[t.framework_id().value()].push_back(&t);
  for (const auto& t : all.unreachable_tasks())
    unreachable[t.framework_id().value()].push_back(&t);
  for (const auto& t : all.completed_tasks())
    completed[t.framework_id().value()].push_back(&t);
  auto write_framework = [&](const v1::master::Response::GetFrameworks::
                               Framework& f) {
    const auto& fi = f.framework_info();
    const auto& id = fi.id().value();
    auto role = fi.roles_size() > 0 ? fi.roles(0) : std::string{"*"};
    w.begin_object();
    w.field("id", id);
    w.field("name", fi.name());
    w.field("user", fi.user());
    w.field("hostname", fi.hostname());
    w.field("webui_url", fi.webui_url());
    w.field("principal", fi.principal());
    w.field("role", role);
    w.key("roles").begin_array();
    for (const auto& r : fi.roles())
      w.value(r);
    w.end_array();
    w.key("capabilities").begin_array();
    for (const auto& c : fi.capabilities())
      w.value(v1::FrameworkInfo::Capability::Type_Name(c.type()));
    w.end_array();
    w.field("failover_timeout", fi.failover_timeout());
    w.field("checkpoint", fi.checkpoint());
    w.field("active", f.active());
    w.field("connected", f.connected());
    w.field("recovered", f.recovered());
    w.field("registered_time", seconds(f.registered_time()));
    w.field("reregistered_time", seconds(f.reregistered_time()));
    w.field("unregistered_time", seconds(f.unregistered_time()));
    w.key("used_resources");
    write_resources_object(w, f.allocated_resources());
    w.key("resources");
    write_resources_object(w, f.allocated_resources());
    w.key("offered_resources");
    write_resources_object(w, f.offered_resources());
    for (auto [name, source] :
         {std::pair{"tasks", &tasks}, std::pair{"unreachable_tasks",
                                                 &unreachable},
          std::pair{"completed_tasks", &completed}}) {
      w.key(name).begin_array();
      if (auto i = source->find(id); i != source->end())
        for (const auto* t : i->second)
          write_task(w, *t, role);
      w.end_array();
    }
    w.key("offers").begin_array();
    for (const auto& o : f.offers()) {
      w.begin_object();
      w.field("id", o.id().value());
      w.field("framework_id", o.framework_id().value());
      w.field("slave_id", o.agent_id().value());
      w.key("resources");
      write_resources_object(w, o.resources());
      w.end_object();
    }
    w.end_array();
    w.key("executors").begin_array();
    for (const auto& e : state.get_executors().executors()) {
      if (e.executor_info().framework_id().value() != id)
        continue;
      w.begin_object();
      w.field("executor_id", e.executor_info().executor_id().value());
      w.field("name", e.executor_info().name());
      w.field("slave_id", e.agent_id().value());
      w.key("resources");
      write_resources_object(w, e.executor_info().resources());
      w.end_object();
    }
    w.end_array();
    w.end_object();
  };
  w.key("frameworks").begin_array();
  for (const auto& f : state.get_frameworks().frameworks())
    write_framework(f);
  w.end_array();
  w.key("completed_frameworks").begin_array();
  for (const auto& f : state.get_frameworks().completed_frameworks())
    write_framework(f);
  w.end_array();
  w.key("orphan_tasks").begin_array().end_array();
  w.key("unregistered_frameworks").begin_array().end_array();
  w.end_object();
  return w.take();
}

} // namespace dcos::kernel
