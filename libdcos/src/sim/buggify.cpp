// The per-thread fault source behind dcos::buggify and dcos::mutant.
#include "dcos/buggify.hpp"

namespace dcos {

namespace {

thread_local sim::fault_source* source = nullptr;

} // namespace

bool buggify(std::string_view site) {
  return source != nullptr && source->fire(site);
}

bool mutant(std::string_view name) {
  return source != nullptr && source->mutant(name);
}

const std::vector<std::string_view>& known_mutants() {
  // Keep in step with the mutant("...") calls in actors/ and libdcos/src
  // (grep for them);
  // tests/sim/mutation_test.cpp proves each is caught.
  static const std::vector<std::string_view> names = {
    "agent_ack_before_checkpoint",
    "agent_forwards_after_end",
    "agent_keeps_acked_updates",
    "agent_requeues_acked_updates",
    "agent_sits_on_task_ends",
    "leader_ignores_lost_session",
    "allocator_double_offer",
    "allocator_ignores_guarantees",
    "allocator_ignores_quota",
    "allocator_ignores_reservations",
    "allocator_ignores_weights",
    "master_forwards_stale_updates",
    "master_keeps_tasks_unreachable",
    "master_loses_launched_tasks",
    "master_misses_task_ends",
    "master_resends_offers",
    "master_returns_launched_resources",
    "master_silent_unreachable",
  };
  return names;
}

sim::fault_source* sim::install_fault_source(fault_source* s) noexcept {
  auto* previous = source;
  source = s;
  return previous;
}

} // namespace dcos
