// The scheduler SDK as typed actors, for frameworks written as actors.
//
// You implement a framework_actor (the events below); spawn_scheduler_driver
// connects it to the master named by a detector and returns a
// scheduler_driver_actor that takes your calls. The driver:
//  - subscribes with your FrameworkInfo, and re-subscribes with the assigned
//    framework id whenever the master is lost (link down, or heartbeats
//    missing) and found again, with exponential backoff (a master that
//    answers that it is recovering is asked again after min_backoff / 10);
//  - tells you: Subscribed on every (re-)subscription, disconnected_atom when
//    the master is lost;
//  - forwards every event (inverse offers ask you to leave an agent before
//    its machine's maintenance: answer AcceptInverseOffers or
//    DeclineInverseOffers, or ignore them); with `auto_acknowledge` it acknowledges each
//    status update that carries a uuid once it is in your mailbox;
//  - stamps calls with the framework id and sends them to the current
//    master; calls made while disconnected are dropped (offers from a lost
//    master are void anyway; reconcile after Subscribed).
// The same code works with an in-process master and a remote one.
//
// The callback class dcos::scheduler (scheduler.hpp) is built on this.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/v1/scheduler.pb.h>

namespace dcos {

/// What your scheduler receives.
using framework_actor = caf::typed_actor<
  caf::reacts_to<call::Event::Subscribed>, caf::reacts_to<disconnected_atom>,
  caf::reacts_to<call::Event::Offers>, caf::reacts_to<call::Event::Rescind>,
  caf::reacts_to<call::Event::Update>, caf::reacts_to<call::Event::Message>,
  caf::reacts_to<call::Event::Failure>, caf::reacts_to<call::Event::Error>,
  caf::reacts_to<call::Event::InverseOffers>,
  caf::reacts_to<call::Event::RescindInverseOffer>,
  caf::reacts_to<call::Event::UpdateOperationStatus>>;

/// What your scheduler calls. Teardown removes the framework (its tasks are
/// killed) and ends the driver; to end the driver but keep the framework
/// (failover), send it an exit message instead.
using scheduler_driver_actor = caf::typed_actor<
  caf::reacts_to<call::Call::Accept>, caf::reacts_to<call::Call::Decline>,
  caf::reacts_to<call::Call::Revive>, caf::reacts_to<call::Call::Suppress>,
  caf::reacts_to<call::Call::Kill>, caf::reacts_to<call::Call::Shutdown>,
  caf::reacts_to<call::Call::Acknowledge>,
  caf::reacts_to<call::Call::Reconcile>, caf::reacts_to<call::Call::Message>,
  caf::reacts_to<call::Call::AcceptInverseOffers>,
  caf::reacts_to<call::Call::DeclineInverseOffers>,
  caf::reacts_to<call::Call::Request>,
  caf::reacts_to<call::Call::AcknowledgeOperationStatus>,
  caf::reacts_to<call::Call::ReconcileOperations>,
  caf::reacts_to<call::Call::Teardown>,
  // Changes the framework's info (and suppressed roles) at the master; the
  // driver re-subscribes with the new info from then on. Refused with the
  // master's error, or errc::unavailable while not subscribed.
  caf::replies_to<call::Call::UpdateFramework>::with<v1::FrameworkInfo>>;

struct scheduler_options {
  bool auto_acknowledge = true;
  std::vector<std::string> suppressed_roles; // at subscription
  caf::timespan min_backoff = std::chrono::milliseconds(500);
  caf::timespan max_backoff = std::chrono::seconds(30);
  caf::timespan subscribe_timeout = std::chrono::seconds(10);
  /// The master is taken as lost after this many heartbeat intervals
  /// without any message from it.
  uint32_t missed_heartbeats = 5;
};

/// Spawns a driver for `framework` (its id set to fail over to an existing
/// framework). The driver ends when `framework` ends, after Teardown, or
/// when the master rejects the subscription (you get an Error event first).
scheduler_driver_actor
spawn_scheduler_driver(caf::actor_system& sys, framework_actor framework,
                       v1::FrameworkInfo info, detector_actor detector,
                       scheduler_options opts = {});

} // namespace dcos
