// The actor that turns the cluster view's snapshots into the zone: every
// cluster_snapshot becomes a record_set (record_set.hpp), published whole
// to a zone_holder with the next SOA serial. It is the cluster view's
// observer; a lost master changes nothing (the last zone is served until
// the next snapshot replaces it), as Mesos-DNS keeps its records while the
// master is away.
//
// No clock, no randomness, no I/O: it can run in the simulation as it is.
#pragma once

#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>

#include <dcos/cluster_view_actor.hpp>

#include "dns_config.hpp"
#include "zone_snapshot.hpp"

namespace dcos::mesos_dns {

struct zone_builder_config {
  dns_settings settings;
  std::shared_ptr<zone_holder> zone;
  /// The first zone's SOA serial (the daemon passes the time it started,
  /// so that serials grow across restarts, as Mesos-DNS' do).
  uint32_t first_serial = 1;
};

cluster_observer_actor spawn_zone_builder(caf::actor_system& sys,
                                          zone_builder_config cfg);

} // namespace dcos::mesos_dns
