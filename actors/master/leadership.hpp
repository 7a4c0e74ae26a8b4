// One master among several (dcos-master --zk): it contends in the ZooKeeper
// election, follows who leads (so that its HTTP edge redirects there), and
// once elected starts the master on the registry in ZooKeeper, fenced by
// its own membership, publishes it and attaches it to the edge.
//
// A master whose candidacy ends (its session expired, or ZooKeeper stayed
// out of reach for the session timeout) exits the process with status 1
// at once, as Mesos' masters do ("lost leadership... committing suicide"):
// from that moment another master may lead, so it must not act on anything.
// Its supervisor restarts it as a standby. A failure to contend or to start
// the elected master, or the master stopping (its registry write refused
// because it no longer leads), exits the same way.
#pragma once

#include <cstdint>

#include <caf/fwd.hpp>

#include "dcos/master_actor.hpp"
#include "dcos/zk_url.hpp"
#include "master_http.hpp"

namespace dcos::kernel {

struct leadership_config {
  master_config master; // its store is the fenced registry, set on election
  zk_url zk;            // the election; the registry lives at PATH/registry
  caf::timespan session_timeout = default_zk_session_timeout;
  uint16_t actor_port = 0; // --actor_port, published once elected
};

/// Spawns the actor; ending it ends the master, the registry's store and the
/// candidacy. REQUIRES: `edge` outlives the actor.
caf::actor spawn_leadership(caf::actor_system& sys, leadership_config cfg,
                            master_http& edge);

} // namespace dcos::kernel
