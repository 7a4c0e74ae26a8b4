// One HTTP follower of the operator event stream (SUBSCRIBE on
// POST /api/v1): a master_subscriber_actor that writes each event to its
// connection as a RecordIO record (JSON in Mesos' mapping, or protobuf).
//
// Lifetime: the actor subscribes at once; it ends, closing its stream, when
// the master refuses the subscription or when the stream closes (the client
// went away, or fell more than http_stream::max_queued_bytes behind: it
// re-subscribes and gets a fresh snapshot). The master monitors it and
// forgets it then.
#pragma once

#include <functional>
#include <memory>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "dcos/master_actor.hpp"
#include "dcos/stream_sink.hpp"

namespace dcos::kernel {

struct operator_stream_config {
  master_actor master;
  /// Where the events go, as RecordIO records.
  std::shared_ptr<stream_sink> sink;
  /// Encode events as protobuf (else Mesos JSON).
  bool protobuf = false;
  /// Called once, from the actor, with the master's answer: no error means
  /// SUBSCRIBED is in the sink and later events follow it. Must not block.
  std::function<void(const master_subscriber_actor&, const caf::error&)>
    subscribed;
};

/// Spawns the actor, which subscribes to `cfg.master` at once.
master_subscriber_actor spawn_operator_stream(caf::actor_system& sys,
                                              operator_stream_config cfg);

} // namespace dcos::kernel
