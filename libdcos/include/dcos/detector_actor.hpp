// Leader detection. Agents and schedulers never hold a master address; they
// ask a detector, and ask again when the master they had is lost.
//
// `detect(previous)` answers with the current leading master as soon as it
// differs from `previous` (pass a default-constructed handle to get the
// leader at once). Passing the handle the caller lost makes a remote
// detector look again; its next finding answers the caller even if it is the
// same master (the link was lost, not the master). While the leader is
// unknown the request stays pending, like Mesos' long-polling detector, so
// callers put their own timeout on it.
//
// Implementations: fixed_detector (a known handle, in-process and in the
// simulation) and remote_detector (HOST:PORT of a master's HTTP endpoint);
// a ZooKeeper detector arrives with high availability.
#pragma once

#include <chrono>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/master_actor.hpp>

namespace dcos {

using detector_actor = caf::typed_actor<
  caf::replies_to<detect_atom, master_actor>::with<master_actor>>;

/// A detector that always names `master`.
detector_actor spawn_fixed_detector(caf::actor_system& sys,
                                    master_actor master);

/// A detector for a master reachable at HOST:PORT (its HTTP port, the only
/// address operators type). It asks GET /master/actor_endpoint for the
/// master's actor port, connects over CAF's network layer (never blocking),
/// checks the peer really is a master, and monitors it: once it is gone,
/// the next detect() resolves the address again. Failures are retried with
/// exponential backoff (0.5 s doubling to `max_backoff`) while anyone waits.
/// REQUIRES: the actor system has the middleman loaded.
detector_actor spawn_remote_detector(
  caf::actor_system& sys, std::string host, uint16_t port,
  caf::timespan max_backoff = std::chrono::seconds(30));

} // namespace dcos
