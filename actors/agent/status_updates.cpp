// The status update manager: one ordered stream per task; every update is
// made durable before anything acts on it, only the head of a stream is in
// flight to the master, and it is resent with exponential backoff until
// the framework's acknowledgement comes back through the master.
#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/buggify.hpp"

namespace dcos::kernel {

v1::internal::StatusUpdate
agent_state::agent_update(const std::string& framework_id,
                          const executor_record& e, const std::string& task_id,
                          v1::TaskState state, v1::TaskStatus::Reason reason,
                          const std::string& message) {
  v1::internal::StatusUpdate update;
  update.mutable_framework_id()->set_value(framework_id);
  if (!e.command_executor && !e.info.executor_id().value().empty())
    *update.mutable_executor_id() = e.info.executor_id();
  auto* status = update.mutable_status();
  status->mutable_task_id()->set_value(task_id);
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_AGENT);
  status->set_reason(reason);
  status->set_message(message);
  status->set_uuid(new_uuid());
  if (e.pid != 0)
    status->mutable_container_status()->set_executor_pid(e.pid);
  return update;
}

void agent_state::status_update(v1::internal::StatusUpdate update,
                                bool from_executor) {
  const auto fw_id = update.framework_id().value();
  const auto task_id = update.status().task_id().value();
  const auto uuid = update.status().uuid();
  auto ack_executor = [this, fw_id, task_id, uuid, from_executor](
                        const std::string& exec_id) {
    if (!from_executor)
      return;
    auto* e = find_executor(fw_id, exec_id);
    if (e == nullptr || !e->handle)
      return;
    v1::internal::StatusUpdateAcknowledgement ack;
    *ack.mutable_agent_id() = info.id();
    ack.mutable_framework_id()->set_value(fw_id);
    ack.mutable_task_id()->set_value(task_id);
    ack.set_uuid(uuid);
    // A rare path for the simulation: the executor hears late that its
    // update is safe, and may send it again meanwhile.
    if (buggify("agent.late_executor_ack"))
      self->delayed_send(e->handle, std::chrono::seconds(3), std::move(ack));
    else
      self->send(e->handle, std::move(ack));
  };
  if (uuid.empty()) {
    log->warn("dropping a status update without uuid task_id={}", task_id);
    return;
  }
  executor_record* e = nullptr;
  auto* task = find_task(fw_id, task_id, &e);
  if (from_executor && task == nullptr) {
    // An executor only ever has tasks that are durable here, so a task the
    // agent does not know was retired with its executor: a late repeat,
    // retired only once every update of its tasks was acknowledged, so
    // this one was too. (The simulation found such repeats sent to the
    // framework again; and later, that the bounded history of retired
    // executors could forget the executor before its last repeat came.)
    log->warn("dropping a late update from an ended executor task_id={}",
              task_id);
    return;
  }
  std::string exec_id = e != nullptr ? e->info.executor_id().value()
                                     : update.executor_id().value();
  auto& s = streams[{fw_id, task_id}];
  if (s.task_id.empty()) {
    s.framework_id = fw_id;
    s.task_id = task_id;
    s.backoff = cfg.status_update_retry_min;
  }
  if (!s.uuids.insert(uuid).second) {
    // A retransmission. It is safe with us once on disk: until then, the
    // first copy's record acknowledges it. (The simulation found a repeat
    // acknowledged early, and the update lost in an agent crash.)
    if (s.recording.count(uuid) == 0)
      ack_executor(exec_id);
    return;
  }
  if (from_executor && task != nullptr && is_terminal(task->state)
      && !mutant("agent_forwards_after_end")) {
    // The agent has settled the task's end already (it saw the executor
    // exit first, say): a later word from the executor would give the
    // framework a second end. (The simulation found TASK_FAILED, for an
    // executor killed with its TASK_FINISHED still in the socket, followed
    // by that TASK_FINISHED.)
    log->warn("dropping a status update for ended task {} ({} after {})",
              task_id, v1::TaskState_Name(update.status().state()),
              v1::TaskState_Name(task->state));
    ack_executor(exec_id);
    return;
  }
  auto* status = update.mutable_status();
  *status->mutable_agent_id() = info.id();
  if (drain_config
      && (status->state() == v1::TASK_KILLING
          || status->state() == v1::TASK_KILLED)) {
    // As Mesos' agent: a kill while draining says so, and with mark_gone a
    // partition-aware framework hears its task is gone for good. (Only the
    // end is rewritten: a KILLING rewritten as GONE_BY_OPERATOR, as Mesos
    // does, would be followed by a second end.)
    status->set_reason(v1::TaskStatus::REASON_AGENT_DRAINING);
    auto* fw = find_framework(fw_id);
    if (status->state() == v1::TASK_KILLED && drain_config->mark_gone()
        && fw != nullptr
        && std::any_of(fw->info.capabilities().begin(),
                       fw->info.capabilities().end(), [](const auto& cap) {
                         return cap.type()
                                == v1::FrameworkInfo::Capability::
                                  PARTITION_AWARE;
                       }))
      status->set_state(v1::TASK_GONE_BY_OPERATOR);
  }
  if (!status->has_timestamp())
    status->set_timestamp(now());
  if (task != nullptr) {
    bool was_terminal = is_terminal(task->state);
    task->state = status->state();
    task->last_status = *status;
    task->last_status.clear_data();
    if (!was_terminal && is_terminal(task->state))
      ++metrics.tasks_terminal[task->state];
  }
  v1::internal::JournalRecord rec;
  *rec.mutable_update() = update;
  s.recording.insert(uuid);
  // A known bug for the simulation's mutation check: the executor is told
  // its update is safe before the update is on disk, and drops it.
  bool early_ack = mutant("agent_ack_before_checkpoint");
  if (early_ack)
    ack_executor(exec_id);
  record(rec, [this, fw_id, task_id, uuid, update = std::move(update),
               ack_executor, exec_id, early_ack]() mutable {
    auto i = streams.find({fw_id, task_id});
    if (i == streams.end())
      return;
    i->second.recording.erase(uuid);
    if (auto* t = find_task(fw_id, task_id))
      t->durable_state = update.status().state();
    i->second.pending.push_back(std::move(update));
    if (!early_ack)
      ack_executor(exec_id);
    if (!i->second.in_flight)
      forward_head(i->second);
  });
}

void agent_state::forward_head(update_stream& s) {
  if (s.pending.empty() || !registered || s.acking)
    return;
  // A known bug for the simulation's mutation check: a task's end never
  // leaves the agent, so its framework waits for it forever.
  if (is_terminal(s.pending.front().status().state())
      && mutant("agent_sits_on_task_ends"))
    return;
  auto head = s.pending.front();
  // The framework learns the task's newest durable state with the oldest
  // update.
  if (auto* task = find_task(s.framework_id, s.task_id))
    head.set_latest_state(task->durable_state);
  self->send(master, std::move(head));
  ++metrics.status_updates_sent;
  s.in_flight = true;
  self->delayed_send(self, s.backoff, retry_atom::value, s.framework_id,
                     s.task_id, ++s.generation);
}

void agent_state::retry(const std::string& framework_id,
                        const std::string& task_id, uint64_t generation) {
  auto i = streams.find({framework_id, task_id});
  if (i == streams.end() || i->second.generation != generation
      || !i->second.in_flight)
    return;
  auto& s = i->second;
  s.backoff = std::min(s.backoff * 2, cfg.status_update_retry_max);
  ++metrics.status_updates_retried;
  forward_head(s);
}

void agent_state::acknowledge(
  const v1::internal::StatusUpdateAcknowledgement& ack) {
  const auto& fw_id = ack.framework_id().value();
  const auto& task_id = ack.task_id().value();
  auto i = streams.find({fw_id, task_id});
  if (i == streams.end() || i->second.pending.empty()
      || i->second.pending.front().status().uuid() != ack.uuid())
    return; // a duplicate, or for an update we already moved past
  if (i->second.acking)
    return; // a duplicate of the acknowledgement being recorded
  i->second.acking = true;
  v1::internal::JournalRecord rec;
  *rec.mutable_ack() = ack;
  record(rec, [this, fw_id, task_id, uuid = ack.uuid()] {
    auto i = streams.find({fw_id, task_id});
    if (i == streams.end() || i->second.pending.empty()
        || i->second.pending.front().status().uuid() != uuid)
      return;
    auto& s = i->second;
    s.acking = false;
    // A known bug for the simulation's mutation check: the acknowledged
    // update stays at the head, and its retry timer sends it again.
    if (mutant("agent_keeps_acked_updates"))
      return;
    auto acked = std::move(s.pending.front());
    s.pending.erase(s.pending.begin());
    // A known bug for the simulation's mutation check: the acknowledged
    // update goes behind the later ones, to be sent again after them.
    if (!s.pending.empty() && mutant("agent_requeues_acked_updates"))
      s.pending.push_back(std::move(acked));
    ++s.generation; // the retry timer of the acknowledged update is void
    s.in_flight = false;
    s.backoff = cfg.status_update_retry_min;
    if (!s.pending.empty()) {
      forward_head(s);
      return;
    }
    executor_record* e = nullptr;
    if (find_task(fw_id, task_id, &e) != nullptr && e != nullptr)
      maybe_retire_executor(fw_id, e->info.executor_id().value());
    update_drain_status();
  });
}

void agent_state::resend_all() {
  for (auto& [key, s] : streams) {
    s.in_flight = false;
    s.backoff = cfg.status_update_retry_min;
    forward_head(s);
  }
  resend_operation_updates();
}

} // namespace dcos::kernel
