// Operation feedback (Mesos' v1 API): an Offer.Operation with an `id` asks
// for UPDATE_OPERATION_STATUS events about it.
//
// Our agents do not give operation feedback yet (Mesos' agents announce it
// with the AGENT_OPERATION_FEEDBACK capability), so the master answers as
// Mesos does for such an agent: a LAUNCH or LAUNCH_GROUP with an id ends
// its tasks in TASK_ERROR, any other operation with an id is dropped
// (OPERATION_DROPPED, its resources go back) and nothing of it is applied.
// Operations without an id are applied as before. No operation is ever
// pending, so GET_OPERATIONS lists none, implicit reconciliation answers
// nothing, explicit reconciliation answers from what the master knows of
// the agent, and an acknowledgement finds nothing to acknowledge.
#include <fmt/format.h>

#include "master_state.hpp"

namespace dcos::kernel {

namespace {

v1::OperationStatus operation_status(v1::OperationState state,
                                     const v1::OperationID& id,
                                     const v1::AgentID& agent,
                                     std::string message) {
  v1::OperationStatus status;
  *status.mutable_operation_id() = id;
  status.set_state(state);
  status.set_message(std::move(message));
  if (!agent.value().empty())
    *status.mutable_agent_id() = agent;
  return status;
}

} // namespace

void master_state::send_operation_status(const framework_record& fw,
                                         v1::OperationStatus status) {
  if (!fw.connected)
    return;
  call::Event::UpdateOperationStatus event;
  *event.mutable_status() = std::move(status);
  self->send(fw.handle, std::move(event));
}

void master_state::refuse_feedback(framework_record& fw,
                                   const agent_record& agent,
                                   const v1::Offer::Operation& op) {
  const auto& agent_id = agent.info.id().value();
  switch (op.type()) {
    case v1::Offer::Operation::LAUNCH:
      for (const auto& task : op.launch().task_infos())
        refuse_launch(fw, task.task_id().value(), agent_id, v1::TASK_ERROR,
                      v1::TaskStatus::REASON_TASK_INVALID,
                      "The `id` field cannot be set on LAUNCH operations");
      return;
    case v1::Offer::Operation::LAUNCH_GROUP:
      for (const auto& task : op.launch_group().task_group().tasks())
        refuse_launch(fw, task.task_id().value(), agent_id, v1::TASK_ERROR,
                      v1::TaskStatus::REASON_TASK_GROUP_INVALID,
                      "The `id` field cannot be set on LAUNCH_GROUP "
                      "operations");
      return;
    default: {
      auto why = fmt::format("Operation on agent default resources requested "
                             "feedback, but agent {} does not give operation "
                             "feedback (AGENT_OPERATION_FEEDBACK)",
                             agent_id);
      log->warn("dropping {} operation {} of framework {}: {}",
                v1::Offer::Operation::Type_Name(op.type()), op.id().value(),
                fw.info.id().value(), why);
      send_operation_status(fw, operation_status(v1::OPERATION_DROPPED,
                                                 op.id(), agent.info.id(),
                                                 std::move(why)));
      return;
    }
  }
}

void master_state::acknowledge_operation_status(
  const std::string& framework_id,
  const call::Call::AcknowledgeOperationStatus& call) {
  if (find_framework(framework_id, "ACKNOWLEDGE_OPERATION_STATUS") == nullptr)
    return;
  // Mesos, too, ignores an acknowledgement for an operation it does not
  // know; none is ever pending here (see above).
  log->warn("ignoring ACKNOWLEDGE_OPERATION_STATUS of operation {} from "
            "framework {}: no such pending operation",
            call.operation_id().value(), framework_id);
}

void master_state::reconcile_operations(
  const std::string& framework_id,
  const call::Call::ReconcileOperations& call) {
  auto* fw = find_framework(framework_id, "RECONCILE_OPERATIONS");
  if (fw == nullptr)
    return;
  // Implicit reconciliation answers each pending operation: there is none.
  for (const auto& op : call.operations()) {
    const auto& agent_id = op.agent_id().value();
    v1::OperationState state = v1::OPERATION_UNKNOWN;
    std::string why = "Reconciliation: Operation is unknown";
    if (agent_id.empty()) {
      // Unknown, and no agent to ask about.
    } else if (recovering_agents.count(agent_id) > 0) {
      state = v1::OPERATION_RECOVERING;
      why = "Reconciliation: Agent is recovered but has not re-registered";
    } else if (unreachable.count(agent_id) > 0) {
      state = v1::OPERATION_UNREACHABLE;
      why = "Reconciliation: Agent is unreachable";
    } else if (gone_agents.count(agent_id) > 0) {
      state = v1::OPERATION_GONE_BY_OPERATOR;
      why = "Reconciliation: Agent has been marked gone";
    }
    auto status = operation_status(state, op.operation_id(), op.agent_id(),
                                   std::move(why));
    if (op.has_resource_provider_id())
      *status.mutable_resource_provider_id() = op.resource_provider_id();
    send_operation_status(*fw, std::move(status));
  }
}

v1::master::Response::GetOperations master_state::get_operations() const {
  return {}; // none is ever pending (see above)
}

} // namespace dcos::kernel
