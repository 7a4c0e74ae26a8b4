// Operation feedback (Mesos' v1 API): an Offer.Operation with an `id` asks
// for UPDATE_OPERATION_STATUS events about it.
//
// Our agents give feedback (Mesos' AGENT_OPERATION_FEEDBACK). RESERVE,
// UNRESERVE, CREATE and DESTROY are applied by the master at once, as
// Mesos applies these speculative operations; the checkpoint that carries
// them to the agent names the operations asking feedback, and the agent
// answers each with OPERATION_FINISHED once the checkpoint is on its disk,
// again and again until the framework acknowledges it. An invalid
// operation with an id is answered OPERATION_ERROR at once. The master
// keeps an operation until its framework acknowledged a terminal status
// (GET_OPERATIONS lists those) and answers reconciliation from them. When
// an agent is removed it forgets the operations there, telling the
// frameworks OPERATION_UNREACHABLE or OPERATION_GONE_BY_OPERATOR if the
// agent is unreachable or gone (by the operator, or for maintenance), as
// Mesos does; reconciliation then answers from the agent's state. A LAUNCH
// or LAUNCH_GROUP with an id ends its tasks in TASK_ERROR, as in Mesos.
#include <cstring>

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

bool is_terminal(v1::OperationState state) {
  switch (state) {
    case v1::OPERATION_FINISHED:
    case v1::OPERATION_FAILED:
    case v1::OPERATION_ERROR:
    case v1::OPERATION_DROPPED:
    case v1::OPERATION_GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
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

void master_state::refuse_launch_with_id(framework_record& fw,
                                         const agent_record& agent,
                                         const v1::Offer::Operation& op) {
  const auto& agent_id = agent.info.id().value();
  if (op.type() == v1::Offer::Operation::LAUNCH)
    for (const auto& task : op.launch().task_infos())
      refuse_launch(fw, task.task_id().value(), agent_id, v1::TASK_ERROR,
                    v1::TaskStatus::REASON_TASK_INVALID,
                    "The `id` field cannot be set on LAUNCH operations");
  else
    for (const auto& task : op.launch_group().task_group().tasks())
      refuse_launch(fw, task.task_id().value(), agent_id, v1::TASK_ERROR,
                    v1::TaskStatus::REASON_TASK_GROUP_INVALID,
                    "The `id` field cannot be set on LAUNCH_GROUP "
                    "operations");
}

void master_state::operation_error(framework_record& fw,
                                   const agent_record& agent,
                                   const v1::Offer::Operation& op,
                                   const std::string& why) {
  send_operation_status(fw, operation_status(v1::OPERATION_ERROR, op.id(),
                                             agent.info.id(), why));
}

v1::Operation master_state::track_operation(const framework_record& fw,
                                            const agent_record& agent,
                                            const v1::Offer::Operation& op) {
  v1::Operation tracked;
  *tracked.mutable_framework_id() = fw.info.id();
  *tracked.mutable_agent_id() = agent.info.id();
  *tracked.mutable_info() = op;
  std::string uuid(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    auto x = rng();
    std::memcpy(uuid.data() + i, &x, 8);
  }
  tracked.mutable_uuid()->set_value(uuid);
  *tracked.mutable_latest_status() = operation_status(
    v1::OPERATION_PENDING, op.id(), agent.info.id(), {});
  operations[uuid] = tracked;
  return tracked;
}

void master_state::acknowledge_to_agent(const v1::Operation& op) {
  auto agent = agents.find(op.agent_id().value());
  if (agent == agents.end() || !agent->second.connected)
    return;
  v1::internal::AcknowledgeOperationStatus ack;
  *ack.mutable_operation_uuid() = op.uuid();
  *ack.mutable_status_uuid() = op.latest_status().uuid();
  self->send(agent->second.handle, std::move(ack));
}

void master_state::operation_update(
  const v1::internal::UpdateOperationStatus& msg) {
  const auto& reported = msg.operation();
  const auto& uuid = reported.uuid().value();
  const auto& status = reported.latest_status();
  // As in Mesos, only a registered agent speaks for its operations: one
  // that is unreachable or removed retries until it has re-registered.
  if (agents.count(reported.agent_id().value()) == 0) {
    log->warn("dropping the status of operation {} from agent {}, which is "
              "not registered",
              reported.info().id().value(), reported.agent_id().value());
    return;
  }
  auto at = operations.find(uuid);
  if (at == operations.end()) {
    auto acked = acknowledged_operations.find(uuid);
    bool framework_gone
      = frameworks.count(reported.framework_id().value()) == 0;
    if ((acked != acknowledged_operations.end()
         && acked->second == status.uuid().value())
        || framework_gone) {
      // Acknowledged already, or nobody is left to: the agent may stop.
      acknowledge_to_agent(reported);
      return;
    }
    // Known to the agent from before a master failover, or from before
    // it was removed (unreachable, say): the master forgot it then.
    at = operations.emplace(uuid, reported).first;
    at->second.clear_statuses();
    *at->second.add_statuses() = status;
  }
  auto& op = at->second;
  if (op.latest_status().uuid().value() != status.uuid().value()) {
    *op.mutable_latest_status() = status;
    *op.add_statuses() = status;
  }
  if (auto* fw = find_framework(reported.framework_id().value(),
                                "UpdateOperationStatus"))
    send_operation_status(*fw, status); // again for a retry: not yet acked
}

void master_state::resend_pending_operations(agent_record& agent) {
  std::vector<v1::Operation> pending;
  for (const auto& [uuid, op] : operations)
    if (op.agent_id().value() == agent.info.id().value()
        && op.latest_status().state() == v1::OPERATION_PENDING)
      pending.push_back(op);
  if (!pending.empty())
    checkpoint_resources(agent, std::move(pending));
}

void master_state::acknowledge_operation_status(
  const std::string& framework_id,
  const call::Call::AcknowledgeOperationStatus& call) {
  if (find_framework(framework_id, "ACKNOWLEDGE_OPERATION_STATUS") == nullptr)
    return;
  for (auto at = operations.begin(); at != operations.end(); ++at) {
    auto& op = at->second;
    if (op.framework_id().value() != framework_id
        || op.info().id().value() != call.operation_id().value()
        || op.agent_id().value() != call.agent_id().value())
      continue;
    const auto& latest = op.latest_status();
    if (latest.uuid().value() != call.uuid()) {
      log->warn("ignoring ACKNOWLEDGE_OPERATION_STATUS of operation {} from "
                "framework {}: not its latest status",
                call.operation_id().value(), framework_id);
      return;
    }
    acknowledge_to_agent(op);
    if (is_terminal(latest.state())) {
      // The agent may not have heard (it is away): its copies sent again
      // are acknowledged again.
      constexpr size_t kept = 10000;
      acknowledged_operations[at->first] = latest.uuid().value();
      acknowledged_order.push_back(at->first);
      if (acknowledged_order.size() > kept) {
        acknowledged_operations.erase(acknowledged_order.front());
        acknowledged_order.pop_front();
      }
      operations.erase(at);
    }
    return;
  }
  // Mesos, too, ignores an acknowledgement for an operation it does not
  // know.
  log->warn("ignoring ACKNOWLEDGE_OPERATION_STATUS of operation {} from "
            "framework {}: no such operation",
            call.operation_id().value(), framework_id);
}

void master_state::reconcile_operations(
  const std::string& framework_id,
  const call::Call::ReconcileOperations& call) {
  auto* fw = find_framework(framework_id, "RECONCILE_OPERATIONS");
  if (fw == nullptr)
    return;
  // The latest status, without a uuid: nothing to acknowledge.
  auto latest = [](const v1::Operation& op) {
    auto status = op.latest_status();
    status.clear_uuid();
    return status;
  };
  if (call.operations_size() == 0) {
    // Implicit: every operation the master knows of the framework.
    for (const auto& [uuid, op] : operations)
      if (op.framework_id().value() == framework_id)
        send_operation_status(*fw, latest(op));
    return;
  }
  for (const auto& asked : call.operations()) {
    const auto& agent_id = asked.agent_id().value();
    const v1::Operation* known = nullptr;
    for (const auto& [uuid, op] : operations)
      if (op.framework_id().value() == framework_id
          && op.info().id().value() == asked.operation_id().value()
          && (agent_id.empty() || op.agent_id().value() == agent_id))
        known = &op;
    if (known != nullptr) {
      send_operation_status(*fw, latest(*known));
      continue;
    }
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
    auto status = operation_status(state, asked.operation_id(),
                                   asked.agent_id(), std::move(why));
    if (asked.has_resource_provider_id())
      *status.mutable_resource_provider_id() = asked.resource_provider_id();
    send_operation_status(*fw, std::move(status));
  }
}

void master_state::forget_operations_of_agent(
  const std::string& agent_id, std::optional<v1::OperationState> feedback,
  const std::string& why) {
  for (auto at = operations.begin(); at != operations.end();) {
    const auto& op = at->second;
    if (op.agent_id().value() != agent_id) {
      ++at;
      continue;
    }
    // Terminal ones too, as Mesos: their status was not acknowledged, and
    // the master will not be able to answer for them any more.
    if (auto fw = frameworks.find(op.framework_id().value());
        feedback && fw != frameworks.end())
      send_operation_status(fw->second,
                            operation_status(*feedback, op.info().id(),
                                             op.agent_id(), why));
    at = operations.erase(at);
  }
}

void master_state::forget_operations_of_framework(
  const std::string& framework_id) {
  for (auto at = operations.begin(); at != operations.end();)
    if (at->second.framework_id().value() == framework_id)
      at = operations.erase(at);
    else
      ++at;
}

v1::master::Response::GetOperations master_state::get_operations() const {
  v1::master::Response::GetOperations out;
  for (const auto& [uuid, op] : operations)
    *out.add_operations() = op;
  return out;
}

} // namespace dcos::kernel
