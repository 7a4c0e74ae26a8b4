#include "dcos/actor_system_setup.hpp"

#include <chrono>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include "dcos/type_bridge.hpp"

namespace dcos {

void configure_actor_system(caf::actor_system_config& cfg, size_t workers) {
  using std::chrono::milliseconds;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Skip the sleep-polling phase: straight from a short spin to the
  // condition variable that external enqueues signal.
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  if (workers > 0)
    cfg.set("scheduler.max-threads", workers);
  // Below 8 cores CAF runs a single BASP worker between the network thread
  // and the receivers: one more thread hand-off per message and no
  // parallelism gained. Without it cross-process one-way throughput rose
  // from about 215k to 260-290k int32 messages per second on 2 cores
  // (issue #22). With more cores CAF deserializes on 2-4 workers at once,
  // which a master talking to many agents keeps.
  if (std::thread::hardware_concurrency() < 8)
    cfg.set("middleman.workers", size_t{0});
  // A waiting worker wakes on its own only to steal work queued behind a
  // busy sibling; alone, it has no sibling.
  if (workers == 1)
    cfg.set("work-stealing.relaxed-sleep-duration",
            caf::timespan{milliseconds{1000}});
}

} // namespace dcos
