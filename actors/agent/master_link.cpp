// The agent's side of the master protocol: finding the master, registering
// and re-registering, noticing a lost master, and what the master asks.
#include <algorithm>

#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/error.hpp"

namespace dcos::kernel {

void agent_state::detect_master() {
  if (detecting)
    return;
  detecting = true;
  self->request(cfg.detector, caf::infinite, detect_atom::value, master)
    .then(
      [this](master_actor& found) {
        detecting = false;
        if (master && master != found)
          self->demonitor(master.address());
        master = std::move(found);
        ++master_epoch;
        self->monitor(master);
        try_register();
      },
      [this](caf::error& err) {
        detecting = false;
        log->warn("detector failed: {}", self->system().render(err));
        self->delayed_send(self, registration_backoff, register_atom::value);
      });
}

v1::internal::ReregisterAgent agent_state::reregistration() const {
  v1::internal::ReregisterAgent msg;
  *msg.mutable_agent_info() = info;
  msg.set_version(cfg.version);
  msg.set_ip(cfg.ip);
  total.to_proto(msg.mutable_checkpointed_resources());
  for (const auto& [fw_id, fw] : frameworks) {
    *msg.add_frameworks() = fw.info;
    for (const auto& [exec_id, e] : fw.executors) {
      bool ended = e.state == executor_record::phase::ended;
      if (!e.command_executor && !ended)
        *msg.add_executors() = e.info;
      for (const auto& [task_id, t] : e.tasks) {
        // An ended executor's tasks still count while the framework has
        // not acknowledged their last update: otherwise the master would
        // take them for gone (found by the simulation).
        if (ended && streams.count({fw_id, task_id}) == 0)
          continue;
        auto* task = msg.add_tasks();
        task->set_name(t.info.name());
        *task->mutable_task_id() = t.info.task_id();
        task->mutable_framework_id()->set_value(fw_id);
        if (!e.command_executor)
          *task->mutable_executor_id() = e.info.executor_id();
        *task->mutable_agent_id() = info.id();
        task->set_state(t.durable_state);
        *task->mutable_resources() = t.info.resources();
        if (t.last_status.has_task_id())
          *task->add_statuses() = t.last_status;
        if (t.info.has_labels())
          *task->mutable_labels() = t.info.labels();
        if (t.info.has_discovery())
          *task->mutable_discovery() = t.info.discovery();
        if (t.info.has_container())
          *task->mutable_container() = t.info.container();
        if (t.info.has_health_check())
          *task->mutable_health_check() = t.info.health_check();
        if (t.info.has_check())
          *task->mutable_check() = t.info.check();
      }
    }
  }
  return msg;
}

void agent_state::try_register() {
  if (registered || registering || !master || !recovered)
    return;
  registering = true;
  auto epoch = master_epoch;
  auto on_error = [this, epoch](caf::error& err) {
    if (epoch != master_epoch)
      return; // the link it went out on is gone; a new one took over
    registering = false;
    if (code_of(err) == errc::conflict || code_of(err) == errc::invalid_argument) {
      log->critical("the master refused this agent: {}", describe(err));
      shutdown("refused by the master: " + describe_reason(err));
      return;
    }
    if (code_of(err) == errc::unavailable) {
      // The master is recovering its registry (a new leader, a restart):
      // a matter of milliseconds, not a failure to back off from. Retry
      // soon, spread over a tenth of the backoff so that thousands of
      // agents do not arrive at once.
      auto spread = std::max<int64_t>(1, cfg.registration_backoff.count() / 10);
      auto delay = caf::timespan{static_cast<int64_t>(
        rng() % static_cast<uint64_t>(spread))};
      self->delayed_send(self, delay, register_atom::value);
      return;
    }
    log->warn("registration failed: {} (retrying in {}ms)",
              code_of(err) != static_cast<errc>(0)
                ? describe(err)
                : self->system().render(err),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                registration_backoff)
                .count());
    self->delayed_send(self, registration_backoff, register_atom::value);
    registration_backoff = std::min(registration_backoff * 2,
                                    caf::timespan{std::chrono::minutes(1)});
  };
  auto me = caf::actor_cast<agent_actor>(self);
  if (info.id().value().empty()) {
    v1::internal::RegisterAgent msg;
    *msg.mutable_agent_info() = info;
    msg.set_version(cfg.version);
    msg.set_ip(cfg.ip);
    self->request(master, std::chrono::seconds(30), me, std::move(msg))
      .then(
        [this, epoch](v1::internal::AgentRegistered& r) {
          if (epoch == master_epoch)
            registered_with(r);
        },
        on_error);
  } else {
    // The executors that ended before now are not in the message: the
    // master frees what they held. Those that end from now until the
    // master answers are reported once it has.
    unreported_exits.clear();
    self->request(master, std::chrono::seconds(30), me, reregistration())
      .then(
        [this, epoch](v1::internal::AgentRegistered& r) {
          if (epoch == master_epoch)
            registered_with(r);
        },
        on_error);
  }
}

void agent_state::registered_with(const v1::internal::AgentRegistered& reply) {
  registering = false;
  admitted = true;
  registration_backoff = cfg.registration_backoff;
  auto done = [this, epoch = master_epoch] {
    if (epoch != master_epoch)
      return; // the link broke while the id was being journaled
    registered = true;
    last_ping = self->clock().now();
    self->delayed_send(self, cfg.master_ping_timeout / 4, tick_atom::value);
    log->info("registered with the master agent_id={}", info.id().value());
    resend_all();
    // An executor that ended while the registration was on its way (the
    // message said it ran): without this the master held its resources,
    // persistent volumes included, for good (found by the simulation).
    auto exits = std::move(unreported_exits);
    unreported_exits.clear();
    for (const auto& [key, status] : exits)
      report_exit(key.first, key.second, status);
  };
  if (info.id().value() == reply.agent_id().value()) {
    done();
    return;
  }
  // The id must be durable before the agent acts as that agent.
  *info.mutable_id() = reply.agent_id();
  v1::internal::JournalRecord rec;
  *rec.mutable_agent() = info;
  record(rec, done);
}

void agent_state::report_exit(const std::string& framework_id,
                              const std::string& executor_id, int status) {
  v1::internal::ExitedExecutor exited;
  *exited.mutable_agent_id() = info.id();
  exited.mutable_framework_id()->set_value(framework_id);
  exited.mutable_executor_id()->set_value(executor_id);
  exited.set_status(status);
  self->send(master, std::move(exited));
}

void agent_state::master_lost(const std::string& why) {
  if (detecting)
    return; // already looking for it
  // Even while its registration is still being journaled (found by the
  // simulation: the agent used to ignore the link going down then, and
  // believed itself registered over a dead link until pings timed out).
  log->warn("lost the master: {}", why);
  registered = false;
  registering = false;
  admitted = false;
  ++master_epoch;
  for (auto& [key, s] : streams)
    s.in_flight = false; // resent after re-registration
  detect_master();
}

void agent_state::check_master_pings() {
  if (!registered)
    return;
  if (self->clock().now() - last_ping > cfg.master_ping_timeout) {
    master_lost("no ping from the master");
    return;
  }
  self->delayed_send(self, cfg.master_ping_timeout / 4, tick_atom::value);
}

namespace {

// The role a persistent volume's disk is reserved to (the last refinement).
std::string reserved_role(const v1::Resource& r) {
  if (r.reservations_size() > 0)
    return r.reservations(r.reservations_size() - 1).role();
  return r.has_role() ? r.role() : "*";
}

std::map<std::string, std::string> volume_dirs(const std::string& work_dir,
                                               const resources& rs) {
  std::map<std::string, std::string> out; // persistence id -> directory
  v1::ResourceList list;
  rs.to_proto(list.mutable_resources());
  for (const auto& r : list.resources())
    if (r.has_disk() && r.disk().has_persistence())
      out[r.disk().persistence().id()] = persistent_volume_dir(
        work_dir, reserved_role(r), r.disk().persistence().id());
  return out;
}

} // namespace

std::string persistent_volume_dir(const std::string& work_dir,
                                  const std::string& role,
                                  const std::string& id) {
  return fmt::format("{}/volumes/roles/{}/{}", work_dir, role, id);
}

void agent_state::add_persistent_volumes(v1::TaskInfo& task) const {
  add_persistent_volumes(task, task.resources());
}

void agent_state::add_persistent_volumes(
  v1::TaskInfo& task,
  const google::protobuf::RepeatedPtrField<v1::Resource>& rs) const {
  for (const auto& r : rs) {
    if (!r.has_disk() || !r.disk().has_persistence()
        || !r.disk().has_volume())
      continue;
    auto* container = task.mutable_container();
    if (container->type() == v1::ContainerInfo::TYPE_UNKNOWN)
      container->set_type(v1::ContainerInfo::MESOS);
    auto* v = container->add_volumes();
    v->set_container_path(r.disk().volume().container_path());
    v->set_mode(r.disk().volume().mode() == v1::Volume::RO ? v1::Volume::RO
                                                           : v1::Volume::RW);
    v->mutable_source()->set_type(v1::Volume::Source::HOST_PATH);
    v->mutable_source()->mutable_host_path()->set_path(persistent_volume_dir(
      cfg.work_dir, reserved_role(r), r.disk().persistence().id()));
  }
}

void agent_state::checkpoint_resources(
  const v1::internal::CheckpointResources& msg) {
  auto parsed = resources::from_proto(msg.resources());
  if (!parsed) {
    log->error("ignoring invalid checkpointed resources: {}",
               describe(parsed.error()));
    return;
  }
  // CREATE makes a persistent volume's directory, DESTROY removes it; in
  // between it outlives every task that uses it. The containerizer does
  // it: it owns the host's filesystem (and the simulation models it).
  auto before = volume_dirs(cfg.work_dir, total);
  auto after = volume_dirs(cfg.work_dir, *parsed);
  for (const auto& [id, dir] : after)
    if (before.count(id) == 0)
      self->send(cfg.containerizer, volume_atom::value, dir, true);
  for (const auto& [id, dir] : before)
    if (after.count(id) == 0) {
      log->info("destroying persistent volume {}", id);
      self->send(cfg.containerizer, volume_atom::value, dir, false);
    }
  total = std::move(*parsed);
  v1::internal::JournalRecord rec;
  *rec.mutable_resources()->mutable_resources() = msg.resources();
  record(rec);
  // Journaled right behind the checkpoint, in the same write: a crash
  // never keeps the one without the other.
  finish_operations(msg.operations());
}

bool agent_state::stale_launch(const std::string& task_id) const {
  // Mesos' agent ignores a launch from anyone but its current master. This
  // one also wants the launch to come over the link it registered on, and
  // only once the master has answered: anything else was sent before the
  // master read this agent's report, which did not name the task, and the
  // master settles such tasks as lost, so they must not run. (Found by the
  // simulation: a launch held up in a partition on the old link arrived
  // after the agent had re-registered over a new one; the master had
  // reported the task gone, and the framework then saw it finish.)
  auto current = caf::actor_cast<caf::strong_actor_ptr>(master);
  if (admitted && self->current_sender() == current)
    return false;
  log->warn("dropping a launch that was sent before the master took this "
            "agent's registration task_id={}",
            task_id);
  return true;
}

void agent_state::run_task(v1::internal::RunTask msg) {
  if (stale_launch(msg.task().task_id().value())
      || refused_while_draining(msg.framework(),
                                {msg.task().task_id().value()}))
    return;
  add_persistent_volumes(*msg.mutable_task());
  const auto& fw_info = msg.framework();
  const std::string fw_id = fw_info.id().value(); // outlives msg
  bool command = !msg.task().has_executor();
  v1::ExecutorInfo exec_info;
  if (command) {
    // The command executor: one per task, named after it, as in Mesos.
    exec_info.mutable_executor_id()->set_value(msg.task().task_id().value());
    exec_info.set_name("Command Executor (Task: " + msg.task().task_id().value()
                       + ")");
    *exec_info.mutable_framework_id() = fw_info.id();
  } else {
    exec_info = msg.task().executor();
  }
  auto& e = ensure_executor(fw_info, exec_info, command);
  const auto& task_id = msg.task().task_id().value();
  if (e.state == executor_record::phase::terminating
      || e.state == executor_record::phase::ended) {
    status_update(agent_update(fw_id, e, task_id, v1::TASK_LOST,
                               v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                               "its executor is shutting down"),
                  false);
    return;
  }
  auto& t = e.tasks[task_id];
  t.state = v1::TASK_STAGING;
  ++metrics.tasks_launched;
  v1::internal::JournalRecord rec;
  auto* x = rec.mutable_task();
  x->mutable_framework_id()->set_value(fw_id);
  *x->mutable_executor_id() = e.info.executor_id();
  *x->mutable_task() = msg.task();
  auto exec_id = e.info.executor_id().value();
  // Runs once, when the task is durable; shared so that the message is not
  // copied along the way.
  auto run = std::make_shared<v1::internal::RunTask>(std::move(msg));
  record(rec, [this, fw_id, exec_id, run] {
    if (auto* e = find_executor(fw_id, exec_id))
      deliver_launch(*e, std::move(*run));
  });
  t.info.Swap(x->mutable_task()); // recorded: the copy moves into place
}

void agent_state::run_task_group(v1::internal::RunTaskGroup msg) {
  if (msg.task_group().tasks_size() > 0
      && stale_launch(msg.task_group().tasks(0).task_id().value()))
    return;
  std::vector<std::string> ids;
  for (const auto& task : msg.task_group().tasks())
    ids.push_back(task.task_id().value());
  if (refused_while_draining(msg.framework(), ids))
    return;
  const auto& fw_info = msg.framework();
  const std::string fw_id = fw_info.id().value(); // outlives msg
  auto exec_info = msg.executor();
  if (exec_info.type() == v1::ExecutorInfo::UNKNOWN)
    exec_info.set_type(v1::ExecutorInfo::DEFAULT);
  auto& e = ensure_executor(fw_info, exec_info, false);
  // A task sees its own volumes and its executor's, the pod's volumes that
  // every task of the pod shares (as Mesos' PARENT sandbox volumes), at
  // their container paths in its sandbox.
  for (auto& task : *msg.mutable_task_group()->mutable_tasks()) {
    add_persistent_volumes(task);
    add_persistent_volumes(task, e.info.resources());
  }
  if (e.state == executor_record::phase::terminating
      || e.state == executor_record::phase::ended) {
    for (const auto& task : msg.task_group().tasks())
      status_update(agent_update(fw_id, e, task.task_id().value(),
                                 v1::TASK_LOST,
                                 v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                                 "its executor is shutting down"),
                    false);
    return;
  }
  auto exec_id = e.info.executor_id().value();
  // Sent (or queued) once every task of the group is durable; shared so
  // that the group is not copied along the way.
  auto run = std::make_shared<v1::internal::RunTaskGroup>(std::move(msg));
  auto deliver = [this, fw_id, exec_id, run] {
    if (auto* e = find_executor(fw_id, exec_id))
      deliver_launch(*e, std::move(*run));
  };
  const auto& tasks = run->task_group().tasks();
  for (int i = 0; i < tasks.size(); ++i) {
    const auto& task = tasks[i];
    auto& t = e.tasks[task.task_id().value()];
    t.state = v1::TASK_STAGING;
    ++metrics.tasks_launched;
    v1::internal::JournalRecord rec;
    auto* x = rec.mutable_task();
    x->mutable_framework_id()->set_value(fw_id);
    *x->mutable_executor_id() = e.info.executor_id();
    *x->mutable_task() = task;
    record(rec, i + 1 == tasks.size() ? std::function<void()>{deliver}
                                      : std::function<void()>{});
    t.info.Swap(x->mutable_task()); // recorded: the copy moves into place
  }
}

void agent_state::kill_task(const v1::internal::KillTask& msg) {
  const auto& fw_id = msg.framework_id().value();
  const auto& task_id = msg.task_id().value();
  executor_record* e = nullptr;
  auto* t = find_task(fw_id, task_id, &e);
  if (t == nullptr || e == nullptr) {
    // Unknown here: say so, through the status update manager.
    executor_record none;
    none.framework_id = fw_id;
    auto* fw = find_framework(fw_id);
    bool aware = false;
    if (fw != nullptr)
      for (const auto& cap : fw->info.capabilities())
        aware = aware
                || cap.type() == v1::FrameworkInfo::Capability::PARTITION_AWARE;
    status_update(agent_update(fw_id, none, task_id,
                               aware ? v1::TASK_DROPPED : v1::TASK_LOST,
                               v1::TaskStatus::REASON_TASK_UNKNOWN,
                               "the agent does not know this task"),
                  false);
    return;
  }
  if (is_terminal(t->state))
    return;
  bool queued = e->state != executor_record::phase::running || !e->handle;
  if (queued) {
    // Never reached the executor: it ends here, and with it the rest of its
    // task group (a group runs whole or not at all, as in Mesos).
    std::vector<std::string> killed = {task_id};
    auto& q = e->queued;
    for (auto i = q.begin(); i != q.end(); ++i) {
      auto ids = task_ids(*i);
      if (std::find(ids.begin(), ids.end(), task_id) != ids.end()) {
        killed = std::move(ids);
        q.erase(i);
        break;
      }
    }
    for (const auto& id : killed)
      status_update(agent_update(fw_id, *e, id, v1::TASK_KILLED,
                                 v1::TaskStatus::
                                   REASON_TASK_KILLED_DURING_LAUNCH,
                                 "killed before it was launched"),
                    false);
    bool others = std::any_of(e->tasks.begin(), e->tasks.end(), [](auto& x) {
      return !is_terminal(x.second.state);
    });
    if (!others)
      shutdown_executor(*e, "its last task was killed before launch");
    return;
  }
  self->send(e->handle, msg);
}

void agent_state::shutdown_framework(const std::string& framework_id) {
  auto* fw = find_framework(framework_id);
  if (fw == nullptr)
    return;
  log->info("shutting down framework framework_id={}", framework_id);
  fw->removed = true;
  std::vector<std::string> ids;
  for (auto& [exec_id, e] : fw->executors) {
    shutdown_executor(e, "the framework was removed");
    ids.push_back(exec_id);
  }
  for (const auto& id : ids)
    maybe_retire_executor(framework_id, id); // those that ended already
}

bool agent_state::refused_while_draining(
  const v1::FrameworkInfo& framework, const std::vector<std::string>& task_ids) {
  if (!drain_config)
    return false;
  bool aware = std::any_of(
    framework.capabilities().begin(), framework.capabilities().end(),
    [](const auto& cap) {
      return cap.type() == v1::FrameworkInfo::Capability::PARTITION_AWARE;
    });
  executor_record none;
  none.framework_id = framework.id().value();
  for (const auto& id : task_ids) {
    log->warn("refusing a launch while the agent drains task_id={}", id);
    status_update(agent_update(none.framework_id, none, id,
                               aware ? v1::TASK_DROPPED : v1::TASK_LOST,
                               v1::TaskStatus::REASON_AGENT_DRAINING,
                               "the agent is draining"),
                  false);
  }
  return true;
}

void agent_state::drain(const v1::internal::DrainAgent& msg) {
  const auto& config = msg.config();
  if (!drain_config)
    drain_started = now();
  drain_config = config;
  // Collected first: a kill may end an executor's whole queued group.
  std::vector<v1::internal::KillTask> kills;
  for (const auto& [fw_id, fw] : frameworks)
    for (const auto& [exec_id, e] : fw.executors)
      for (const auto& [task_id, t] : e.tasks) {
        if (is_terminal(t.state))
          continue;
        v1::internal::KillTask kill;
        kill.mutable_framework_id()->set_value(fw_id);
        kill.mutable_task_id()->set_value(task_id);
        if (config.has_max_grace_period()) {
          // The task's own grace period unless it is longer than the cap.
          const auto cap = config.max_grace_period().nanoseconds();
          const auto& policy = t.info.kill_policy();
          if (!t.info.has_kill_policy() || !policy.has_grace_period()
              || policy.grace_period().nanoseconds() > cap)
            kill.mutable_kill_policy()->mutable_grace_period()
              ->set_nanoseconds(cap);
        }
        kills.push_back(std::move(kill));
      }
  log->info("draining: killing {} task(s){}{}", kills.size(),
            config.has_max_grace_period()
              ? fmt::format(" max_grace_period={}s",
                            config.max_grace_period().nanoseconds() / 1e9)
              : std::string{},
            config.mark_gone() ? " mark_gone" : "");
  for (const auto& kill : kills)
    kill_task(kill);
  update_drain_status();
}

void agent_state::update_drain_status() {
  if (!drain_config)
    return;
  for (const auto& [key, s] : streams)
    if (!s.pending.empty() || !s.recording.empty())
      return;
  for (const auto& [fw_id, fw] : frameworks)
    for (const auto& [exec_id, e] : fw.executors) {
      if (!e.queued.empty())
        return;
      for (const auto& [task_id, t] : e.tasks)
        if (!is_terminal(t.state))
          return;
    }
  log->info("the agent finished draining");
  drain_config.reset();
}

} // namespace dcos::kernel
