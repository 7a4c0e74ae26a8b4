// What the agent's v1 operator API asks of the agent actor: its frameworks,
// executors, tasks, containers and itself, as Mesos' agent answers them.
// The edge (agent_http.cpp) answers the calls that need no agent state.
#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/error.hpp"

namespace dcos::kernel {

namespace {

using v1::agent::Call;
using v1::agent::Response;

v1::Task task_of(const agent_task& t, const std::string& framework_id,
                 const executor_record& e, const v1::AgentInfo& agent) {
  v1::Task out;
  out.set_name(t.info.name());
  *out.mutable_task_id() = t.info.task_id();
  out.mutable_framework_id()->set_value(framework_id);
  if (!e.command_executor)
    *out.mutable_executor_id() = e.info.executor_id();
  *out.mutable_agent_id() = agent.id();
  out.set_state(t.state);
  *out.mutable_resources() = t.info.resources();
  if (t.last_status.has_task_id())
    *out.add_statuses() = t.last_status;
  if (t.info.has_labels())
    *out.mutable_labels() = t.info.labels();
  if (t.info.has_discovery())
    *out.mutable_discovery() = t.info.discovery();
  if (t.info.has_container())
    *out.mutable_container() = t.info.container();
  if (t.info.has_health_check())
    *out.mutable_health_check() = t.info.health_check();
  if (t.info.has_check())
    *out.mutable_check() = t.info.check();
  if (t.info.has_kill_policy())
    *out.mutable_kill_policy() = t.info.kill_policy();
  return out;
}

// A framework's executors, live and completed, with `each(framework id,
// executor, completed)`.
template <class F>
void each_executor(const std::string& framework_id, const agent_framework& fw,
                   bool completed_framework, F each) {
  for (const auto& [id, e] : fw.executors)
    each(framework_id, e,
         completed_framework || e.state == executor_record::phase::ended);
  for (const auto& e : fw.completed_executors)
    each(framework_id, e, true);
}

// Every executor the agent knows, with each(framework id, executor,
// completed).
template <class F>
void each_executor_record(const agent_state& st, F each) {
  for (const auto& [id, fw] : st.frameworks)
    each_executor(id, fw, false, each);
  for (const auto& fw : st.completed_frameworks)
    each_executor(fw.info.id().value(), fw, true, each);
}

} // namespace

Response::GetFrameworks agent_state::api_frameworks() const {
  Response::GetFrameworks out;
  for (const auto& [id, fw] : frameworks)
    *out.add_frameworks()->mutable_framework_info() = fw.info;
  for (const auto& fw : completed_frameworks)
    *out.add_completed_frameworks()->mutable_framework_info() = fw.info;
  return out;
}

Response::GetExecutors agent_state::api_executors() const {
  Response::GetExecutors out;
  each_executor_record(*this, [&](const std::string&, const executor_record& e,
                           bool completed) {
    auto* entry = completed ? out.add_completed_executors()
                            : out.add_executors();
    *entry->mutable_executor_info() = e.info;
  });
  return out;
}

Response::GetTasks agent_state::api_tasks() const {
  Response::GetTasks out;
  each_executor_record(*this, [&](const std::string& framework_id,
                           const executor_record& e, bool completed) {
    std::set<std::string> queued;
    for (const auto& launch : e.queued)
      for (auto& id : task_ids(launch))
        queued.insert(std::move(id));
    for (const auto& [id, t] : e.tasks) {
      auto task = task_of(t, framework_id, e, info);
      if (completed)
        *out.add_completed_tasks() = std::move(task);
      else if (is_terminal(t.state))
        *out.add_terminated_tasks() = std::move(task);
      else if (queued.count(id) > 0)
        *out.add_queued_tasks() = std::move(task);
      else
        *out.add_launched_tasks() = std::move(task);
    }
  });
  return out;
}

Response::GetContainers agent_state::api_containers() const {
  Response::GetContainers out;
  each_executor_record(*this, [&](const std::string& framework_id,
                           const executor_record& e, bool completed) {
    if (completed || e.container_id.empty())
      return;
    auto& c = *out.add_containers();
    c.mutable_framework_id()->set_value(framework_id);
    *c.mutable_executor_id() = e.info.executor_id();
    c.set_executor_name(e.info.name());
    c.mutable_container_id()->set_value(e.container_id);
    auto& status = *c.mutable_container_status();
    status.mutable_container_id()->set_value(e.container_id);
    if (e.pid != 0)
      status.set_executor_pid(e.pid);
  });
  return out;
}

caf::result<Response> agent_state::api_call(const Call& call) {
  Response out;
  switch (call.type()) {
    case Call::GET_STATE: {
      out.set_type(Response::GET_STATE);
      auto& state = *out.mutable_get_state();
      *state.mutable_get_tasks() = api_tasks();
      *state.mutable_get_executors() = api_executors();
      *state.mutable_get_frameworks() = api_frameworks();
      return out;
    }
    case Call::GET_FRAMEWORKS:
      out.set_type(Response::GET_FRAMEWORKS);
      *out.mutable_get_frameworks() = api_frameworks();
      return out;
    case Call::GET_EXECUTORS:
      out.set_type(Response::GET_EXECUTORS);
      *out.mutable_get_executors() = api_executors();
      return out;
    case Call::GET_TASKS:
      out.set_type(Response::GET_TASKS);
      *out.mutable_get_tasks() = api_tasks();
      return out;
    case Call::GET_CONTAINERS:
      return api_containers_with_usage();
    case Call::GET_LOGGING_LEVEL:
      out.set_type(Response::GET_LOGGING_LEVEL);
      out.mutable_get_logging_level()->set_level(verbosity.level());
      return out;
    case Call::SET_LOGGING_LEVEL: {
      const auto& set = call.set_logging_level();
      if (!set.has_duration() || set.duration().nanoseconds() <= 0)
        return make_error(errc::invalid_argument,
                          "set_logging_level.duration: must be positive");
      log->info("logging verbosity set to {} for {}s", set.level(),
                set.duration().nanoseconds() / 1e9);
      // A later call replaces this one's revert timer.
      self->delayed_send(self, caf::timespan{set.duration().nanoseconds()},
                         logging_atom::value, verbosity.set(set.level()));
      return Response{};
    }
    case Call::GET_AGENT: {
      out.set_type(Response::GET_AGENT);
      auto& agent = *out.mutable_get_agent();
      *agent.mutable_agent_info() = info;
      if (drain_config) {
        *agent.mutable_drain_config() = *drain_config;
        agent.mutable_estimated_drain_start_time()->set_nanoseconds(
          static_cast<int64_t>(drain_started * 1e9));
      }
      return out;
    }
    default:
      return make_error(errc::invalid_argument,
                        fmt::format("type: {} is not answered by the agent "
                                    "actor",
                                    Call::Type_Name(call.type())));
  }
}

} // namespace dcos::kernel
