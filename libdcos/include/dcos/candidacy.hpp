// Acting on a leader election: contend, lead while elected, and stop at once
// when leadership is lost. What every highly available daemon shares (the
// master; the services that run as several instances) and what the
// simulation runs for each of its masters.
//
// The candidacy contends in `election` with `data` and follows who leads:
//  - hooks.elected(self, member) runs once this candidacy leads. It starts
//    the leader's work and answers the actor doing it; the candidacy
//    monitors that actor, and its end ends the leadership (a leader whose
//    fenced write was refused stops: it was deposed).
//  - hooks.standby(self, data) runs whenever another member leads, with its
//    data ("" while no leader is known).
//  - hooks.lost(self, why) runs once leading is over, or was never reached:
//    the candidacy ended (session expired, membership deleted, connection
//    lost for as long as the server may take to expire the session), another
//    member leads after this one led, the leader's actor ended, or
//    contending failed. It must stop everything the leader does at once
//    (the master exits its process, as Mesos' masters do); the candidacy
//    quits after it. A lost candidacy is never renewed: start a new one.
//
// The candidacy owns the election and the leader's actor: both end with it.
// The hooks run in the candidacy's own turns, so they may keep state of
// their own without locks.
//
// Thread-safety: an actor; the hooks are called on its execution unit only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include <dcos/election_actor.hpp>

namespace dcos {

struct candidacy_hooks {
  std::function<caf::actor(caf::event_based_actor* self, int64_t member)>
    elected;
  std::function<void(caf::event_based_actor* self, const std::string& data)>
    standby;
  std::function<void(caf::event_based_actor* self, const std::string& why)>
    lost;
};

/// REQUIRES: `election` has no candidacy yet; every hook is set.
caf::actor spawn_candidacy(caf::actor_system& sys, election_actor election,
                           std::string data, candidacy_hooks hooks);

} // namespace dcos
