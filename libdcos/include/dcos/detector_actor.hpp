// Leader detection. Agents and schedulers never hold a master address; they
// ask a detector, and ask again when the master they had is lost.
//
// `detect(previous)` answers with the current leading master as soon as it
// differs from `previous` (pass a default-constructed handle to get the
// leader at once). While the leader is unknown or unchanged the request
// stays pending, like Mesos' long-polling detector, so callers put their own
// timeout on it.
//
// Implementations: fixed_detector (a known handle, in-process and in the
// simulation) and remote_detector (HOST:PORT of a master's HTTP endpoint);
// a ZooKeeper detector arrives with high availability.
#pragma once

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

} // namespace dcos
