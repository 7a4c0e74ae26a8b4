// How every libdcos process configures its CAF actor system: one place, so a
// daemon, an executor, the CLI and a benchmark all run the same scheduler and
// network settings.
//
// What it sets, and why:
//  - libdcos' message types (register_types) and CAF's network layer (BASP);
//  - CAF's own logger quiet (libdcos logs through spdlog);
//  - the scheduler's idle policy. CAF 0.17's workers, once out of work, spin
//    briefly, then poll their queue with 50 us sleeps for up to 500 attempts
//    (about 25-50 ms) before they wait on a condition variable. A message
//    from the network arriving in that window waits out a sleep (the
//    cross-process round trip was 0.26 ms, 0.1 ms without it), and every
//    idle process burns those wake-ups after each burst of work: with a
//    thousand executors on an agent that polling took most of both cores.
//    Here an idle worker spins briefly and then waits on its condition
//    variable, which a message from another thread signals at once;
//  - below 8 cores, no BASP worker thread: the network thread deserializes
//    a remote message and enqueues it to its receiver itself, one thread
//    hand-off fewer per message (CAF would run just one such worker there;
//    order per connection is kept either way).
//
// Thread-safety: call before the actor system is constructed from `cfg`.
#pragma once

#include <cstddef>

namespace caf {
class actor_system_config;
} // namespace caf

namespace dcos {

/// Configures `cfg` as described above. `workers`: scheduler threads (0
/// keeps CAF's default, max(cores, 4)). With a single worker there is nothing
/// to steal from, so an idle worker also stops waking up to look.
/// REQUIRES: called once per config, before the actor system starts.
void configure_actor_system(caf::actor_system_config& cfg, size_t workers = 0);

} // namespace dcos
