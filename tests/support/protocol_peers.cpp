#include "support/protocol_peers.hpp"

#include <fmt/format.h>

namespace dcos::test {

namespace {

struct agent_state {
  agent_state() = default;
  std::shared_ptr<agent_log> log;
  master_actor master;
  std::vector<caf::typed_response_promise<pong_atom>> unanswered;
};

using agent_self = scripted_agent_actor::stateful_pointer<agent_state>;

void registered(agent_self self, caf::expected<v1::internal::AgentRegistered> r) {
  if (r)
    self->state.log->agent_id = r->agent_id().value();
  else
    self->state.log->register_error = to_string(r.error());
}

void send_registration(agent_self self,
                       const v1::internal::RegisterAgent& msg) {
  self
    ->request(self->state.master, caf::infinite,
              caf::actor_cast<agent_actor>(self), msg)
    .then([self](v1::internal::AgentRegistered& r) { registered(self, r); },
          [self](caf::error& e) { registered(self, e); });
}

// Registers at start when `first` has agent info.
scripted_agent_actor::behavior_type
agent_behavior(agent_self self, master_actor master,
               std::shared_ptr<agent_log> log,
               v1::internal::RegisterAgent first) {
  self->state.log = std::move(log);
  self->state.master = std::move(master);
  if (first.has_agent_info())
    send_registration(self, first);
  auto& L = *self->state.log;
  return {
    [self, &L](ping_atom) -> caf::result<pong_atom> {
      ++L.pings;
      if (L.responsive)
        return pong_atom::value;
      auto rp = self->make_response_promise<pong_atom>();
      self->state.unanswered.push_back(rp); // never answered
      return rp;
    },
    [self, &L](const v1::internal::RunTask& x) {
      L.runs.push_back(x);
      if (!L.auto_complete)
        return;
      int n = 0;
      for (auto state : {v1::TASK_RUNNING, v1::TASK_FINISHED}) {
        v1::internal::StatusUpdate update;
        *update.mutable_framework_id() = x.framework().id();
        auto* status = update.mutable_status();
        *status->mutable_task_id() = x.task().task_id();
        status->mutable_agent_id()->set_value(L.agent_id);
        status->set_state(state);
        status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
        status->set_uuid(x.task().task_id().value() + "/" + std::to_string(n++));
        self->send(self->state.master, std::move(update));
      }
    },
    [&L](const v1::internal::RunTaskGroup& x) { L.groups.push_back(x); },
    [&L](const v1::internal::KillTask& x) { L.kills.push_back(x); },
    [&L](const v1::internal::ShutdownExecutor& x) {
      L.executor_shutdowns.push_back(x);
    },
    [&L](const v1::internal::ShutdownFramework& x) {
      L.framework_shutdowns.push_back(x);
    },
    [&L](const v1::internal::StatusUpdateAcknowledgement& x) {
      L.acks.push_back(x);
    },
    [&L](const v1::internal::FrameworkToExecutor& x) {
      L.messages.push_back(x);
    },
    [self, &L](const v1::internal::CheckpointResources& x) {
      L.checkpoints.push_back(x);
      // As a real agent: each operation asking feedback is finished.
      for (const auto& op : x.operations()) {
        if (!L.answer_operations)
          break;
        v1::internal::UpdateOperationStatus update;
        *update.mutable_operation() = op;
        auto* status = update.mutable_operation()->mutable_latest_status();
        status->set_state(v1::OPERATION_FINISHED);
        status->mutable_uuid()->set_value(
          fmt::format("finished-{:07}", ++L.operation_statuses));
        self->send(self->state.master, std::move(update));
      }
    },
    [&L](const v1::internal::AcknowledgeOperationStatus& x) {
      L.operation_acks.push_back(x);
    },
    [&L](const v1::internal::DrainAgent& x) { L.drains.push_back(x); },
    [&L](shutdown_atom, const std::string& why) { L.shutdowns.push_back(why); },
    [self](const v1::internal::StatusUpdate& x) {
      self->send(self->state.master, x);
    },
    [self](const v1::internal::ExecutorToFramework& x) {
      self->send(self->state.master, x);
    },
    [self](const v1::internal::ExitedExecutor& x) {
      self->send(self->state.master, x);
    },
    [self](reregister_atom, const v1::internal::ReregisterAgent& report) {
      self
        ->request(self->state.master, caf::infinite,
                  caf::actor_cast<agent_actor>(self), report)
        .then([self](v1::internal::AgentRegistered& r) { registered(self, r); },
              [self](caf::error& e) { registered(self, e); });
    },
  };
}

} // namespace

scripted_agent_actor spawn_scripted_agent(caf::actor_system& sys,
                                          master_actor master,
                                          v1::AgentInfo info,
                                          std::shared_ptr<agent_log> log) {
  v1::internal::RegisterAgent msg;
  *msg.mutable_agent_info() = std::move(info);
  msg.set_version("test");
  return sys.spawn(agent_behavior, std::move(master), std::move(log),
                   std::move(msg));
}

scripted_agent_actor
spawn_reregistering_agent(caf::actor_system& sys, master_actor master,
                          v1::internal::ReregisterAgent report,
                          std::shared_ptr<agent_log> log) {
  auto agent = sys.spawn(agent_behavior, std::move(master), std::move(log),
                         v1::internal::RegisterAgent{});
  caf::anon_send(agent, reregister_atom::value, std::move(report));
  return agent;
}

// -- framework ---------------------------------------------------------------------

std::vector<v1::Offer> framework_log::take_offers() {
  std::vector<v1::Offer> fresh(offers.begin() + static_cast<long>(offers_taken),
                               offers.end());
  offers_taken = offers.size();
  return fresh;
}

std::vector<v1::TaskStatus>
framework_log::updates_of(const std::string& task_id) const {
  std::vector<v1::TaskStatus> result;
  for (const auto& u : updates)
    if (u.task_id().value() == task_id)
      result.push_back(u);
  return result;
}

framework_actor spawn_recording_framework(caf::actor_system& sys,
                                          std::shared_ptr<framework_log> log) {
  return sys.spawn([log]() -> framework_actor::behavior_type {
    return {
      [log](const call::Event::Subscribed& x) { log->subscribed.push_back(x); },
      [log](disconnected_atom) { ++log->disconnected; },
      [log](const call::Event::Offers& x) {
        for (const auto& o : x.offers())
          log->offers.push_back(o);
      },
      [log](const call::Event::Rescind& x) {
        log->rescinds.push_back(x.offer_id());
      },
      [log](const call::Event::Update& x) { log->updates.push_back(x.status()); },
      [log](const call::Event::Message& x) { log->messages.push_back(x); },
      [log](const call::Event::Failure& x) { log->failures.push_back(x); },
      [log](const call::Event::Error& x) { log->errors.push_back(x.message()); },
      [log](const call::Event::InverseOffers& x) {
        for (const auto& o : x.inverse_offers())
          log->inverse_offers.push_back(o);
      },
      [log](const call::Event::RescindInverseOffer& x) {
        log->inverse_rescinds.push_back(x.inverse_offer_id());
      },
      [log](const call::Event::UpdateOperationStatus& x) {
        log->operation_updates.push_back(x.status());
      },
    };
  });
}

} // namespace dcos::test
