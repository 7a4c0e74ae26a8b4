// Hierarchical weighted DRF allocation: the logic of the allocator actor,
// free of messaging so that tests and benchmarks drive it directly.
//
// One pass (allocate) visits agents in a seeded random order and hands each
// agent's free resources out in two stages, as Mesos does:
//  1. quota: roles below their guarantee, in DRF order, get what they still
//     need (reserved resources plus unreserved scalars chopped to the
//     missing amount);
//  2. fair share: roles in weighted-DRF order, then the frameworks of a role
//     in DRF order; the first eligible framework (active, not suppressed for
//     the role, not filtering these resources) gets everything the role may
//     use on the agent, minus what must stay free for unmet guarantees and
//     capped by the role's limits.
// Reserved resources go only to their role and its sub-roles.
//
// Cost: the DRF orders are kept sorted incrementally (drf_sorter); a pass
// costs O(agents * (eligibility checks + log frameworks)) and copies no
// cluster state. Totals changes re-sort once per pass.
//
// Time comes in as arguments (the actor passes its clock's now()), and the
// only randomness is the agent shuffle from the seeded engine: the same
// events and seed give the same offers.
//
// Thread-safety: none; owned by one actor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>

#include "dcos/allocator_actor.hpp"
#include "dcos/resources.hpp"
#include "drf_sorter.hpp"

namespace dcos::alloc {

using time_point = caf::actor_clock::time_point;

struct allocator_options {
  uint64_t seed = 0;
  // Mesos' --min_allocatable_resources: an offer must carry at least one of
  // these amounts, so leftovers like 0.001 cpus do not churn as offers.
  resources min_allocatable = *resources::parse("cpus:0.01");
  resources min_allocatable_alt = *resources::parse("mem:32");
};

/// A set of ids kept as a sorted vector: an agent is filtered by few
/// frameworks, and a binary search of a short array is cheaper than a hash
/// set's bucket and node, both cache misses on the allocation path.
class id_set {
public:
  bool contains(uint32_t id) const {
    return std::binary_search(ids_.begin(), ids_.end(), id);
  }
  void insert(uint32_t id) {
    auto i = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (i == ids_.end() || *i != id)
      ids_.insert(i, id);
  }
  void erase(uint32_t id) {
    auto i = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (i != ids_.end() && *i == id)
      ids_.erase(i);
  }
  auto begin() const { return ids_.begin(); }
  auto end() const { return ids_.end(); }

private:
  std::vector<uint32_t> ids_;
};

class hierarchical_allocator {
public:
  explicit hierarchical_allocator(allocator_options opts = {});

  // -- events ----------------------------------------------------------------

  void add_agent(const add_agent& x);
  void remove_agent(const std::string& agent_id);
  void update_agent(const update_agent& x);
  void activate_agent(const std::string& agent_id, bool active);

  void add_framework(const add_framework& x);
  void remove_framework(const std::string& framework_id);
  void activate_framework(const std::string& framework_id, bool active);
  void update_framework(const update_framework& x);

  /// Returns the expiry of the filter it installed, if any.
  std::optional<time_point> recover(const recover& x, time_point now);
  void convert(const convert& x);
  bool convert_free(const convert_free& x);
  void suppress(const suppress& x);
  void revive(const revive& x);

  void set_weights(const set_weights& x);
  void set_quota(const set_quota& x);

  // -- allocation ------------------------------------------------------------

  /// One pass over `agent_ids` (all agents when null). The returned
  /// resources count as allocated until recovered.
  std::vector<offer_batch> allocate(time_point now,
                                    const std::vector<std::string>* agent_ids
                                    = nullptr);

  // -- introspection (tests, metrics) ----------------------------------------

  /// Free resources of an agent (unallocated form), or null if unknown.
  const resources* available(const std::string& agent_id) const;
  /// Resources allocated to a framework, summed over agents.
  resources allocated_to(const std::string& framework_id) const;
  /// Shares as the next pass will see them (applies pending totals).
  double role_share(const std::string& role);
  double framework_share(const std::string& framework_id,
                         const std::string& role);
  uint64_t active_filters() const noexcept { return filter_count_; }
  size_t agent_count() const noexcept { return agent_by_id_.size(); }

private:
  struct filter {
    resources refused; // unallocated form
    time_point expires;
  };

  struct agent_entry {
    std::string id;
    resources total;
    resources available; // total minus allocations, unallocated form
    // Allocations by framework, with allocation roles. A short vector: an
    // agent serves few frameworks at once.
    std::vector<std::pair<uint32_t, resources>> by_framework;
    id_set filtered_by; // frameworks with filters here
    std::vector<uint32_t> reservation_roles;  // roles that may use its
                                              // reservations
    uint32_t index = 0;
    bool active = true;
    bool in_use = false;
  };

  struct framework_entry {
    std::string id;
    std::vector<uint32_t> roles;
    std::unordered_set<uint32_t> suppressed;
    std::unordered_set<uint32_t> filtered_agents; // with filters of ours
    bool active = true;
    bool in_use = false;
  };

  struct role_entry {
    std::string name;
    double weight = 1.0;
    drf_sorter frameworks;
    uint32_t active_frameworks = 0;
    uint32_t frameworks_total = 0;
    kind_vector guarantees;          // empty: none
    kind_vector limits;              // empty: none; -1 entries: no limit
    kind_vector reserved;            // reservations to the role, all agents
    kind_vector allocated_unreserved;
  };

  // Lookup and interning.
  uint32_t role_index(const std::string& name);
  uint32_t kind_index(const std::string& name);
  kind_vector kinds_of(const resources& rs);
  kind_vector quantities_to_kinds(const quantities& q);

  // Bookkeeping shared by allocation and recovery: `amount` (with
  // allocation roles) becomes allocated to `fw` (sign 1) or free (sign -1).
  void account(agent_entry& a, uint32_t fw, const resources& amount,
               int64_t sign);
  // The sorter side of account() for an amount allocated to one role.
  void book(uint32_t fw, uint32_t role, const resources& amount, int64_t sign);
  resources* allocation_of(agent_entry& a, uint32_t fw);
  void account_reservations(const agent_entry& a, int64_t sign);
  // Books `a`'s total into (sign 1) or out of (-1) the totals and the
  // reservations of every role.
  void book_total(const agent_entry& a, int64_t sign);
  // `a`'s total and free resources: `from` becomes `to` (a reservation, a
  // volume), with the books kept in step.
  // REQUIRES: `a.available` contains `from`; both unallocated.
  void convert_total(agent_entry& a, const resources& from,
                     const resources& to);
  // `used` (what the master reports a framework's tasks use) with the
  // framework's first role, or "*", as the allocation role of entries that
  // carry none.
  resources allocated_to(const framework_entry& f,
                         const resources& used) const;
  // What `ancestor` and its sub-roles hold, kind by kind: reservations and
  // unreserved allocations (Mesos' quota consumption).
  kind_vector consumed_within(const std::string& ancestor) const;
  void refresh_totals();
  void refresh_reservation_roles(agent_entry& a);
  void update_role_activity(uint32_t role, int delta_active, int delta_total);

  // Allocation helpers.
  bool eligible(const framework_entry& f, uint32_t fw, uint32_t role,
                agent_entry& a, const resources& offerable, time_point now);
  int64_t first_eligible(uint32_t role, agent_entry& a,
                         const resources& offerable, time_point now);
  bool allocatable(const resources& rs) const;
  // Free resources of `a` that `role` may get, capped by the role's limits
  // and by `caps` (per kind, -1 = no cap). Returns `a.available` itself when
  // nothing restricts it (no copy on the common path).
  resources& offerable_for(agent_entry& a, uint32_t role,
                           const kind_vector* caps, resources& scratch);
  // Allocates `offerable` (which may be a.available itself, then moved
  // rather than copied) to `fw` in `role` and records the offer.
  void give(agent_entry& a, uint32_t fw, uint32_t role, resources& offerable,
            std::vector<offer_batch>& out);
  void remove_filters(uint32_t fw, agent_entry& a);

  // A free slot of `slots` (recycled from `free` if any), reset.
  template <class Entry>
  static uint32_t take_slot(std::vector<Entry>& slots,
                            std::vector<uint32_t>& free) {
    uint32_t index;
    if (!free.empty()) {
      index = free.back();
      free.pop_back();
      slots[index] = Entry{};
    } else {
      index = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    return index;
  }

  allocator_options opts_;
  std::mt19937_64 rng_;

  std::vector<agent_entry> agents_;
  std::vector<uint32_t> free_agents_;
  std::unordered_map<std::string, uint32_t> agent_by_id_;

  std::vector<framework_entry> frameworks_;
  std::vector<uint32_t> free_frameworks_;
  std::unordered_map<std::string, uint32_t> framework_by_id_;

  std::vector<role_entry> roles_;
  std::unordered_map<std::string, uint32_t> role_by_name_;
  drf_sorter role_sorter_{true}; // roles with at least one framework (by
                                 // role index: dense)

  std::vector<std::string> kind_names_; // few: looked up by linear scan
  kind_vector scratch_kinds_;
  kind_vector scratch_unreserved_;
  std::vector<uint32_t> scratch_limiting_; // offerable_for(): limiting roles
  kind_vector totals_;
  bool totals_dirty_ = false;
  bool any_quota_ = false;
  bool hierarchical_roles_ = false; // some role name contains '/'

  std::unordered_map<uint64_t, std::vector<filter>> filters_;
  uint64_t filter_count_ = 0;
};

} // namespace dcos::alloc
