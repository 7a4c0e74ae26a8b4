// The allocator actor: applies events to hierarchical_allocator and runs
// allocation passes, periodically and after events, coalesced.
#include "dcos/allocator_actor.hpp"

#include <chrono>
#include <unordered_set>

#include <caf/all.hpp>

#include "dcos/buggify.hpp"
#include "hierarchical_allocator.hpp"

namespace dcos {

namespace {

// Internal triggers: a coalesced pass, the periodic pass, and a lapsed
// offer filter on an agent.
using allocator_impl
  = allocator_actor::extend<caf::reacts_to<allocate_atom>,
                            caf::reacts_to<tick_atom>,
                            caf::reacts_to<timeout_atom, std::string>>;

struct allocator_state {
  static inline const char* name = "dcos.allocator";

  alloc::hierarchical_allocator logic;
  alloc::allocator_stats stats;
  bool pass_queued = false;  // an allocate_atom is in our mailbox
  bool all_agents = false;   // the queued pass covers every agent
  std::unordered_set<std::string> agents; // else: just these
};

using self_ptr = allocator_impl::stateful_pointer<allocator_state>;

// Asks for a pass over `agent_id` (every agent if empty). The request is
// queued as a message to ourselves, so every event already in the mailbox is
// applied before the pass runs: a burst of events costs one pass.
void request_pass(self_ptr self, const std::string& agent_id = {}) {
  auto& st = self->state;
  if (agent_id.empty())
    st.all_agents = true;
  else if (!st.all_agents)
    st.agents.insert(agent_id);
  if (!st.pass_queued) {
    st.pass_queued = true;
    self->send(self, allocate_atom::value);
  }
}

void run_pass(self_ptr self, const allocator_client& client,
              const std::vector<std::string>* agents) {
  auto& st = self->state;
  // Wall time only feeds the metrics; allocation itself reads the actor
  // clock (virtual in the simulation).
  auto started = std::chrono::steady_clock::now();
  auto batches = st.logic.allocate(self->clock().now(), agents);
  auto ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - started)
              .count();
  ++st.stats.allocation_runs;
  st.stats.last_run_ms = ms;
  st.stats.total_run_ms += ms;
  st.stats.filters_active = st.logic.active_filters();
  for (auto& batch : batches) {
    st.stats.offers_made += batch.agents.size();
    self->send(client, std::move(batch));
  }
}

allocator_impl::behavior_type allocator(self_ptr self, allocator_client client,
                                        allocator_config cfg) {
  self->state.logic = alloc::hierarchical_allocator{
    alloc::allocator_options{cfg.seed}};
  self->delayed_send(self, cfg.allocation_interval, tick_atom::value);
  auto event = [self] { ++self->state.stats.events; };
  return {
    [=](const alloc::add_agent& x) {
      event();
      self->state.logic.add_agent(x);
      request_pass(self, x.agent_id);
    },
    [=](const alloc::remove_agent& x) {
      event();
      self->state.logic.remove_agent(x.agent_id);
      self->state.agents.erase(x.agent_id);
    },
    [=](const alloc::update_agent& x) {
      event();
      self->state.logic.update_agent(x);
      request_pass(self, x.agent_id);
    },
    [=](const alloc::activate_agent& x) {
      event();
      self->state.logic.activate_agent(x.agent_id, x.active);
      if (x.active)
        request_pass(self, x.agent_id);
    },
    [=](const alloc::add_framework& x) {
      event();
      self->state.logic.add_framework(x);
      request_pass(self);
    },
    [=](const alloc::remove_framework& x) {
      event();
      self->state.logic.remove_framework(x.framework_id);
      request_pass(self); // its resources are free again
    },
    [=](const alloc::activate_framework& x) {
      event();
      self->state.logic.activate_framework(x.framework_id, x.active);
      if (x.active)
        request_pass(self);
    },
    [=](const alloc::update_framework& x) {
      event();
      self->state.logic.update_framework(x);
      request_pass(self);
    },
    [=](const alloc::recover& x) {
      event();
      auto now = self->clock().now();
      if (auto expires = self->state.logic.recover(x, now))
        // When the filter lapses the resources become offerable to this
        // framework again: look at the agent then.
        self->delayed_send(self, *expires - now, timeout_atom::value,
                           x.agent_id);
      request_pass(self, x.agent_id);
    },
    [=](const alloc::convert& x) {
      event();
      self->state.logic.convert(x);
    },
    [=](const alloc::convert_free& x) {
      event();
      bool applied = self->state.logic.convert_free(x);
      if (applied)
        request_pass(self, x.agent_id);
      return applied;
    },
    [=](const alloc::suppress& x) {
      event();
      self->state.logic.suppress(x);
    },
    [=](const alloc::revive& x) {
      event();
      self->state.logic.revive(x);
      request_pass(self);
    },
    [=](const alloc::set_weights& x) {
      event();
      self->state.logic.set_weights(x);
    },
    [=](const alloc::set_quota& x) {
      event();
      self->state.logic.set_quota(x);
      request_pass(self);
    },
    [=](alloc::allocate_now) {
      run_pass(self, client, nullptr);
      return self->state.stats;
    },
    [=](metrics_atom) { return self->state.stats; },
    [=](timeout_atom, const std::string& agent_id) {
      request_pass(self, agent_id);
    },
    [=](allocate_atom) {
      auto& st = self->state;
      st.pass_queued = false;
      if (st.all_agents) {
        run_pass(self, client, nullptr);
      } else if (!st.agents.empty()) {
        std::vector<std::string> agents(st.agents.begin(), st.agents.end());
        std::sort(agents.begin(), agents.end()); // deterministic order
        run_pass(self, client, &agents);
      }
      st.all_agents = false;
      st.agents.clear();
    },
    [=](tick_atom) {
      // A rare path for the simulation: a periodic pass that never happens
      // (as under a long GC pause); frameworks must not depend on it.
      if (!buggify("allocator.skip_pass"))
        request_pass(self);
      self->delayed_send(self, cfg.allocation_interval, tick_atom::value);
    },
  };
}

} // namespace

allocator_actor spawn_allocator(caf::actor_system& sys,
                                allocator_client client,
                                allocator_config cfg) {
  auto impl = sys.spawn(allocator, std::move(client), cfg);
  return caf::actor_cast<allocator_actor>(impl);
}

} // namespace dcos
