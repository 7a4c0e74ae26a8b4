// Looking up the hosts that agents, schedulers and masters advertise by
// name ("node-3.example"), as Mesos-DNS looks them up (net.LookupIP): the
// system's resolver (getaddrinfo: /etc/hosts, then DNS), every IPv4 and
// IPv6 address, without duplicates.
//
// The lookup blocks, so the resolver runs on a thread of its own (a
// detached actor), one lookup at a time: the zone builder asks it and goes
// on; nothing that answers DNS queries ever waits for it. A name that does
// not resolve answers an empty list, never an error. One slow name (the
// resolver's timeouts) delays the names asked after it, not the zone.
#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

namespace dcos::mesos_dns {

using lookup_atom = caf::atom_constant<caf::atom("lookup")>;

using host_resolver_actor = caf::typed_actor<
  caf::replies_to<lookup_atom, std::string>::with<std::vector<std::string>>>;

/// A resolver on its own thread.
host_resolver_actor spawn_host_resolver(caf::actor_system& sys);

/// Ends `resolver` after the lookup it runs (if any), ahead of the lookups
/// still queued, which fail: the actor system's shutdown then waits for
/// one lookup at most.
void stop_host_resolver(const host_resolver_actor& resolver);

} // namespace dcos::mesos_dns
