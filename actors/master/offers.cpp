// Offers: made from the allocator's batches, accepted (with operations) or
// declined by frameworks, rescinded when their agent or framework goes.
#include <optional>

#include <fmt/format.h>

#include "dcos/buggify.hpp"
#include "dcos/error.hpp"
#include "dcos/mesos_defaults.hpp"
#include "master_state.hpp"
#include "validation.hpp"

namespace dcos::kernel {

namespace {

std::optional<caf::timespan> refuse_for(const v1::Filters& filters) {
  auto seconds = refuse_seconds(filters);
  if (!(seconds > 0))
    return std::nullopt;
  // Mesos caps filters at a year; so do we (and keep the duration finite).
  seconds = std::min(seconds, 365.0 * 24 * 3600);
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(seconds));
}

} // namespace

std::string role_of(const resources& rs) {
  return rs.empty() ? std::string{"*"} : rs.begin()->allocation_role;
}

resources agent_record::offered(
  const std::unordered_map<std::string, offer_record>& all) const {
  resources result;
  for (const auto& id : offers)
    if (auto i = all.find(id); i != all.end())
      result += i->second.amount;
  return result;
}

resources agent_record::used_total() const {
  resources result;
  for (const auto& [fw, amount] : used)
    result += amount;
  return result;
}

void master_state::make_offers(alloc::offer_batch batch) {
  auto fw_it = frameworks.find(batch.framework_id);
  call::Event::Offers event;
  for (auto& [agent_id, amount] : batch.agents) {
    auto agent_it = agents.find(agent_id);
    bool usable = fw_it != frameworks.end() && fw_it->second.active
                  && agent_it != agents.end() && agent_it->second.active;
    if (!usable) {
      // Things changed while the allocator worked: give it back.
      self->send(allocator, alloc::recover{batch.framework_id, agent_id,
                                           std::move(amount), std::nullopt});
      continue;
    }
    auto& fw = fw_it->second;
    auto& agent = agent_it->second;
    auto id = new_id("O", next_offer);
    auto& offer = *event.add_offers();
    offer.mutable_id()->set_value(id);
    *offer.mutable_framework_id() = fw.info.id();
    *offer.mutable_agent_id() = agent.info.id();
    offer.set_hostname(agent.info.hostname());
    if (agent.info.has_domain())
      *offer.mutable_domain() = agent.info.domain();
    *offer.mutable_attributes() = agent.info.attributes();
    if (const auto* machine = machine_of(agent.info))
      *offer.mutable_unavailability() = machine->unavailability;
    amount.to_proto(offer.mutable_resources());
    offer.mutable_allocation_info()->set_role(role_of(amount));
    auto* url = offer.mutable_url();
    url->set_scheme("http");
    url->mutable_address()->set_hostname(agent.info.hostname());
    url->mutable_address()->set_port(agent.info.has_port() ? agent.info.port()
                                                           : 5051);
    for (const auto& [key, executor] : agent.executors)
      if (key.framework_id == batch.framework_id)
        *offer.add_executor_ids() = executor.executor_id();
    fw.offers.insert(id);
    agent.offers.insert(id);
    offers.emplace(id, offer_record{batch.framework_id, agent_id,
                                    std::move(amount)});
  }
  if (event.offers_size() > 0) {
    metrics.offers_sent += static_cast<uint64_t>(event.offers_size());
    // A known bug for the simulation's mutation check: the same offers go
    // out twice (as a retried send without deduplication would).
    if (mutant("master_resends_offers"))
      self->send(fw_it->second.handle, event);
    self->send(fw_it->second.handle, std::move(event));
  }
}

void master_state::rescind(const std::string& offer_id,
                           bool recover_resources) {
  auto i = offers.find(offer_id);
  if (i == offers.end())
    return;
  auto offer = std::move(i->second);
  offers.erase(i);
  ++metrics.offers_rescinded;
  if (auto a = agents.find(offer.agent_id); a != agents.end())
    a->second.offers.erase(offer_id);
  if (auto f = frameworks.find(offer.framework_id); f != frameworks.end()) {
    f->second.offers.erase(offer_id);
    if (f->second.connected) {
      call::Event::Rescind event;
      event.mutable_offer_id()->set_value(offer_id);
      self->send(f->second.handle, std::move(event));
    }
  }
  if (recover_resources)
    self->send(allocator, alloc::recover{offer.framework_id, offer.agent_id,
                                         std::move(offer.amount),
                                         std::nullopt});
}

void master_state::rescind_agent_offers(agent_record& agent) {
  for (const auto& id : std::vector<std::string>(agent.offers.begin(),
                                                 agent.offers.end()))
    rescind(id, true);
}

void master_state::rescind_framework_offers(framework_record& fw) {
  for (const auto& id : std::vector<std::string>(fw.offers.begin(),
                                                 fw.offers.end()))
    rescind(id, true);
}

void master_state::checkpoint_resources(agent_record& agent,
                                        std::vector<v1::Operation> feedback) {
  if (!agent.connected)
    return;
  v1::internal::CheckpointResources msg;
  agent.total.to_proto(msg.mutable_resources());
  for (auto& op : feedback)
    *msg.add_operations() = std::move(op);
  self->send(agent.handle, std::move(msg));
}

void master_state::decline(const std::string& framework_id,
                           const call::Call::Decline& call) {
  auto* fw = find_framework(framework_id, "DECLINE");
  if (fw == nullptr)
    return;
  auto refuse = refuse_for(call.filters());
  for (const auto& offer_id : call.offer_ids()) {
    auto i = offers.find(offer_id.value());
    if (i == offers.end() || i->second.framework_id != framework_id)
      continue; // already rescinded, or not this framework's
    auto offer = std::move(i->second);
    offers.erase(i);
    fw->offers.erase(offer_id.value());
    if (auto a = agents.find(offer.agent_id); a != agents.end())
      a->second.offers.erase(offer_id.value());
    ++metrics.offers_declined;
    self->send(allocator, alloc::recover{framework_id, offer.agent_id,
                                         std::move(offer.amount), refuse});
  }
}

void master_state::refuse_launch(framework_record& fw,
                                 const std::string& task_id,
                                 const std::string& agent_id,
                                 v1::TaskState state,
                                 v1::TaskStatus::Reason reason,
                                 const std::string& message) {
  task_record shadow;
  shadow.id = task_id;
  shadow.framework_id = fw.info.id().value();
  shadow.agent_id = agent_id;
  shadow.state = state;
  shadow.last_status = master_status(shadow, state, reason, message);
  ++metrics.invalid_launches;
  count_terminal(state);
  send_update(fw, shadow.last_status);
  // Remembered so that a framework asking about the task later hears the
  // same end, not TASK_GONE (found by the simulation: a framework that
  // reconciled a launch it had been told was dropped learned two ends).
  fw.refused_launches.push_back(std::move(shadow));
  if (fw.refused_launches.size() > cfg.max_completed_tasks_per_framework)
    fw.refused_launches.pop_front();
}

void master_state::accept(const std::string& framework_id,
                          call::Call::Accept call) {
  auto* fw = find_framework(framework_id, "ACCEPT");
  if (fw == nullptr)
    return;
  auto taken = take_offers(*fw, call);
  auto agent_it = agents.find(taken.agent_id);
  if (taken.error.empty()
      && (agent_it == agents.end() || !agent_it->second.active))
    taken.error = fmt::format("agent {} is not available", taken.agent_id);
  auto refuse = refuse_for(call.filters());
  if (!taken.error.empty()) {
    refuse_accept(*fw, call, std::move(taken), refuse);
    return;
  }
  ++metrics.offers_accepted;
  auto& agent = agent_it->second;
  auto role = role_of(taken.remaining);
  // A known bug for the simulation's offer check: what the tasks launched
  // here use goes back to the allocator with the rest, to be offered again
  // while they run.
  std::optional<resources> everything;
  if (mutant("master_returns_launched_resources"))
    everything = taken.remaining;
  for (auto& op : *call.mutable_operations()) {
    const auto* feedback = op.id().value().empty() ? nullptr : &op;
    if (feedback != nullptr && (op.type() == v1::Offer::Operation::LAUNCH
                                || op.type()
                                     == v1::Offer::Operation::LAUNCH_GROUP)) {
      refuse_launch_with_id(*fw, agent, op); // what it would use stays
      continue;
    }
    switch (op.type()) {
      case v1::Offer::Operation::RESERVE:
        convert_offered(*fw, agent, taken,
                        validate_reserve(op.reserve().resources(), fw, role),
                        "RESERVE", feedback);
        break;
      case v1::Offer::Operation::UNRESERVE:
        convert_offered(*fw, agent, taken,
                        validate_unreserve(op.unreserve().resources(), fw,
                                           role),
                        "UNRESERVE", feedback);
        break;
      case v1::Offer::Operation::CREATE:
        convert_offered(*fw, agent, taken,
                        validate_create(op.create().volumes(), agent, role),
                        "CREATE", feedback);
        break;
      case v1::Offer::Operation::DESTROY:
        convert_offered(*fw, agent, taken,
                        validate_destroy(op.destroy().volumes(), role),
                        "DESTROY", feedback);
        break;
      case v1::Offer::Operation::LAUNCH:
        launch_tasks(*fw, agent, taken.remaining, role, *op.mutable_launch());
        break;
      case v1::Offer::Operation::LAUNCH_GROUP:
        launch_group(*fw, agent, taken.remaining, role,
                     *op.mutable_launch_group());
        break;
      default:
        log->warn("dropping operation of unknown type {} framework_id={}",
                  static_cast<int>(op.type()), framework_id);
        if (feedback != nullptr)
          operation_error(*fw, agent, op, "Unsupported operation type");
    }
  }
  if (everything)
    taken.remaining = std::move(*everything);
  if (!taken.remaining.empty())
    self->send(allocator, alloc::recover{framework_id, taken.agent_id,
                                         std::move(taken.remaining), refuse});
}

accepted_offers master_state::take_offers(framework_record& fw,
                                          const call::Call::Accept& call) {
  const auto& framework_id = fw.info.id().value();
  accepted_offers taken;
  if (call.offer_ids_size() == 0)
    taken.error = "accept: no offer ids";
  for (const auto& offer_id : call.offer_ids()) {
    auto i = offers.find(offer_id.value());
    if (i == offers.end()) {
      taken.error = fmt::format("offer {} is no longer valid",
                                offer_id.value());
      continue;
    }
    if (i->second.framework_id != framework_id) {
      taken.error = fmt::format("offer {} belongs to another framework",
                                offer_id.value());
      continue;
    }
    auto offer = std::move(i->second);
    offers.erase(i);
    fw.offers.erase(offer_id.value());
    if (auto a = agents.find(offer.agent_id); a != agents.end())
      a->second.offers.erase(offer_id.value());
    if (taken.agent_id.empty())
      taken.agent_id = offer.agent_id;
    if (offer.agent_id == taken.agent_id) {
      taken.remaining += offer.amount;
      continue;
    }
    taken.error = fmt::format("offers span agents {} and {}", taken.agent_id,
                              offer.agent_id);
    // Never used: straight back.
    self->send(allocator, alloc::recover{framework_id, offer.agent_id,
                                         std::move(offer.amount),
                                         std::nullopt});
  }
  return taken;
}

void master_state::refuse_accept(framework_record& fw,
                                 const call::Call::Accept& call,
                                 accepted_offers taken,
                                 std::optional<caf::timespan> refuse) {
  const auto& framework_id = fw.info.id().value();
  log->warn("invalid ACCEPT framework_id={} error=\"{}\"", framework_id,
            taken.error);
  if (!taken.agent_id.empty() && !taken.remaining.empty())
    self->send(allocator, alloc::recover{framework_id, taken.agent_id,
                                         std::move(taken.remaining), refuse});
  // Every operation asking feedback is dropped, as Mesos drops them.
  for (const auto& op : call.operations())
    if (!op.id().value().empty()
        && op.type() != v1::Offer::Operation::LAUNCH
        && op.type() != v1::Offer::Operation::LAUNCH_GROUP) {
      v1::OperationStatus status;
      *status.mutable_operation_id() = op.id();
      status.set_state(v1::OPERATION_DROPPED);
      status.set_message(taken.error);
      if (!taken.agent_id.empty())
        status.mutable_agent_id()->set_value(taken.agent_id);
      send_operation_status(fw, std::move(status));
    }
  // Every task it tried to launch is dropped (or lost).
  auto state = fw.partition_aware ? v1::TASK_DROPPED : v1::TASK_LOST;
  auto drop = [&](const v1::TaskInfo& task) {
    // A repeated ACCEPT (a retry) must not end what the first one launched
    // (found by the simulation's duplicated messages).
    if (fw.tasks.count(task.task_id().value()) == 0)
      refuse_launch(fw, task.task_id().value(), taken.agent_id, state,
                    v1::TaskStatus::REASON_INVALID_OFFERS, taken.error);
  };
  for (const auto& op : call.operations()) {
    for (const auto& task : op.launch().task_infos())
      drop(task);
    for (const auto& task : op.launch_group().task_group().tasks())
      drop(task);
  }
}

void master_state::convert_offered(framework_record& fw, agent_record& agent,
                                   accepted_offers& taken,
                                   caf::expected<conversion> conv,
                                   std::string_view what,
                                   const v1::Offer::Operation* op) {
  const auto& framework_id = fw.info.id().value();
  if (!conv) {
    log->warn("dropping {} framework_id={} error=\"{}\"", what, framework_id,
              describe_reason(conv.error()));
    if (op != nullptr)
      operation_error(fw, agent, *op, describe_reason(conv.error()));
    return;
  }
  if (!taken.remaining.contains(conv->from)) {
    log->warn("dropping {} framework_id={}: {} not in the offers ({})", what,
              framework_id, conv->from.to_string(),
              taken.remaining.to_string());
    if (op != nullptr)
      operation_error(fw, agent, *op,
                      fmt::format("Invalid {} operation: {} is not in the "
                                  "offered resources",
                                  what, conv->from.to_string()));
    return;
  }
  taken.remaining -= conv->from;
  taken.remaining += conv->to;
  agent.total -= conv->from.unallocate();
  agent.total += conv->to.unallocate();
  self->send(allocator, alloc::convert{framework_id, taken.agent_id,
                                       conv->from, conv->to});
  std::vector<v1::Operation> feedback;
  if (op != nullptr)
    feedback.push_back(track_operation(fw, agent, *op));
  checkpoint_resources(agent, std::move(feedback));
}

void master_state::launch_tasks(framework_record& fw, agent_record& agent,
                                resources& remaining, const std::string& role,
                                v1::Offer::Operation::Launch& op) {
  for (auto& task : *op.mutable_task_infos()) {
    auto plan = validate_task(task, fw, agent, remaining, role);
    if (!plan) {
      refuse_launch(fw, task.task_id().value(), agent.info.id().value(),
                    v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID,
                    describe_reason(plan.error()));
      continue;
    }
    launch_task(fw, agent, task,
                task.has_executor() ? &task.executor() : nullptr,
                std::move(*plan), remaining);
    v1::internal::RunTask run;
    *run.mutable_framework() = fw.info;
    run.mutable_task()->Swap(&task);
    self->send(agent.handle, std::move(run));
  }
}

void master_state::launch_group(framework_record& fw, agent_record& agent,
                                resources& remaining, const std::string& role,
                                v1::Offer::Operation::LaunchGroup& op) {
  auto plans = validate_task_group(*op.mutable_executor(),
                                   *op.mutable_task_group(), fw, agent,
                                   remaining, role);
  if (!plans) {
    // All or nothing: every task of the group fails.
    for (const auto& task : op.task_group().tasks())
      refuse_launch(fw, task.task_id().value(), agent.info.id().value(),
                    v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_GROUP_INVALID,
                    describe_reason(plans.error()));
    return;
  }
  for (size_t i = 0; i < plans->size(); ++i)
    launch_task(fw, agent, op.task_group().tasks(static_cast<int>(i)),
                &op.executor(), std::move((*plans)[i]), remaining);
  v1::internal::RunTaskGroup run;
  *run.mutable_framework() = fw.info;
  run.mutable_executor()->Swap(op.mutable_executor());
  run.mutable_task_group()->Swap(op.mutable_task_group());
  self->send(agent.handle, std::move(run));
}

} // namespace dcos::kernel
