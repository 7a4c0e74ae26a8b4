#include "http_scheduler.hpp"

#include <caf/all.hpp>

#include "dcos/api_encoding.hpp"
#include "dcos/atoms.hpp"
#include "dcos/logging.hpp"
#include "dcos/recordio.hpp"
#include "dcos/type_bridge.hpp"

namespace dcos::kernel {

namespace {

using v1::scheduler::Call;
using v1::scheduler::Event;

struct http_scheduler_state {
  http_scheduler_config cfg;
  v1::FrameworkID framework_id; // set once subscribed
  static inline const char* name = "http_scheduler";
};

using self_ptr = http_scheduler_actor::stateful_pointer<http_scheduler_state>;

// Sends `event` down the stream; the actor ends if its subscriber is gone.
void emit(self_ptr self, const Event& event) {
  auto& st = self->state;
  auto record = recordio::encode(encode_answer(event, st.cfg.protobuf));
  if (!st.cfg.sink->write(std::move(record)))
    self->quit();
}

template <class Field, class Setter>
auto event_handler(self_ptr self, Event::Type type, Setter set) {
  return [self, type, set](Field& field) {
    Event event;
    event.set_type(type);
    *(event.*set)() = std::move(field);
    emit(self, event);
  };
}

// Hands `call` to the master for this framework.
void forward(self_ptr self, Call& call) {
  auto& master = self->state.cfg.master;
  const auto& id = self->state.framework_id;
  switch (call.type()) {
    case Call::TEARDOWN:
      self->send(master, id, Call::Teardown{});
      // The framework is gone: so is its stream (as Mesos closes it).
      self->quit();
      return;
    case Call::ACCEPT:
      self->send(master, id, std::move(*call.mutable_accept()));
      return;
    case Call::DECLINE:
      self->send(master, id, std::move(*call.mutable_decline()));
      return;
    case Call::REVIVE:
      self->send(master, id, std::move(*call.mutable_revive()));
      return;
    case Call::SUPPRESS:
      self->send(master, id, std::move(*call.mutable_suppress()));
      return;
    case Call::KILL:
      self->send(master, id, std::move(*call.mutable_kill()));
      return;
    case Call::SHUTDOWN:
      self->send(master, id, std::move(*call.mutable_shutdown()));
      return;
    case Call::ACKNOWLEDGE:
      self->send(master, id, std::move(*call.mutable_acknowledge()));
      return;
    case Call::RECONCILE:
      self->send(master, id, std::move(*call.mutable_reconcile()));
      return;
    case Call::MESSAGE:
      self->send(master, id, std::move(*call.mutable_message()));
      return;
    case Call::ACCEPT_INVERSE_OFFERS:
      self->send(master, id, std::move(*call.mutable_accept_inverse_offers()));
      return;
    case Call::DECLINE_INVERSE_OFFERS:
      self->send(master, id,
                 std::move(*call.mutable_decline_inverse_offers()));
      return;
    case Call::REQUEST:
      self->send(master, id, std::move(*call.mutable_request()));
      return;
    case Call::ACKNOWLEDGE_OPERATION_STATUS:
      self->send(master, id,
                 std::move(*call.mutable_acknowledge_operation_status()));
      return;
    case Call::RECONCILE_OPERATIONS:
      self->send(master, id, std::move(*call.mutable_reconcile_operations()));
      return;
    default:
      // The edge refuses every other type before it gets here, and asks
      // the master itself for UPDATE_FRAMEWORK.
      logging::get("master")
        ->warn("dropping call of type {} from framework {}",
               Call::Type_Name(call.type()), id.value());
      return;
  }
}

http_scheduler_actor::behavior_type
http_scheduler(self_ptr self, http_scheduler_config cfg) {
  self->state.cfg = std::move(cfg);
  // The edge stops routing calls here before the client can see the end.
  self->attach_functor([sink = self->state.cfg.sink,
                        ended = self->state.cfg.ended] {
    if (ended)
      ended();
    sink->close();
  });
  self->request(self->state.cfg.master, caf::infinite, subscribe_atom::value,
                caf::actor_cast<scheduler_actor>(self),
                self->state.cfg.subscribe)
    .then(
      [self](Event::Subscribed& subscribed) {
        auto& st = self->state;
        st.framework_id = subscribed.framework_id();
        Event event;
        event.set_type(Event::SUBSCRIBED);
        *event.mutable_subscribed() = subscribed;
        emit(self, event);
        st.cfg.subscribed(caf::actor_cast<http_scheduler_actor>(self),
                          std::move(subscribed));
      },
      [self](caf::error& err) {
        self->state.cfg.subscribed(caf::actor_cast<http_scheduler_actor>(self),
                                   std::move(err));
        self->quit();
      });
  return {
    event_handler<Event::Offers>(self, Event::OFFERS, &Event::mutable_offers),
    event_handler<Event::Rescind>(self, Event::RESCIND,
                                  &Event::mutable_rescind),
    event_handler<Event::Update>(self, Event::UPDATE, &Event::mutable_update),
    event_handler<Event::Message>(self, Event::MESSAGE,
                                  &Event::mutable_message),
    event_handler<Event::Failure>(self, Event::FAILURE,
                                  &Event::mutable_failure),
    event_handler<Event::InverseOffers>(self, Event::INVERSE_OFFERS,
                                        &Event::mutable_inverse_offers),
    event_handler<Event::RescindInverseOffer>(
      self, Event::RESCIND_INVERSE_OFFER, &Event::mutable_rescind_inverse_offer),
    event_handler<Event::UpdateOperationStatus>(
      self, Event::UPDATE_OPERATION_STATUS,
      &Event::mutable_update_operation_status),
    [self](Event::Error& error) {
      Event event;
      event.set_type(Event::ERROR);
      *event.mutable_error() = std::move(error);
      emit(self, event);
      // ERROR ends the subscription (Mesos closes the connection after it).
      self->quit();
    },
    [self](Event::Heartbeat&) {
      Event event;
      event.set_type(Event::HEARTBEAT);
      emit(self, event);
    },
    [self](Call& call) { forward(self, call); },
  };
}

} // namespace

http_scheduler_actor spawn_http_scheduler(caf::actor_system& sys,
                                          http_scheduler_config cfg) {
  return sys.spawn(http_scheduler, std::move(cfg));
}

} // namespace dcos::kernel
