// What a scheduler receives from the master. Every event is one typed
// message carrying the Mesos v1 Event sub-message; SUBSCRIBED is the reply to
// the subscribe request (see master_actor.hpp).
//
// Implement this interface to write a scheduler as an actor, or use the
// callback class dcos::scheduler (scheduler.hpp), which does it for you.
#pragma once

#include <caf/typed_actor.hpp>

#include <dcos/type_bridge.hpp>
#include <dcos/v1/scheduler.pb.h>

namespace dcos {

using scheduler_actor = caf::typed_actor<
  caf::reacts_to<v1::scheduler::Event::Offers>,
  caf::reacts_to<v1::scheduler::Event::Rescind>,
  caf::reacts_to<v1::scheduler::Event::Update>,
  caf::reacts_to<v1::scheduler::Event::Message>,
  caf::reacts_to<v1::scheduler::Event::Failure>,
  caf::reacts_to<v1::scheduler::Event::Error>,
  caf::reacts_to<v1::scheduler::Event::Heartbeat>,
  caf::reacts_to<v1::scheduler::Event::InverseOffers>,
  caf::reacts_to<v1::scheduler::Event::RescindInverseOffer>,
  caf::reacts_to<v1::scheduler::Event::UpdateOperationStatus>>;

} // namespace dcos
