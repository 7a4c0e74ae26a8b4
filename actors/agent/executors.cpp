// Executors: launched in containers, registered over the actor protocol,
// ended by request or on their own; their tasks' fates follow.
#include <cstdlib>

#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/error.hpp"
#include "dcos/command_line.hpp"
#include "dcos/executor_environment.hpp"

namespace dcos::kernel {

namespace {

constexpr size_t max_completed_executors = 50;
constexpr size_t max_completed_frameworks = 50;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

} // namespace

executor_record& agent_state::ensure_executor(const v1::FrameworkInfo& framework,
                                              const v1::ExecutorInfo& info,
                                              bool command_executor) {
  const auto& fw_id = framework.id().value();
  auto& fw = frameworks[fw_id];
  if (fw.info.SerializeAsString() != framework.SerializeAsString()) {
    fw.info = framework;
    v1::internal::JournalRecord rec;
    *rec.mutable_framework() = framework;
    record(rec);
  }
  const auto& exec_id = info.executor_id().value();
  auto existing = fw.executors.find(exec_id);
  if (existing != fw.executors.end()) {
    if (existing->second.state != executor_record::phase::ended)
      return existing->second;
    // A new run of an executor that ended: keep the old run for the record.
    fw.completed_executors.push_back(std::move(existing->second));
    if (fw.completed_executors.size() > max_completed_executors)
      fw.completed_executors.pop_front();
    fw.executors.erase(existing);
  }
  auto& e = fw.executors[exec_id];
  e.info = info;
  *e.info.mutable_framework_id() = framework.id();
  e.framework_id = fw_id;
  e.container_id = new_container_id();
  e.sandbox = sandbox_of(fw_id, exec_id, e.container_id);
  e.command_executor = command_executor;
  e.state = executor_record::phase::launching;
  launch_executor(e);
  return e;
}

void agent_state::launch_executor(executor_record& e) {
  container_launch req;
  req.container_id = e.container_id;
  req.sandbox = e.sandbox;
  const auto& fw_id = e.framework_id;
  const auto& exec_id = e.info.executor_id().value();
  bool ours = e.command_executor
              || e.info.type() == v1::ExecutorInfo::DEFAULT
              || !e.info.has_command();
  executor_environment env;
  env.agent_endpoint = fmt::format("{}:{}", cfg.ip, cfg.actor_port);
  env.agent_id = info.id().value();
  env.framework_id = fw_id;
  env.executor_id = exec_id;
  env.container_id = e.container_id;
  env.sandbox = e.sandbox;
  env.program = !ours ? executor_program::custom
                : e.command_executor ? executor_program::command_executor
                                     : executor_program::default_executor;
  env.containerizer = cfg.containerizer_helper;
  env.fetcher = cfg.fetcher;
  env.fetch_cache = cfg.work_dir + "/fetch_cache";
  env.log_level = cfg.executor_log_level;
  req.env = {
    "PATH=" + env_or("PATH", "/usr/local/bin:/usr/bin:/bin"),
    "HOME=" + env_or("HOME", "/root"),
  };
  auto vars = env.to_env();
  req.env.insert(req.env.end(), vars.begin(), vars.end());
  if (ours) {
    req.command.argv = {cfg.executor};
    req.env.insert(req.env.end(), cfg.isolation_env.begin(),
                   cfg.isolation_env.end());
    req.nests_containers = true;
  } else {
    const auto& cmd = e.info.command();
    req.command = to_command_line(
      cmd, e.info.container().mesos().has_image());
    for (const auto& var : cmd.environment().variables())
      req.env.push_back(var.name() + "=" + var.value());
    req.fetch = cmd;
    req.container = e.info.container();
  }
  if (auto r = resources::from_proto(e.info.resources()))
    req.limits = *r;
  ++metrics.executors_launched;
  log->info("launching executor framework_id={} executor_id={} "
            "container_id={}",
            fw_id, exec_id, e.container_id);
  // Durable before it runs: a restart then knows there may be a container.
  v1::internal::JournalRecord rec;
  *rec.mutable_executor() = checkpoint_of(e);
  auto container_id = e.container_id;
  record(rec, [this, fw_id, exec_id, container_id,
               req = std::move(req)]() mutable {
    self->request(cfg.containerizer, caf::infinite, launch_atom::value,
                  std::move(req))
      .then(
        [this, fw_id, exec_id, container_id](uint32_t pid) {
          auto* e = find_executor(fw_id, exec_id);
          if (e == nullptr || e->container_id != container_id)
            return;
          e->pid = pid;
          if (e->state == executor_record::phase::launching)
            e->state = executor_record::phase::registering;
          v1::internal::JournalRecord rec;
          *rec.mutable_executor() = checkpoint_of(*e); // now with its pid
          record(rec);
          watch_container(*e);
          self->delayed_send(self, cfg.executor_registration_timeout,
                             timeout_atom::value, fw_id, exec_id,
                             container_id);
        },
        [this, fw_id, exec_id, container_id](caf::error& err) {
          container_termination t;
          t.status = -1;
          t.reason = v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED;
          t.message = describe_reason(err);
          executor_terminated(fw_id, exec_id, container_id, std::move(t));
        });
  });
}

v1::internal::ExecutorCheckpoint checkpoint_of(const executor_record& e) {
  v1::internal::ExecutorCheckpoint x;
  x.mutable_framework_id()->set_value(e.framework_id);
  *x.mutable_info() = e.info;
  x.mutable_container_id()->set_value(e.container_id);
  x.set_sandbox(e.sandbox);
  x.set_pid(e.pid);
  x.set_command_executor(e.command_executor);
  return x;
}

void agent_state::watch_container(executor_record& e) {
  auto fw_id = e.framework_id;
  auto exec_id = e.info.executor_id().value();
  auto container_id = e.container_id;
  self->request(cfg.containerizer, caf::infinite, wait_atom::value,
                container_id)
    .then(
      [this, fw_id, exec_id, container_id](container_termination& t) {
        executor_terminated(fw_id, exec_id, container_id, std::move(t));
      },
      [this, fw_id, exec_id, container_id](caf::error& err) {
        container_termination t;
        t.status = -1;
        t.message = describe_reason(err);
        executor_terminated(fw_id, exec_id, container_id, std::move(t));
      });
}

std::vector<std::string> task_ids(const pending_launch& launch) {
  std::vector<std::string> ids;
  if (auto* run = std::get_if<v1::internal::RunTask>(&launch))
    ids.push_back(run->task().task_id().value());
  else
    for (const auto& t :
         std::get<v1::internal::RunTaskGroup>(launch).task_group().tasks())
      ids.push_back(t.task_id().value());
  return ids;
}

void agent_state::deliver_launch(executor_record& e, pending_launch launch) {
  if (e.state != executor_record::phase::running || !e.handle) {
    e.queued.push_back(std::move(launch));
    return;
  }
  std::visit([&](auto& msg) { self->send(e.handle, std::move(msg)); },
             launch);
}

void agent_state::deliver_queued(executor_record& e) {
  auto queued = std::move(e.queued);
  e.queued.clear();
  for (auto& launch : queued)
    deliver_launch(e, std::move(launch));
}

void agent_state::send_unsent_tasks(executor_record& e,
                                    const std::set<std::string>& has) {
  // Tasks we recorded but it never got (we died before sending them).
  for (auto& [task_id, t] : e.tasks) {
    if (has.count(task_id) > 0 || t.state != v1::TASK_STAGING)
      continue;
    v1::internal::RunTask run;
    *run.mutable_framework() = frameworks[e.framework_id].info;
    *run.mutable_task() = t.info;
    deliver_launch(e, std::move(run));
  }
}

caf::typed_response_promise<v1::internal::ExecutorRegistered>
agent_state::attach_executor(executor_record& e,
                             const executor_actor& handle) {
  e.handle = handle;
  e.state = executor_record::phase::running;
  self->monitor(handle);
  executor_by_addr[handle.address()] = {e.framework_id,
                                        e.info.executor_id().value()};
  v1::internal::ExecutorRegistered reply;
  *reply.mutable_executor_info() = e.info;
  *reply.mutable_framework_info() = frameworks[e.framework_id].info;
  *reply.mutable_agent_id() = info.id();
  *reply.mutable_agent_info() = info;
  auto rp = self->make_response_promise<v1::internal::ExecutorRegistered>();
  rp.deliver(std::move(reply));
  return rp;
}

caf::result<v1::internal::ExecutorRegistered>
agent_state::register_executor(const executor_actor& handle,
                               const v1::internal::RegisterExecutor& msg) {
  auto* e = find_executor(msg.framework_id().value(),
                          msg.executor_id().value());
  if (e == nullptr || e->container_id != msg.container_id().value()
      || e->state == executor_record::phase::ended
      || e->state == executor_record::phase::terminating)
    return make_error(errc::not_found,
                      fmt::format("unknown executor '{}' of framework {}",
                                  msg.executor_id().value(),
                                  msg.framework_id().value()));
  // The reply goes out before the tasks it is to run.
  auto rp = attach_executor(*e, handle);
  std::set<std::string> queued;
  for (const auto& launch : e->queued)
    for (auto& id : task_ids(launch))
      queued.insert(std::move(id));
  // An executor launched before the agent restarted registers only now:
  // the tasks it was to run are in the journal, not in the queue (found by
  // the simulation: such tasks stayed staging for good).
  send_unsent_tasks(*e, queued);
  deliver_queued(*e);
  log->info("executor registered framework_id={} executor_id={}",
            e->framework_id, e->info.executor_id().value());
  return rp;
}

caf::result<v1::internal::ExecutorRegistered>
agent_state::reregister_executor(const executor_actor& handle,
                                 const v1::internal::ReregisterExecutor& msg) {
  auto* e = find_executor(msg.framework_id().value(),
                          msg.executor_id().value());
  if (e == nullptr || e->container_id != msg.container_id().value()
      || e->state == executor_record::phase::ended)
    return make_error(errc::not_found,
                      fmt::format("unknown executor '{}' of framework {}",
                                  msg.executor_id().value(),
                                  msg.framework_id().value()));
  auto rp = attach_executor(*e, handle);
  // Updates it made while we were away.
  for (const auto& update : msg.updates())
    status_update(update, true);
  std::set<std::string> running;
  for (const auto& t : msg.tasks())
    running.insert(t.task_id().value());
  send_unsent_tasks(*e, running);
  deliver_queued(*e);
  log->info("executor re-registered framework_id={} executor_id={}",
            e->framework_id, e->info.executor_id().value());
  return rp;
}

void agent_state::shutdown_executor(executor_record& e,
                                    const std::string& why) {
  if (e.state == executor_record::phase::ended
      || e.state == executor_record::phase::terminating)
    return;
  log->info("shutting down executor framework_id={} executor_id={}: {}",
            e.framework_id, e.info.executor_id().value(), why);
  e.state = executor_record::phase::terminating;
  e.end_reason = why;
  if (e.handle)
    self->send(e.handle, shutdown_atom::value, why);
  auto grace = cfg.executor_shutdown_grace_period;
  if (e.info.has_shutdown_grace_period())
    grace = caf::timespan{e.info.shutdown_grace_period().nanoseconds()};
  self->request(cfg.containerizer, caf::infinite, destroy_atom::value,
                e.container_id, grace)
    .then([](ok_atom) {}, [](caf::error&) {});
}

void agent_state::executor_timeout(const std::string& framework_id,
                                   const std::string& executor_id,
                                   const std::string& container_id) {
  auto* e = find_executor(framework_id, executor_id);
  if (e == nullptr || e->container_id != container_id
      || e->state != executor_record::phase::registering)
    return;
  shutdown_executor(*e, "did not register in time");
}

void agent_state::executor_down(const caf::down_msg& msg) {
  auto i = executor_by_addr.find(msg.source);
  if (i == executor_by_addr.end())
    return;
  auto [fw_id, exec_id] = i->second;
  executor_by_addr.erase(i);
  auto* e = find_executor(fw_id, exec_id);
  if (e == nullptr || e->state != executor_record::phase::running)
    return;
  // The process may still be there (a broken link): give it the time an
  // executor gets to re-register; its container's end otherwise says it.
  e->handle = executor_actor{};
  e->state = executor_record::phase::registering;
  self->delayed_send(self, cfg.executor_reregistration_timeout,
                     timeout_atom::value, fw_id, exec_id, e->container_id);
}

void agent_state::executor_terminated(const std::string& framework_id,
                                      const std::string& executor_id,
                                      const std::string& container_id,
                                      container_termination t) {
  auto* e = find_executor(framework_id, executor_id);
  if (e == nullptr || e->container_id != container_id
      || e->state == executor_record::phase::ended)
    return;
  bool asked = !e->end_reason.empty();
  log->info("executor ended framework_id={} executor_id={} status={}{}",
            framework_id, executor_id, t.status,
            asked ? " (" + e->end_reason + ")" : "");
  e->state = executor_record::phase::ended;
  if (e->handle) {
    executor_by_addr.erase(e->handle.address());
    e->handle = executor_actor{};
  }
  ++metrics.executors_terminated;
  // Its tasks that did not end on their own end now.
  auto state = asked ? v1::TASK_KILLED : v1::TASK_FAILED;
  auto reason = v1::TaskStatus::REASON_EXECUTOR_TERMINATED;
  std::string message = asked ? e->end_reason
                              : fmt::format("the executor exited with status {}",
                                            t.status);
  if (t.reason) {
    state = v1::TASK_FAILED;
    reason = *t.reason;
    message = t.message;
  } else if (asked && e->end_reason == "did not register in time") {
    state = v1::TASK_FAILED;
    reason = recovered ? v1::TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT
                       : v1::TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT;
  }
  std::vector<std::string> open;
  for (auto& [task_id, task] : e->tasks)
    if (!is_terminal(task.state))
      open.push_back(task_id);
  e->termination = std::move(t);
  for (const auto& task_id : open) {
    e = find_executor(framework_id, executor_id);
    status_update(agent_update(framework_id, *e, task_id, state, reason,
                               message),
                  false);
  }
  auto status = find_executor(framework_id, executor_id)->termination->status;
  if (registered)
    report_exit(framework_id, executor_id, status);
  else
    unreported_exits[{framework_id, executor_id}] = status;
  maybe_retire_executor(framework_id, executor_id);
}

void agent_state::maybe_retire_executor(const std::string& framework_id,
                                        const std::string& executor_id) {
  auto* fw = find_framework(framework_id);
  if (fw == nullptr)
    return;
  auto i = fw->executors.find(executor_id);
  if (i == fw->executors.end()
      || i->second.state != executor_record::phase::ended)
    return;
  // Updates still on their way to the framework keep the executor, unless
  // the framework is gone and nobody will acknowledge them.
  if (!fw->removed) {
    for (const auto& [task_id, t] : i->second.tasks) {
      auto s = streams.find({framework_id, task_id});
      if (s != streams.end()
          && (!s->second.pending.empty() || !s->second.recording.empty()))
        return;
    }
  }
  for (const auto& [task_id, t] : i->second.tasks)
    streams.erase({framework_id, task_id});
  v1::internal::JournalRecord rec;
  auto* gone = rec.mutable_executor_gone();
  gone->mutable_framework_id()->set_value(framework_id);
  gone->mutable_executor_id()->set_value(executor_id);
  record(rec);
  fw->completed_executors.push_back(std::move(i->second));
  if (fw->completed_executors.size() > max_completed_executors)
    fw->completed_executors.pop_front();
  fw->executors.erase(i);
  if (fw->removed && fw->executors.empty()) {
    v1::internal::JournalRecord gone;
    gone.mutable_framework_gone()->set_value(framework_id);
    record(gone);
    // Kept a while (in memory) so that its tasks' logs can still be found.
    completed_frameworks.push_back(std::move(*fw));
    if (completed_frameworks.size() > max_completed_frameworks)
      completed_frameworks.pop_front();
    frameworks.erase(framework_id);
  }
}

} // namespace dcos::kernel
