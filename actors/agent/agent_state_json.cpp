// The agent's /state (Mesos' agent shape) and its metrics.
#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/json.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/mesos_json.hpp"
#include "dcos/metrics.hpp"

namespace dcos::kernel {

namespace {

void write_task(json_writer& w, const std::string& fw_id,
                const executor_record& e, const std::string& agent_id,
                const agent_task& t) {
  const auto& exec_id = e.info.executor_id().value();
  w.begin_object();
  w.field("id", t.info.task_id().value());
  w.field("name", t.info.name());
  w.field("framework_id", fw_id);
  w.field("executor_id", exec_id);
  w.field("slave_id", agent_id);
  w.field("state", v1::TaskState_Name(t.state));
  w.field("sandbox", task_sandbox(e, t.info.task_id().value()));
  w.key("resources");
  write_resources_object(w, t.info.resources());
  w.key("statuses").begin_array();
  if (t.last_status.has_task_id())
    write_status_entry(w, t.last_status);
  w.end_array();
  w.end_object();
}

void write_executor(json_writer& w, const std::string& fw_id,
                    const std::string& agent_id, const executor_record& e) {
  w.begin_object();
  w.field("id", e.info.executor_id().value());
  w.field("name", e.info.name());
  w.field("container", e.container_id);
  w.field("directory", e.sandbox);
  w.key("resources");
  write_resources_object(w, e.info.resources());
  std::vector<const agent_task*> active;
  std::vector<const agent_task*> done;
  for (const auto& [id, t] : e.tasks)
    (is_terminal(t.state) ? done : active).push_back(&t);
  w.key("tasks").begin_array();
  for (const auto* t : active)
    write_task(w, fw_id, e, agent_id, *t);
  w.end_array();
  w.key("queued_tasks").begin_array();
  for (const auto& launch : e.queued)
    for (const auto& id : task_ids(launch))
      w.begin_object().field("id", id).end_object();
  w.end_array();
  w.key("completed_tasks").begin_array();
  for (const auto* t : done)
    write_task(w, fw_id, e, agent_id, *t);
  w.end_array();
  w.end_object();
}

} // namespace

std::string agent_state::state_json() const {
  json_writer w;
  const auto& agent_id = info.id().value();
  w.begin_object();
  w.field("version", cfg.version);
  w.field("id", agent_id);
  w.field("pid", fmt::format("slave(1)@{}:{}", cfg.ip, cfg.port));
  w.field("hostname", info.hostname());
  w.field("start_time", cfg.start_time);
  w.field("registered", registered);
  w.key("resources");
  google::protobuf::RepeatedPtrField<v1::Resource> wire;
  total.to_proto(&wire);
  write_resources_object(w, wire);
  auto write_framework = [&](const std::string& fw_id,
                             const agent_framework& fw) {
    w.begin_object();
    w.field("id", fw_id);
    w.field("name", fw.info.name());
    w.field("user", fw.info.user());
    w.key("executors").begin_array();
    for (const auto& [exec_id, e] : fw.executors)
      write_executor(w, fw_id, agent_id, e);
    w.end_array();
    w.key("completed_executors").begin_array();
    for (const auto& e : fw.completed_executors)
      write_executor(w, fw_id, agent_id, e);
    w.end_array();
    w.end_object();
  };
  w.key("frameworks").begin_array();
  for (const auto& [fw_id, fw] : frameworks)
    write_framework(fw_id, fw);
  w.end_array();
  w.key("completed_frameworks").begin_array();
  for (const auto& fw : completed_frameworks)
    write_framework(fw.info.id().value(), fw);
  w.end_array();
  w.end_object();
  return w.take();
}

v1::master::Response agent_state::metrics_response() const {
  v1::master::Response out;
  out.set_type(v1::master::Response::GET_METRICS);
  auto add = [&](std::string name, double value) {
    add_metric(*out.mutable_get_metrics(), std::move(name), value);
  };
  add("slave/uptime_secs",
      std::chrono::duration<double>(self->clock().now() - started_at).count());
  add("slave/registered", registered ? 1 : 0);
  size_t executors = 0;
  std::map<v1::TaskState, size_t> current;
  for (const auto& [fw_id, fw] : frameworks) {
    for (const auto& [exec_id, e] : fw.executors) {
      executors += e.state != executor_record::phase::ended ? 1 : 0;
      for (const auto& [task_id, t] : e.tasks)
        if (!is_terminal(t.state))
          ++current[t.state];
    }
  }
  add("slave/frameworks_active", static_cast<double>(frameworks.size()));
  add("slave/executors_running", static_cast<double>(executors));
  add("slave/executors_launched",
      static_cast<double>(metrics.executors_launched));
  add("slave/executors_terminated",
      static_cast<double>(metrics.executors_terminated));
  for (auto state : {v1::TASK_STAGING, v1::TASK_STARTING, v1::TASK_RUNNING,
                     v1::TASK_KILLING})
    add(task_state_metric("slave/", state),
        static_cast<double>(current[state]));
  for (auto state : {v1::TASK_FINISHED, v1::TASK_FAILED, v1::TASK_KILLED,
                     v1::TASK_LOST, v1::TASK_DROPPED}) {
    auto i = metrics.tasks_terminal.find(state);
    add(task_state_metric("slave/", state),
        i == metrics.tasks_terminal.end() ? 0.0
                                          : static_cast<double>(i->second));
  }
  auto flat = total.flatten();
  for (const char* kind : {"cpus", "mem", "disk", "gpus"})
    add(fmt::format("slave/{}_total", kind), flat.scalar(kind).value_or(0));
  size_t pending = 0;
  for (const auto& [key, s] : streams)
    pending += s.pending.size() + s.recording.size();
  add("slave/status_updates_pending", static_cast<double>(pending));
  add("slave/status_updates_sent",
      static_cast<double>(metrics.status_updates_sent));
  add("slave/status_updates_retried",
      static_cast<double>(metrics.status_updates_retried));
  add("slave/journal_records", static_cast<double>(metrics.journal_records));
  add("slave/journal_flushes", static_cast<double>(metrics.journal_flushes));
  return out;
}

} // namespace dcos::kernel
