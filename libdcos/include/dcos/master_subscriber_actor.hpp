// What follows the master's operator event stream, in process: the same
// events as SUBSCRIBE on POST /api/v1 (see v1::master::Event), for services
// that run beside the master (DNS, load balancing, the dashboard).
//
// Subscribe with master_actor's (subscribe_atom, master_subscriber_actor)
// request: its reply is the SUBSCRIBED event, with the whole state; every
// change after that state arrives as one message, in the order the master
// made the changes, and HEARTBEAT at the master's framework heartbeat
// interval. The master monitors the subscriber and forgets it when it ends;
// to start over (say after falling behind), end and subscribe again.
//
// A subscriber must keep up: the master sends without waiting and an
// actor's mailbox is not bounded. Over HTTP, a subscriber that falls more
// than http_stream::max_queued_bytes behind is cut off instead.
#pragma once

#include <caf/typed_actor.hpp>

#include <dcos/type_bridge.hpp>
#include <dcos/v1/master.pb.h>

namespace dcos {

using master_subscriber_actor
  = caf::typed_actor<caf::reacts_to<v1::master::Event>>;

} // namespace dcos
