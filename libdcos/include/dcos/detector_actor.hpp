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
// simulation), remote_detector (HOST:PORT of a master's HTTP endpoint) and
// election_detector (whoever leads an election, e.g. in ZooKeeper).
// spawn_detector() makes the one a --master flag names.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/election_actor.hpp>
#include <dcos/master_actor.hpp>

namespace dcos {

using detector_actor = caf::typed_actor<
  caf::replies_to<detect_atom, master_actor>::with<master_actor>>;

/// A detector that always names `master`.
detector_actor spawn_fixed_detector(caf::actor_system& sys,
                                    master_actor master);

/// A detector for a master reachable at HOST:PORT (its HTTP port, the only
/// address operators type). It asks GET /master/actor_endpoint for the
/// master's actor port (following one redirect: a standby among several
/// masters names the leader), connects over CAF's network layer (never
/// blocking), checks the peer really is a master, and monitors it: once it
/// is gone, the next detect() resolves the address again. Failures are
/// retried with exponential backoff (0.5 s doubling to `max_backoff`) while
/// anyone waits.
/// REQUIRES: the actor system has the middleman loaded.
detector_actor spawn_remote_detector(
  caf::actor_system& sys, std::string host, uint16_t port,
  caf::timespan max_backoff = std::chrono::seconds(30));

/// Where a master's MasterInfo, as JSON (its election member's data), says
/// it serves HTTP: address.ip (else address.hostname, else hostname) and
/// address.port (else port). Fields this version does not know are ignored
/// (Mesos' masters write more). nullopt if it names no address.
std::optional<std::pair<std::string, uint16_t>>
master_http_endpoint(const std::string& master_info_json);

/// A detector for the master leading `election`: the leader's data is its
/// MasterInfo as JSON, and its address.ip (or hostname) and port are then
/// reached as spawn_remote_detector reaches HOST:PORT. While no leader is
/// known, detect() waits. The detector does not own `election`.
detector_actor spawn_election_detector(caf::actor_system& sys,
                                       election_actor election);

/// Where a --master flag points: the election at a ZooKeeper URL, or one
/// master's HOST:PORT.
struct master_location {
  std::optional<zk_url> zk;
  std::string host;
  uint16_t port = 0;
};

/// Parses a --master flag: "zk://HOSTS/PATH" or "HOST[:PORT]" (default port
/// 5050). Errors name `what` (the flag).
caf::expected<master_location>
parse_master_location(std::string_view text,
                      std::string_view what = "--master");

/// The detector for `where`: a ZooKeeper location is followed through an
/// election (with a session of `zk_session_timeout`, owned by the
/// detector), a HOST:PORT is reached directly.
/// REQUIRES: the actor system has the middleman loaded.
detector_actor
spawn_detector(caf::actor_system& sys, const master_location& where,
               caf::timespan zk_session_timeout = default_zk_session_timeout);

} // namespace dcos
