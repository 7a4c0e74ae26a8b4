// The actor that turns the cluster view's snapshots into the zone: every
// cluster_snapshot becomes a record_set (record_set.hpp), published whole
// to a zone_holder with the next SOA serial. It is the cluster view's
// observer; a lost master changes nothing (the last zone is served until
// the next snapshot replaces it), as Mesos-DNS keeps its records while the
// master is away.
//
// Beyond the master's state, a zone needs:
//  - the addresses of hosts advertised by name (agents, schedulers,
//    masters). The builder asks `resolver` for each name when it first
//    appears, publishes the zone again when the answer arrives, and asks
//    again for every name still in use each RefreshSeconds, dropping the
//    rest (Mesos-DNS looks them up on each of its refreshes). Without a
//    resolver such hosts get no records.
//  - with the masters in a ZooKeeper election (`election`), every member,
//    followed as members join and leave, so that masterN names each of
//    them, as Mesos-DNS' ZooKeeper detector lists them (the leader first).
//    Without one, the configured Masters.
//
// No clock but CAF's timers, no randomness, no I/O of its own: it runs in
// the simulation as it is.
#pragma once

#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>

#include <dcos/cluster_view_actor.hpp>
#include <dcos/election_actor.hpp>

#include "dns_config.hpp"
#include "host_resolver_actor.hpp"
#include "zone_snapshot.hpp"

namespace dcos::mesos_dns {

struct zone_builder_config {
  dns_settings settings;
  std::shared_ptr<zone_holder> zone;
  /// The first zone's SOA serial (the daemon passes the time it started,
  /// so that serials grow across restarts, as Mesos-DNS' do).
  uint32_t first_serial = 1;
  /// Looks up hosts that are names; may be null.
  host_resolver_actor resolver;
  /// The masters' election; null unless --master is a ZooKeeper URL. The
  /// builder does not own it.
  election_actor election;
};

cluster_observer_actor spawn_zone_builder(caf::actor_system& sys,
                                          zone_builder_config cfg);

} // namespace dcos::mesos_dns
