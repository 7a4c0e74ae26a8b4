// Operation feedback on the agent: the statuses of the operations a
// framework asked feedback on (their ids), as a status update stream of
// their own. A checkpoint of resources names the operations it applies;
// once it is on disk each is OPERATION_FINISHED, journaled, and sent to
// the master again and again (backing off) until the master passes on the
// framework's acknowledgement. They survive a restart of the agent (the
// journal) and a failover of the master (every update carries its whole
// operation).
#include "agent_state.hpp"

namespace dcos::kernel {

void agent_state::finish_operations(
  const google::protobuf::RepeatedPtrField<v1::Operation>& ops) {
  for (const auto& op : ops) {
    if (auto known = operation_updates.find(op.uuid().value());
        known != operation_updates.end()) {
      // Finished before: the master lost the answer; it goes again.
      if (registered)
        self->send(master, known->second);
      continue;
    }
    v1::internal::UpdateOperationStatus update;
    auto* operation = update.mutable_operation();
    *operation = op;
    auto* status = operation->mutable_latest_status();
    status->Clear();
    *status->mutable_operation_id() = op.info().id();
    status->set_state(v1::OPERATION_FINISHED);
    status->mutable_uuid()->set_value(new_uuid());
    *status->mutable_agent_id() = info.id();
    *operation->add_statuses() = *status;
    v1::internal::JournalRecord rec;
    *rec.mutable_operation_update() = update;
    record(rec, [this, update = std::move(update)]() mutable {
      auto uuid = update.operation().uuid().value();
      bool first = operation_updates.empty();
      if (registered)
        self->send(master, update);
      operation_updates[uuid] = std::move(update);
      if (first) {
        operation_backoff = cfg.status_update_retry_min;
        self->delayed_send(self, operation_backoff, retry_atom::value,
                           ++operation_generation);
      }
    });
  }
}

void agent_state::acknowledge_operation(
  const v1::internal::AcknowledgeOperationStatus& ack) {
  auto at = operation_updates.find(ack.operation_uuid().value());
  if (at == operation_updates.end()
      || at->second.operation().latest_status().uuid().value()
           != ack.status_uuid().value())
    return; // a duplicate
  v1::internal::JournalRecord rec;
  *rec.mutable_operation_ack() = ack;
  record(rec, [this, ack] {
    auto at = operation_updates.find(ack.operation_uuid().value());
    if (at == operation_updates.end()
        || at->second.operation().latest_status().uuid().value()
             != ack.status_uuid().value())
      return;
    operation_updates.erase(at);
    if (operation_updates.empty())
      ++operation_generation; // its retry timer is void
  });
}

void agent_state::resend_operation_updates() {
  if (!registered || operation_updates.empty())
    return;
  for (const auto& [uuid, update] : operation_updates)
    self->send(master, update);
  operation_backoff = cfg.status_update_retry_min;
  self->delayed_send(self, operation_backoff, retry_atom::value,
                     ++operation_generation);
}

void agent_state::retry_operation_updates(uint64_t generation) {
  if (generation != operation_generation || operation_updates.empty())
    return;
  if (registered)
    for (const auto& [uuid, update] : operation_updates)
      self->send(master, update);
  operation_backoff
    = std::min(operation_backoff * 2, cfg.status_update_retry_max);
  self->delayed_send(self, operation_backoff, retry_atom::value,
                     ++operation_generation);
}

} // namespace dcos::kernel
