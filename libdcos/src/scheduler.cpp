#include "dcos/scheduler.hpp"

#include <atomic>

#include <caf/all.hpp>

#include "dcos/error.hpp"

namespace dcos {

// -- default callbacks -------------------------------------------------------------

void scheduler::subscribed(scheduler_driver&, const call::Event::Subscribed&) {
}
void scheduler::disconnected(scheduler_driver&) {
}
void scheduler::offers(scheduler_driver& driver,
                       const std::vector<v1::Offer>& offers) {
  // Offers nobody looks at would sit idle: give them back.
  std::vector<v1::OfferID> ids;
  for (const auto& offer : offers)
    ids.push_back(offer.id());
  driver.decline(std::move(ids));
}
void scheduler::rescind(scheduler_driver&, const v1::OfferID&) {
}
void scheduler::update(scheduler_driver&, const v1::TaskStatus&) {
}
void scheduler::message(scheduler_driver&, const v1::AgentID&,
                        const v1::ExecutorID&, const std::string&) {
}
void scheduler::failure(scheduler_driver&, const call::Event::Failure&) {
}
void scheduler::error(scheduler_driver&, const std::string&) {
}
void scheduler::inverse_offers(scheduler_driver&,
                               const std::vector<v1::InverseOffer>&) {
}
void scheduler::rescind_inverse_offer(scheduler_driver&, const v1::OfferID&) {
}
void scheduler::operation_status(scheduler_driver&,
                                 const v1::OperationStatus&) {
}

// -- the adapter: events to callbacks -----------------------------------------------

struct scheduler_driver::shared {
  std::atomic<bool> failed{false};
};

namespace {

struct adapter_state {
  static inline const char* name = "dcos.scheduler_callbacks";
};

framework_actor::behavior_type
adapter(framework_actor::stateful_pointer<adapter_state> self,
        scheduler* sched, scheduler_driver* driver, bool auto_ack) {
  (void) self;
  return {
    [=](const call::Event::Subscribed& x) { sched->subscribed(*driver, x); },
    [=](disconnected_atom) { sched->disconnected(*driver); },
    [=](const call::Event::Offers& x) {
      std::vector<v1::Offer> offers(x.offers().begin(), x.offers().end());
      sched->offers(*driver, offers);
    },
    [=](const call::Event::Rescind& x) { sched->rescind(*driver, x.offer_id()); },
    [=](const call::Event::Update& x) {
      sched->update(*driver, x.status());
      if (auto_ack && !x.status().uuid().empty())
        driver->acknowledge(x.status()); // after the callback: at least once
    },
    [=](const call::Event::Message& x) {
      sched->message(*driver, x.agent_id(), x.executor_id(), x.data());
    },
    [=](const call::Event::Failure& x) { sched->failure(*driver, x); },
    [=](const call::Event::Error& x) { sched->error(*driver, x.message()); },
    [=](const call::Event::InverseOffers& x) {
      std::vector<v1::InverseOffer> offers(x.inverse_offers().begin(),
                                           x.inverse_offers().end());
      sched->inverse_offers(*driver, offers);
    },
    [=](const call::Event::RescindInverseOffer& x) {
      sched->rescind_inverse_offer(*driver, x.inverse_offer_id());
    },
    [=](const call::Event::UpdateOperationStatus& x) {
      sched->operation_status(*driver, x.status());
      if (auto_ack && !x.status().uuid().value().empty())
        driver->acknowledge_operation_status(x.status());
    },
  };
}

} // namespace

scheduler_driver::scheduler_driver(caf::actor_system& sys, scheduler& sched,
                                   v1::FrameworkInfo info,
                                   detector_actor detector,
                                   scheduler_options opts)
  : shared_(std::make_shared<shared>()), sys_(sys) {
  bool auto_ack = opts.auto_acknowledge;
  opts.auto_acknowledge = false; // the adapter does it after update()
  adapter_ = sys.spawn(adapter, &sched, this, auto_ack);
  driver_ = spawn_scheduler_driver(sys, adapter_, std::move(info),
                                   std::move(detector), std::move(opts));
  auto state = shared_;
  auto adapter_handle = adapter_;
  caf::actor_cast<caf::abstract_actor*>(driver_)->attach_functor(
    [state, adapter_handle](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::normal
          && reason != caf::exit_reason::user_shutdown)
        state->failed = true;
      caf::anon_send_exit(adapter_handle, caf::exit_reason::user_shutdown);
    });
}

scheduler_driver::~scheduler_driver() {
  stop();
  join();
}

void scheduler_driver::accept(std::vector<v1::OfferID> offers,
                              std::vector<v1::Offer::Operation> operations,
                              v1::Filters filters) {
  call::Call::Accept call;
  for (auto& id : offers)
    *call.add_offer_ids() = std::move(id);
  for (auto& op : operations)
    *call.add_operations() = std::move(op);
  *call.mutable_filters() = std::move(filters);
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::launch(const v1::OfferID& offer,
                              std::vector<v1::TaskInfo> tasks,
                              v1::Filters filters) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::LAUNCH);
  for (auto& task : tasks)
    *op.mutable_launch()->add_task_infos() = std::move(task);
  accept({offer}, {std::move(op)}, std::move(filters));
}

void scheduler_driver::launch_group(const v1::OfferID& offer,
                                    v1::ExecutorInfo executor,
                                    v1::TaskGroupInfo group,
                                    v1::Filters filters) {
  v1::Offer::Operation op;
  op.set_type(v1::Offer::Operation::LAUNCH_GROUP);
  *op.mutable_launch_group()->mutable_executor() = std::move(executor);
  *op.mutable_launch_group()->mutable_task_group() = std::move(group);
  accept({offer}, {std::move(op)}, std::move(filters));
}

void scheduler_driver::decline(std::vector<v1::OfferID> offers,
                               v1::Filters filters) {
  call::Call::Decline call;
  for (auto& id : offers)
    *call.add_offer_ids() = std::move(id);
  *call.mutable_filters() = std::move(filters);
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::kill(const v1::TaskID& task, const v1::AgentID& agent) {
  call::Call::Kill call;
  *call.mutable_task_id() = task;
  if (!agent.value().empty())
    *call.mutable_agent_id() = agent;
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::acknowledge(const v1::TaskStatus& status) {
  call::Call::Acknowledge call;
  *call.mutable_agent_id() = status.agent_id();
  *call.mutable_task_id() = status.task_id();
  call.set_uuid(status.uuid());
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::reconcile(
  const std::vector<std::pair<v1::TaskID, v1::AgentID>>& tasks) {
  call::Call::Reconcile call;
  for (const auto& [task, agent] : tasks) {
    auto* entry = call.add_tasks();
    *entry->mutable_task_id() = task;
    if (!agent.value().empty())
      *entry->mutable_agent_id() = agent;
  }
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::suppress(std::vector<std::string> roles) {
  call::Call::Suppress call;
  for (auto& role : roles)
    call.add_roles(std::move(role));
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::revive(std::vector<std::string> roles) {
  call::Call::Revive call;
  for (auto& role : roles)
    call.add_roles(std::move(role));
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::message(const v1::AgentID& agent,
                               const v1::ExecutorID& executor,
                               std::string data) {
  call::Call::Message call;
  *call.mutable_agent_id() = agent;
  *call.mutable_executor_id() = executor;
  call.set_data(std::move(data));
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::shutdown_executor(const v1::AgentID& agent,
                                         const v1::ExecutorID& executor) {
  call::Call::Shutdown call;
  *call.mutable_agent_id() = agent;
  *call.mutable_executor_id() = executor;
  caf::anon_send(driver_, std::move(call));
}

namespace {

template <class Call>
Call inverse_offer_answer(std::vector<v1::OfferID>& ids, v1::Filters& filters) {
  Call call;
  for (auto& id : ids)
    *call.add_inverse_offer_ids() = std::move(id);
  *call.mutable_filters() = std::move(filters);
  return call;
}

} // namespace

void scheduler_driver::accept_inverse_offers(
  std::vector<v1::OfferID> inverse_offers, v1::Filters filters) {
  caf::anon_send(driver_, inverse_offer_answer<call::Call::AcceptInverseOffers>(
                            inverse_offers, filters));
}

void scheduler_driver::decline_inverse_offers(
  std::vector<v1::OfferID> inverse_offers, v1::Filters filters) {
  caf::anon_send(driver_,
                 inverse_offer_answer<call::Call::DeclineInverseOffers>(
                   inverse_offers, filters));
}

void scheduler_driver::acknowledge_operation_status(
  const v1::OperationStatus& status) {
  call::Call::AcknowledgeOperationStatus call;
  *call.mutable_agent_id() = status.agent_id();
  call.set_uuid(status.uuid().value());
  *call.mutable_operation_id() = status.operation_id();
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::reconcile_operations(
  const std::vector<std::pair<v1::OperationID, v1::AgentID>>& operations) {
  call::Call::ReconcileOperations call;
  for (const auto& [operation, agent] : operations) {
    auto* entry = call.add_operations();
    *entry->mutable_operation_id() = operation;
    if (!agent.value().empty())
      *entry->mutable_agent_id() = agent;
  }
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::request(std::vector<v1::Request> requests) {
  call::Call::Request call;
  for (auto& r : requests)
    *call.add_requests() = std::move(r);
  caf::anon_send(driver_, std::move(call));
}

void scheduler_driver::update_framework(
  v1::FrameworkInfo info, std::vector<std::string> suppressed_roles) {
  call::Call::UpdateFramework call;
  *call.mutable_framework_info() = std::move(info);
  for (auto& role : suppressed_roles)
    call.add_suppressed_roles(std::move(role));
  // The answer comes later; a one-shot actor waits for it so that no
  // caller (a callback, typically) blocks.
  sys_.spawn([driver = driver_, adapter = adapter_,
              call = std::move(call)](caf::event_based_actor* self) mutable {
    self->request(driver, caf::infinite, std::move(call))
      .then([](const v1::FrameworkInfo&) {},
            [self, adapter](const caf::error& err) {
              call::Event::Error error;
              error.set_message("UPDATE_FRAMEWORK: " + describe_reason(err));
              self->send(adapter, std::move(error));
            });
  });
}

void scheduler_driver::teardown() {
  caf::anon_send(driver_, call::Call::Teardown{});
}

void scheduler_driver::stop() {
  caf::anon_send_exit(driver_, caf::exit_reason::user_shutdown);
}

int scheduler_driver::join() {
  caf::scoped_actor self{sys_};
  self->wait_for(driver_, adapter_);
  return shared_->failed ? 1 : 0;
}

} // namespace dcos
