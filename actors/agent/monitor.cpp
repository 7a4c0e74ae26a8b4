// /monitor/statistics: every live executor's container usage, as Mesos
// reports it, gathered from the containerizer (cgroups when isolated, /proc
// otherwise).
#include <memory>

#include "agent_state.hpp"
#include "dcos/json_writer.hpp"

namespace dcos::kernel {

namespace {

struct usage_entry {
  std::string framework_id;
  std::string executor_id;
  std::string executor_name;
  std::optional<container_usage> usage;
};

std::string to_json(const std::vector<usage_entry>& entries, double now,
                    const std::function<double(const usage_entry&)>& cpus) {
  json_writer w;
  w.begin_array();
  for (const auto& e : entries) {
    if (!e.usage)
      continue; // it ended while we asked
    const auto& u = *e.usage;
    w.begin_object();
    w.key("framework_id").value(e.framework_id);
    w.key("executor_id").value(e.executor_id);
    w.key("executor_name").value(e.executor_name);
    w.key("statistics").begin_object();
    w.key("timestamp").value(now);
    w.key("cpus_limit").value(cpus(e));
    w.key("cpus_user_time_secs").value(u.cpus_user_time_secs);
    w.key("cpus_system_time_secs").value(u.cpus_system_time_secs);
    w.key("cpus_nr_periods").value(u.cpus_nr_periods);
    w.key("cpus_nr_throttled").value(u.cpus_nr_throttled);
    w.key("cpus_throttled_time_secs").value(u.cpus_throttled_time_secs);
    w.key("mem_rss_bytes").value(u.mem_rss_bytes);
    if (u.mem_limit_bytes > 0)
      w.key("mem_limit_bytes").value(u.mem_limit_bytes);
    w.key("processes").value(u.processes);
    w.end_object();
    w.end_object();
  }
  w.end_array();
  return w.take();
}

} // namespace

caf::result<std::string> agent_state::monitor_statistics() {
  struct pending {
    std::vector<usage_entry> entries;
    std::map<std::string, double> cpus; // executor id -> cpus of it and tasks
    size_t waiting = 0;
    caf::typed_response_promise<std::string> promise;
  };
  auto p = std::make_shared<pending>();
  std::vector<std::string> containers;
  for (const auto& [fw_id, fw] : frameworks)
    for (const auto& [exec_id, e] : fw.executors) {
      if (e.state == executor_record::phase::ended || e.container_id.empty())
        continue;
      p->entries.push_back({fw_id, exec_id, e.info.name(), std::nullopt});
      double cpus = 0;
      if (auto r = resources::from_proto(e.info.resources()))
        cpus += r->scalar("cpus").value_or(0);
      for (const auto& [task_id, t] : e.tasks)
        if (auto r = resources::from_proto(t.info.resources()))
          cpus += r->scalar("cpus").value_or(0);
      p->cpus[exec_id] = cpus;
      containers.push_back(e.container_id);
    }
  auto cpus_of = [p](const usage_entry& e) { return p->cpus[e.executor_id]; };
  if (containers.empty())
    return to_json({}, now(), cpus_of);
  p->promise = self->make_response_promise<std::string>();
  p->waiting = containers.size();
  auto finish_one = [this, p, cpus_of] {
    if (--p->waiting == 0)
      p->promise.deliver(to_json(p->entries, now(), cpus_of));
  };
  for (size_t i = 0; i < containers.size(); ++i)
    self->request(cfg.containerizer, std::chrono::seconds(10),
                  metrics_atom::value, containers[i])
      .then(
        [p, i, finish_one](const container_usage& u) {
          p->entries[i].usage = u;
          finish_one();
        },
        [finish_one](const caf::error&) { finish_one(); });
  return p->promise;
}

} // namespace dcos::kernel
