// Leader election among the instances of a daemon (masters, Marathons, ...),
// over a coordination service.
//
// Each contender enters with its `data` (a master's MasterInfo as JSON); the
// member with the lowest sequence number leads. Everyone, contender or not,
// can follow who leads. In ZooKeeper this is Mesos' scheme: ephemeral
// sequential znodes `json.info_NNNNNNNNNN` under the election's path, so
// Mesos' own tools find our leading master and the other way round.
//
//  - contend(data) answers with the candidacy's sequence number once the
//    membership exists. One candidacy per election actor; a second contend()
//    fails with errc::conflict.
//  - lost() answers when the candidacy ends, with the reason: the session
//    expired, the membership znode was deleted, or the connection stayed lost
//    until the server may have expired the session (a session timeout after
//    the server last answered a heartbeat, less a margin): from that moment
//    another member may lead, so a leader must stop acting as one at once;
//    this is what keeps two masters from leading at once. It answers at once
//    if there is no candidacy. A lost candidacy is never renewed by itself:
//    contend again (Mesos' masters exit instead, to be restarted).
//  - leader(previous) answers with the leader's (sequence, data) once it
//    differs from `previous` (pass -1 to wait for the first leader). A
//    sequence of -1 with empty data means "no leader known": nobody
//    contends, or the session was lost. The leader of an election is
//    followed through session expiry with a new session.
//  - members() answers with the data of every member, the leader's first
//    (in sequence order), once connected: who contends, for tools such as
//    `dcos masters`. A member leaving while it is read is left out.
//  - members(previous) answers the same list once it differs from
//    `previous` (pass an empty list to get it at once when there are
//    members): followers of the whole membership, such as Mesos-DNS' masterN
//    records, learn of every member that joins or leaves without polling.
//
// A failure the election cannot recover from (no permission on the path,
// authentication refused) fails every pending and later request with an
// error naming the URL and the reason.
//
// Implementations: spawn_zk_election (Apache ZooKeeper); the simulation has
// its own coordination service.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/zk_url.hpp>

namespace dcos {

using election_actor = caf::typed_actor<
  caf::replies_to<contend_atom, std::string>::with<int64_t>,
  caf::replies_to<lost_atom>::with<std::string>,
  caf::replies_to<leader_atom, int64_t>::with<int64_t, std::string>,
  caf::replies_to<members_atom>::with<std::vector<std::string>>,
  caf::replies_to<members_atom, std::vector<std::string>>::with<
    std::vector<std::string>>>;

/// The znode of the member with `sequence` in the ZooKeeper election at
/// `url` (what a fenced store checks: spawn_zk_store).
std::string zk_member_path(const zk_url& url, int64_t sequence);

/// An election under `url.path` (created with its parents if missing).
/// Connects at once and keeps reconnecting; requests wait meanwhile.
election_actor spawn_zk_election(
  caf::actor_system& sys, zk_url url,
  caf::timespan session_timeout = default_zk_session_timeout);

} // namespace dcos
