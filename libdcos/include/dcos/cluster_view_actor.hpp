// The cluster view: the leading master's state, kept current from its
// operator event stream and following leader changes, for services that
// name, balance or show what runs (Mesos-DNS, Minuteman, the dashboard).
//
// spawn_cluster_view(sys, detector, observer) finds the leading master
// through `detector`, asks it for its MasterInfo (GET_MASTER), subscribes to
// its event stream in process or over CAF's network layer (master_actor's
// subscribe request) and from then on:
//  - sends `observer` a cluster_snapshot with the whole state after the
//    SUBSCRIBED event and after every change. Changes that arrive within
//    `coalesce` of each other go out as one snapshot, so that a burst (an
//    app of 200 instances starting) costs a few snapshots, not 200;
//  - takes the master as lost when its link goes down or it stays silent
//    for `missed_heartbeats` heartbeat intervals; it then sends `observer`
//    disconnected_atom, asks the detector again (with exponential backoff
//    between failed attempts) and subscribes anew. The observer keeps the
//    last snapshot until the next SUBSCRIBED one replaces it whole: a
//    snapshot is never half-built.
// The view ends when `observer` ends.
//
// Thread-safety: a snapshot's state is immutable and shared; any thread may
// read it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/master_subscriber_actor.hpp>
#include <dcos/v1/master.pb.h>

namespace dcos {

/// What the view sends its observer.
struct cluster_snapshot {
  std::shared_ptr<const v1::master::Response::GetState> state;
  v1::MasterInfo leader; // the master the state is from
  uint64_t generation = 0; // grows by one with every snapshot sent
};

using cluster_observer_actor
  = caf::typed_actor<caf::reacts_to<cluster_snapshot>,
                     caf::reacts_to<disconnected_atom>>;

struct cluster_view_options {
  caf::timespan request_timeout = std::chrono::seconds(10);
  caf::timespan min_backoff = std::chrono::milliseconds(500);
  caf::timespan max_backoff = std::chrono::seconds(30);
  caf::timespan coalesce = std::chrono::milliseconds(5);
  /// The master is taken as lost after this many heartbeat intervals
  /// without any event from it.
  uint32_t missed_heartbeats = 5;
  /// Terminal tasks kept in the state's completed_tasks.
  size_t max_completed_tasks = 1000;
};

/// The view is a master_subscriber_actor (the master sends it events).
/// REQUIRES: `detector` and `observer` are valid.
master_subscriber_actor
spawn_cluster_view(caf::actor_system& sys, detector_actor detector,
                   cluster_observer_actor observer,
                   cluster_view_options opts = {});

} // namespace dcos

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::cluster_snapshot)
