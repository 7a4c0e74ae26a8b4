// A framework that speaks the scheduler API over HTTP, as the master sees
// it: one actor per SUBSCRIBE connection that implements scheduler_actor.
//
// The master cannot tell an HTTP framework from an actor framework: the
// actor subscribes with itself as the scheduler handle, so events, the
// heartbeat, failover and disconnection take the one path every framework
// takes. What the actor adds is the edge's work: each event goes to the
// connection as one RecordIO record (JSON in Mesos' mapping, or protobuf),
// and each call the HTTP edge accepted for this framework goes to the
// master on its behalf.
//
// Lifetime: the actor ends, closing its stream, when the master refuses the
// subscription, when it sends an ERROR event (the framework failed over to
// another connection), after a TEARDOWN, and when its stream is closed (the
// client went away or read too slowly). The master monitors it and takes
// its end as the framework disconnecting: the failover timeout starts.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "dcos/master_actor.hpp"
#include "dcos/scheduler_actor.hpp"
#include "dcos/stream_sink.hpp"

namespace dcos::kernel {

/// A scheduler_actor that also takes the framework's calls.
/// REQUIRES (calls): validated by the edge (type, sub-message present); the
/// framework id in them is ignored: the actor speaks for its own framework.
using http_scheduler_actor = scheduler_actor::extend<
  caf::reacts_to<v1::scheduler::Call>>;

struct http_scheduler_config {
  master_actor master;
  v1::scheduler::Call::Subscribe subscribe;
  /// Where the events go, as RecordIO records.
  std::shared_ptr<stream_sink> sink;
  /// Encode events as protobuf (else Mesos JSON).
  bool protobuf = false;
  /// Called once, from the actor (passed as the first argument), with the
  /// master's answer to the subscription. On success the SUBSCRIBED event
  /// is already in the sink, and later events follow it. Must not block.
  std::function<void(const http_scheduler_actor&,
                     caf::expected<v1::scheduler::Event::Subscribed>)>
    subscribed;
  /// Called once when the subscription ends (the framework torn down or
  /// removed, an ERROR, the client gone), just before the stream is closed.
  /// Any thread; must not block.
  std::function<void()> ended;
};

/// Spawns the actor, which subscribes to `cfg.master` at once.
http_scheduler_actor spawn_http_scheduler(caf::actor_system& sys,
                                          http_scheduler_config cfg);

} // namespace dcos::kernel
