// What the agent's v1 operator API asks of the agent actor: its frameworks,
// executors, tasks, containers and itself, as Mesos' agent answers them.
// The edge (agent_http.cpp) answers the calls that need no agent state.
#include <algorithm>

#include <fmt/format.h>

#include "agent_state.hpp"
#include "container_names.hpp"
#include "dcos/command_line.hpp"
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

// Mesos' rules for a container id's value: not empty, not "." or "..", no
// '/' and no whitespace or control characters. A new session's own value
// has no '.' either: flat_id() joins with it, and two ids must not meet.
caf::error check_id(const std::string& value, const std::string& field,
                    bool new_session = false) {
  bool printable = std::all_of(value.begin(), value.end(), [&](char c) {
    return static_cast<unsigned char>(c) > ' ' && c != 0x7f && c != '/'
           && (!new_session || c != '.');
  });
  if (value.empty() || value == "." || value == ".." || !printable)
    return make_error(errc::invalid_argument,
                      fmt::format("{}: '{}' is not a valid container id "
                                  "(not empty, '.' or '..'; no '/', spaces "
                                  "or control characters{})",
                                  field, value,
                                  new_session ? ", and no '.'" : ""));
  return {};
}

// The wait(2) status Mesos reports for a command that ended so.
int32_t wait_status(const container_termination& t) {
  if (t.signal)
    return *t.signal;
  return (t.status & 0xff) << 8;
}

} // namespace

caf::result<container_io_ptr>
agent_state::api_session(const Call& call) {
  const auto& s = call.launch_nested_container_session();
  const std::string field = "launch_nested_container_session";
  if (!call.has_launch_nested_container_session() || !s.has_container_id())
    return make_error(errc::invalid_argument,
                      field + ".container_id: required");
  const auto& id = s.container_id();
  if (auto err = check_id(id.value(), field + ".container_id.value", true))
    return err;
  if (!id.has_parent())
    return make_error(errc::invalid_argument,
                      field + ".container_id.parent: required: the running "
                              "container to join (a task's, as its "
                              "statuses' container_status names it)");
  if (!s.has_command() || s.command().value().empty())
    return make_error(errc::invalid_argument,
                      field + ".command.value: required: what to run");
  if (const auto& size = s.container().tty_info().window_size();
      size.rows() > 0xffff || size.columns() > 0xffff)
    return make_error(errc::invalid_argument,
                      field + ".container.tty_info.window_size: rows and "
                              "columns must be below 65536");
  if (s.container().mesos().has_image())
    return make_error(errc::invalid_argument,
                      field + ".container: a session runs in its parent's "
                              "root filesystem; an image cannot be given");
  // The parent: an executor's container, or a task's inside it.
  const auto& parent = id.parent();
  bool task_parent = parent.has_parent();
  const auto& executor_container = task_parent ? parent.parent().value()
                                               : parent.value();
  std::optional<std::pair<std::string, std::string>> joined; // id, sandbox
  for (const auto& [fw_id, fw] : frameworks)
    for (const auto& [exec_id, e] : fw.executors) {
      if (e.container_id != executor_container
          || e.state == executor_record::phase::ended
          || (task_parent && parent.parent().has_parent()))
        continue;
      if (!task_parent) {
        joined.emplace(e.container_id, e.sandbox);
        continue;
      }
      auto t = e.tasks.find(parent.value());
      if (t != e.tasks.end() && !is_terminal(t->second.state))
        joined.emplace(e.container_id + "." + t->first,
                       task_sandbox(e, t->first));
    }
  if (!joined)
    return make_error(errc::not_found,
                      fmt::format("{}.container_id.parent: no running "
                                  "container '{}' on this agent",
                                  field, flat_id(parent)));
  container_launch req;
  req.join = joined->first;
  req.sandbox = joined->second;
  req.container_id = req.join + "." + id.value();
  req.command = to_command_line(s.command(), false);
  if (s.container().has_tty_info()) {
    // What a terminal's programs need to know of it (docker exec -t sets
    // it too); the command's own environment may say otherwise.
    *req.container.mutable_tty_info() = s.container().tty_info();
    req.env.push_back("TERM=xterm");
  }
  for (const auto& v : s.command().environment().variables())
    req.env.push_back(v.name() + "=" + v.value());
  if (sessions.count(req.container_id) > 0)
    return make_error(errc::conflict,
                      fmt::format("{}.container_id: the session '{}' exists",
                                  field, req.container_id));
  sessions[req.container_id] = false;
  auto rp = self->make_response_promise<container_io_ptr>();
  auto session_id = req.container_id;
  log->info("debug session container_id={} command='{}'", session_id,
            s.command().value());
  self->request(cfg.containerizer, caf::infinite, session_atom::value,
                std::move(req))
    .then(
      [this, rp, session_id](container_io_ptr& io) mutable {
        if (auto i = sessions.find(session_id);
            i != sessions.end() && i->second) { // killed while it started
          self->request(cfg.containerizer, caf::infinite,
                        destroy_atom::value, session_id, caf::timespan{0})
            .then([](ok_atom) {}, [](caf::error&) {});
          sessions.erase(i);
          rp.deliver(make_error(errc::conflict,
                                fmt::format("the session '{}' was killed "
                                            "while it started",
                                            session_id)));
          return;
        }
        // Forgotten once it ends.
        self->request(cfg.containerizer, caf::infinite, wait_atom::value,
                      session_id)
          .then([this, session_id](
                  container_termination&) { sessions.erase(session_id); },
                [this, session_id](caf::error&) {
                  sessions.erase(session_id);
                });
        rp.deliver(std::move(io));
      },
      [this, rp, session_id](caf::error& err) mutable {
        sessions.erase(session_id);
        rp.deliver(std::move(err));
      });
  return rp;
}

caf::result<Response> agent_state::api_wait_nested(const Call& call) {
  const auto& id = call.wait_nested_container().container_id();
  if (auto err = check_id(id.value(), "wait_nested_container.container_id"))
    return err;
  if (!id.has_parent())
    return make_error(errc::invalid_argument,
                      "wait_nested_container.container_id.parent: required "
                      "(a nested container)");
  auto rp = self->make_response_promise<Response>();
  self->request(cfg.containerizer, caf::infinite, wait_atom::value,
                flat_id(id))
    .then(
      [rp](container_termination& t) mutable {
        Response out;
        out.set_type(Response::WAIT_NESTED_CONTAINER);
        out.mutable_wait_nested_container()->set_exit_status(wait_status(t));
        rp.deliver(std::move(out));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<Response> agent_state::api_kill_nested(const Call& call) {
  const auto& id = call.kill_nested_container().container_id();
  if (auto err = check_id(id.value(), "kill_nested_container.container_id"))
    return err;
  auto flat = flat_id(id);
  // A task's container is its executor's to end (KILL through the
  // scheduler); only debug sessions end here.
  auto session = sessions.find(flat);
  if (session == sessions.end())
    return make_error(errc::not_found,
                      fmt::format("kill_nested_container.container_id: no "
                                  "running debug session '{}'",
                                  flat));
  session->second = true; // for a session still starting
  auto rp = self->make_response_promise<Response>();
  self->request(cfg.containerizer, caf::infinite, destroy_atom::value, flat,
                caf::timespan{0})
    .then([rp](ok_atom) mutable { rp.deliver(Response{}); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

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
    case Call::WAIT_NESTED_CONTAINER:
      return api_wait_nested(call);
    case Call::KILL_NESTED_CONTAINER:
      return api_kill_nested(call);
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
