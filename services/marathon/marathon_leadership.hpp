// One Marathon among several (dcos-marathon --zk), as Marathon's high
// availability works: every instance contends in a ZooKeeper election; the
// leader runs Marathon on its state in ZooKeeper, and the standbys forward
// their requests to it (marathon_edge).
//
// Once elected, the instance starts Marathon on the store under PATH/state,
// fenced by its own membership (so that a deposed leader can never write
// over its successor), waits until Marathon has loaded the state, and only
// then serves Marathon's routes. The new leader fails over to the framework
// id in the store and reconciles its tasks, as a restarted Marathon does.
//
// An instance whose candidacy ends (its session expired, ZooKeeper stayed
// out of reach for the session timeout, another member leads after it led,
// or Marathon stopped) exits the process with status 1 at once, as
// Marathon does: from that moment another instance may lead. Its supervisor
// restarts it as a standby. (A leader told to abdicate, DELETE /v2/leader,
// shuts down in order: its session ends and the next instance leads.)
#pragma once

#include <functional>

#include <caf/fwd.hpp>

#include <dcos/http_server.hpp>
#include <dcos/zk_url.hpp>

#include "marathon_actor.hpp"
#include "marathon_edge.hpp"

namespace dcos::marathon {

struct marathon_leadership_config {
  marathon_config marathon; // its store is set once elected
  zk_url zk;                // the election at PATH/leader, state at PATH/state
  caf::timespan session_timeout = default_zk_session_timeout;
  /// Marathon's routes for the elected Marathon.
  std::function<http_handler(marathon_actor)> routes;
};

/// Spawns the candidacy; ending it ends Marathon and its store.
/// REQUIRES: `edge` outlives the actor; every field is set.
caf::actor spawn_marathon_leadership(caf::actor_system& sys,
                                     marathon_leadership_config cfg,
                                     marathon_edge& edge);

} // namespace dcos::marathon
