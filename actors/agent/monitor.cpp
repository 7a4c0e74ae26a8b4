// The usage of every live executor's container, gathered from the
// containerizer (cgroups when isolated, /proc otherwise): for
// /monitor/statistics (Mesos' format), GET_CONTAINERS' resource_statistics
// and the agent's metrics (totals).
#include <functional>
#include <memory>

#include "agent_state.hpp"
#include "dcos/json.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"

namespace dcos::kernel {

namespace {

struct usage_entry {
  std::string framework_id;
  std::string executor_id;
  std::string executor_name;
  double cpus_limit = 0; // the executor's and its tasks'
  std::optional<container_usage> usage; // unset: it ended while we asked
};

using usage_handler = std::function<void(std::vector<usage_entry>)>;

// An entry's usage as Mesos reports it. REQUIRES: e.usage.
v1::ResourceStatistics statistics_of(const usage_entry& e, double now) {
  const auto& u = *e.usage;
  v1::ResourceStatistics s;
  s.set_timestamp(now);
  s.set_cpus_limit(e.cpus_limit);
  s.set_cpus_user_time_secs(u.cpus_user_time_secs);
  s.set_cpus_system_time_secs(u.cpus_system_time_secs);
  s.set_cpus_nr_periods(static_cast<uint32_t>(u.cpus_nr_periods));
  s.set_cpus_nr_throttled(static_cast<uint32_t>(u.cpus_nr_throttled));
  s.set_cpus_throttled_time_secs(u.cpus_throttled_time_secs);
  s.set_mem_rss_bytes(u.mem_rss_bytes);
  if (u.mem_limit_bytes > 0)
    s.set_mem_limit_bytes(u.mem_limit_bytes);
  s.set_processes(static_cast<uint32_t>(u.processes));
  return s;
}

std::string to_json(const std::vector<usage_entry>& entries, double now) {
  json_writer w;
  w.begin_array();
  for (const auto& e : entries) {
    if (!e.usage)
      continue;
    w.begin_object();
    w.key("framework_id").value(e.framework_id);
    w.key("executor_id").value(e.executor_id);
    w.key("executor_name").value(e.executor_name);
    w.key("statistics").raw(dcos::to_json(statistics_of(e, now)));
    w.end_object();
  }
  w.end_array();
  return w.take();
}

double cpus_of(const google::protobuf::RepeatedPtrField<v1::Resource>& rs) {
  auto r = resources::from_proto(rs);
  return r ? r->scalar("cpus").value_or(0) : 0;
}

// Asks the containerizer about every live executor's container and calls
// `done` with the answers.
void collect_usage(agent_state& st, usage_handler done) {
  struct pending {
    std::vector<usage_entry> entries;
    size_t waiting = 0;
    usage_handler done;
  };
  auto p = std::make_shared<pending>();
  p->done = std::move(done);
  std::vector<std::string> containers;
  for (const auto& [fw_id, fw] : st.frameworks)
    for (const auto& [exec_id, e] : fw.executors) {
      if (e.state == executor_record::phase::ended || e.container_id.empty())
        continue;
      usage_entry entry{fw_id, exec_id, e.info.name(),
                        cpus_of(e.info.resources()), std::nullopt};
      for (const auto& [task_id, t] : e.tasks)
        entry.cpus_limit += cpus_of(t.info.resources());
      p->entries.push_back(std::move(entry));
      containers.push_back(e.container_id);
    }
  if (containers.empty()) {
    p->done({});
    return;
  }
  p->waiting = containers.size();
  auto finish_one = [p] {
    if (--p->waiting == 0)
      p->done(std::move(p->entries));
  };
  for (size_t i = 0; i < containers.size(); ++i)
    st.self
      ->request(st.cfg.containerizer, std::chrono::seconds(10),
                metrics_atom::value, containers[i])
      .then(
        [p, i, finish_one](const container_usage& u) {
          p->entries[i].usage = u;
          finish_one();
        },
        [finish_one](const caf::error&) { finish_one(); });
}

} // namespace

caf::result<std::string> agent_state::monitor_statistics() {
  auto rp = self->make_response_promise<std::string>();
  collect_usage(*this, [this, rp](std::vector<usage_entry> entries) mutable {
    rp.deliver(to_json(entries, now()));
  });
  return rp;
}

caf::result<v1::agent::Response> agent_state::api_containers_with_usage() {
  auto rp = self->make_response_promise<v1::agent::Response>();
  collect_usage(*this, [this, rp](std::vector<usage_entry> entries) mutable {
    v1::agent::Response out;
    out.set_type(v1::agent::Response::GET_CONTAINERS);
    auto& containers = *out.mutable_get_containers();
    containers = api_containers();
    auto at = now();
    for (auto& c : *containers.mutable_containers())
      for (const auto& e : entries)
        if (e.usage && e.framework_id == c.framework_id().value()
            && e.executor_id == c.executor_id().value())
          *c.mutable_resource_statistics() = statistics_of(e, at);
    rp.deliver(std::move(out));
  });
  return rp;
}

caf::result<v1::master::Response> agent_state::metrics_with_usage() {
  auto rp = self->make_response_promise<v1::master::Response>();
  collect_usage(*this, [this, rp](std::vector<usage_entry> entries) mutable {
    auto out = metrics_response();
    container_usage total;
    for (const auto& e : entries) {
      if (!e.usage)
        continue;
      total.cpus_user_time_secs += e.usage->cpus_user_time_secs;
      total.cpus_system_time_secs += e.usage->cpus_system_time_secs;
      total.cpus_nr_throttled += e.usage->cpus_nr_throttled;
      total.cpus_throttled_time_secs += e.usage->cpus_throttled_time_secs;
      total.mem_rss_bytes += e.usage->mem_rss_bytes;
      total.processes += e.usage->processes;
    }
    auto add = [&](const char* name, double value) {
      add_metric(*out.mutable_get_metrics(), name, value);
    };
    add("containers/cpus_user_time_secs", total.cpus_user_time_secs);
    add("containers/cpus_system_time_secs", total.cpus_system_time_secs);
    add("containers/cpus_nr_throttled",
        static_cast<double>(total.cpus_nr_throttled));
    add("containers/cpus_throttled_time_secs",
        total.cpus_throttled_time_secs);
    add("containers/mem_rss_bytes", static_cast<double>(total.mem_rss_bytes));
    add("containers/processes", static_cast<double>(total.processes));
    rp.deliver(std::move(out));
  });
  return rp;
}

} // namespace dcos::kernel
