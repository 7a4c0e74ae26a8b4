#include "hierarchical_allocator.hpp"

#include <algorithm>

#include "dcos/buggify.hpp"
#include "dcos/role.hpp"

namespace dcos::alloc {

namespace {

uint64_t filter_key(uint32_t fw, uint32_t agent) {
  return (static_cast<uint64_t>(fw) << 32) | agent;
}

bool has_unreserved(const resources& rs) {
  return std::any_of(rs.begin(), rs.end(),
                     [](const resource& r) { return !r.is_reserved(); });
}

// The part of `amount` that `have` holds (a - (a - b) is a ∩ b for scalars,
// ranges and sets alike, because subtraction saturates).
resources common_part(const resources& amount, const resources& have) {
  return amount - (amount - have);
}

// Caps the unreserved scalar amounts of `rs` kind by kind: caps[k] < 0 means
// no cap. Reserved entries are never capped.
template <class KindOf>
resources cap_unreserved(const resources& rs, const kind_vector& caps,
                         KindOf kind_of) {
  kind_vector left = caps;
  resources result;
  for (auto r : rs) {
    if (r.type == resource::kind::scalar && !r.is_reserved()) {
      auto k = kind_of(r.name);
      if (k < left.size() && left[k] >= 0) {
        r.milli = std::min(r.milli, left[k]);
        left[k] -= r.milli;
      }
    }
    result += std::move(r);
  }
  return result;
}

// Lowers capped kinds (caps[k] >= 0) by what was given, never below zero.
void consume(kind_vector& caps, const kind_vector& given) {
  for (size_t k = 0; k < caps.size() && k < given.size(); ++k)
    if (caps[k] >= 0)
      caps[k] = std::max<int64_t>(0, caps[k] - given[k]);
}

bool any_positive(const kind_vector& xs) {
  return std::any_of(xs.begin(), xs.end(), [](int64_t x) { return x > 0; });
}

} // namespace

hierarchical_allocator::hierarchical_allocator(allocator_options opts)
  : opts_(std::move(opts)), rng_(opts_.seed) {
}

// -- interning -----------------------------------------------------------------

uint32_t hierarchical_allocator::role_index(const std::string& name) {
  auto [i, added] = role_by_name_.emplace(name,
                                          static_cast<uint32_t>(roles_.size()));
  if (added) {
    hierarchical_roles_ = hierarchical_roles_
                          || name.find('/') != std::string::npos;
    roles_.emplace_back();
    roles_.back().name = name;
    roles_.back().frameworks.set_totals(totals_);
  }
  return i->second;
}

uint32_t hierarchical_allocator::kind_index(const std::string& name) {
  for (uint32_t k = 0; k < kind_names_.size(); ++k)
    if (kind_names_[k] == name)
      return k;
  kind_names_.push_back(name);
  return static_cast<uint32_t>(kind_names_.size() - 1);
}

kind_vector hierarchical_allocator::kinds_of(const resources& rs) {
  kind_vector result;
  for (const auto& r : rs) {
    if (r.type != resource::kind::scalar)
      continue;
    auto k = kind_index(r.name);
    if (result.size() <= k)
      result.resize(k + 1, 0);
    result[k] += r.milli;
  }
  return result;
}

kind_vector hierarchical_allocator::quantities_to_kinds(const quantities& q) {
  kind_vector result;
  for (auto& [name, milli] : q) {
    auto k = kind_index(name);
    if (result.size() <= k)
      result.resize(k + 1, -1);
    result[k] = milli;
  }
  return result;
}

// -- bookkeeping ---------------------------------------------------------------

resources* hierarchical_allocator::allocation_of(agent_entry& a,
                                                 uint32_t fw) {
  for (auto& [owner, amount] : a.by_framework)
    if (owner == fw)
      return &amount;
  return nullptr;
}

void hierarchical_allocator::book(uint32_t fw, uint32_t role,
                                  const resources& amount, int64_t sign) {
  auto& all = scratch_kinds_;
  auto& unreserved = scratch_unreserved_;
  all.assign(kind_names_.size(), 0);
  unreserved.assign(kind_names_.size(), 0);
  for (const auto& r : amount) {
    if (r.type != resource::kind::scalar)
      continue;
    auto k = kind_index(r.name);
    if (all.size() <= k) {
      all.resize(k + 1, 0);
      unreserved.resize(k + 1, 0);
    }
    all[k] += r.milli;
    if (!r.is_reserved())
      unreserved[k] += r.milli;
  }
  role_sorter_.allocate(role, all, sign);
  roles_[role].frameworks.allocate(fw, all, sign);
  add_into(roles_[role].allocated_unreserved, unreserved, sign);
}

void hierarchical_allocator::account(agent_entry& a, uint32_t fw,
                                     const resources& amount, int64_t sign) {
  // The sorters per role (an amount usually has just one).
  uint32_t first_role = UINT32_MAX;
  bool single_role = true;
  for (const auto& r : amount) {
    auto role = role_index(r.allocation_role.empty() ? r.role()
                                                     : r.allocation_role);
    if (first_role == UINT32_MAX)
      first_role = role;
    single_role = single_role && role == first_role;
  }
  if (first_role == UINT32_MAX)
    return;
  if (single_role) {
    book(fw, first_role, amount, sign);
  } else {
    for (const auto& r : amount) {
      resources one;
      one += r;
      book(fw, role_index(r.allocation_role.empty() ? r.role()
                                                    : r.allocation_role),
           one, sign);
    }
  }
  // The agent side.
  auto* mine = allocation_of(a, fw);
  if (sign > 0) {
    if (mine == nullptr) {
      a.by_framework.emplace_back(fw, resources{});
      mine = &a.by_framework.back().second;
    }
    *mine += amount;
    a.available -= amount.unallocate();
  } else {
    auto it = std::find_if(a.by_framework.begin(), a.by_framework.end(),
                           [fw](auto& x) { return x.first == fw; });
    if (it != a.by_framework.end()) {
      it->second -= amount;
      if (it->second.empty())
        a.by_framework.erase(it);
    }
    a.available += amount.unallocate();
  }
}

void hierarchical_allocator::account_reservations(const agent_entry& a,
                                                  int64_t sign) {
  for (const auto& r : a.total) {
    if (!r.is_reserved() || r.type != resource::kind::scalar)
      continue;
    auto& role = roles_[role_index(r.role())];
    auto k = kind_index(r.name);
    if (role.reserved.size() <= k)
      role.reserved.resize(k + 1, 0);
    role.reserved[k] += sign * r.milli;
  }
}

void hierarchical_allocator::refresh_reservation_roles(agent_entry& a) {
  a.reservation_roles.clear();
  for (const auto& r : a.total)
    if (r.is_reserved())
      a.reservation_roles.push_back(role_index(r.role()));
  std::sort(a.reservation_roles.begin(), a.reservation_roles.end());
  a.reservation_roles.erase(std::unique(a.reservation_roles.begin(),
                                        a.reservation_roles.end()),
                            a.reservation_roles.end());
}

void hierarchical_allocator::refresh_totals() {
  if (!totals_dirty_)
    return;
  totals_dirty_ = false;
  role_sorter_.set_totals(totals_);
  for (auto& role : roles_)
    role.frameworks.set_totals(totals_);
}

void hierarchical_allocator::update_role_activity(uint32_t role,
                                                  int delta_active,
                                                  int delta_total) {
  auto& r = roles_[role];
  r.active_frameworks += delta_active;
  r.frameworks_total += delta_total;
  if (r.frameworks_total > 0 && !role_sorter_.contains(role)) {
    role_sorter_.add(role, r.weight);
    // Bring the role's current allocation (e.g. from re-registered agents)
    // into the sorter.
    kind_vector alloc;
    for (auto& [fw_id, fw] : framework_by_id_)
      add_into(alloc, r.frameworks.allocation(fw));
    role_sorter_.allocate(role, alloc);
  } else if (r.frameworks_total == 0 && role_sorter_.contains(role)) {
    role_sorter_.remove(role);
  }
}

void hierarchical_allocator::book_total(const agent_entry& a, int64_t sign) {
  account_reservations(a, sign);
  add_into(totals_, kinds_of(a.total), sign);
  totals_dirty_ = true;
}

void hierarchical_allocator::convert_total(agent_entry& a,
                                           const resources& from,
                                           const resources& to) {
  book_total(a, -1);
  a.total -= from;
  a.total += to;
  a.available -= from;
  a.available += to;
  book_total(a, 1);
  refresh_reservation_roles(a);
}

resources hierarchical_allocator::allocated_to(const framework_entry& f,
                                               const resources& used) const {
  const std::string& role = f.roles.empty() ? "*" : roles_[f.roles[0]].name;
  resources out;
  for (auto r : used) {
    if (r.allocation_role.empty())
      r.allocation_role = role;
    out += r;
  }
  return out;
}

// -- agents --------------------------------------------------------------------

void hierarchical_allocator::add_agent(const struct add_agent& x) {
  if (agent_by_id_.count(x.agent_id) > 0)
    remove_agent(x.agent_id);
  auto index = take_slot(agents_, free_agents_);
  auto& a = agents_[index];
  a.id = x.agent_id;
  a.index = index;
  a.total = x.total;
  a.available = x.total;
  a.in_use = true;
  agent_by_id_.emplace(x.agent_id, index);
  book_total(a, 1);
  refresh_reservation_roles(a);
  for (auto& [fw_id, used] : x.used) {
    auto f = framework_by_id_.find(fw_id);
    if (f == framework_by_id_.end())
      continue; // the framework has not re-subscribed yet: not tracked
    account(a, f->second, allocated_to(frameworks_[f->second], used), 1);
  }
}

void hierarchical_allocator::remove_agent(const std::string& agent_id) {
  auto i = agent_by_id_.find(agent_id);
  if (i == agent_by_id_.end())
    return;
  auto index = i->second;
  auto& a = agents_[index];
  auto owners = a.by_framework;
  for (auto& [fw, amount] : owners)
    account(a, fw, amount, -1);
  for (auto fw : std::vector<uint32_t>(a.filtered_by.begin(),
                                       a.filtered_by.end()))
    remove_filters(fw, a);
  book_total(a, -1);
  a = agent_entry{};
  agent_by_id_.erase(i);
  free_agents_.push_back(index);
}

void hierarchical_allocator::update_agent(const struct update_agent& x) {
  auto i = agent_by_id_.find(x.agent_id);
  if (i == agent_by_id_.end())
    return;
  auto& a = agents_[i->second];
  book_total(a, -1);
  a.total = x.total;
  a.available = a.total;
  for (auto& [fw, amount] : a.by_framework)
    a.available -= amount.unallocate();
  book_total(a, 1);
  refresh_reservation_roles(a);
}

void hierarchical_allocator::activate_agent(const std::string& agent_id,
                                            bool active) {
  auto i = agent_by_id_.find(agent_id);
  if (i != agent_by_id_.end())
    agents_[i->second].active = active;
}

// -- frameworks ----------------------------------------------------------------

void hierarchical_allocator::add_framework(const struct add_framework& x) {
  if (framework_by_id_.count(x.framework_id) > 0)
    remove_framework(x.framework_id);
  auto index = take_slot(frameworks_, free_frameworks_);
  auto& f = frameworks_[index];
  f.id = x.framework_id;
  f.active = x.active;
  f.in_use = true;
  framework_by_id_.emplace(x.framework_id, index);
  for (const auto& name : x.roles) {
    auto r = role_index(name);
    f.roles.push_back(r);
    roles_[r].frameworks.add(index, 1.0);
    update_role_activity(r, f.active ? 1 : 0, 1);
  }
  for (const auto& name : x.suppressed_roles)
    f.suppressed.insert(role_index(name));
  for (auto& [agent_id, used] : x.used) {
    auto a = agent_by_id_.find(agent_id);
    if (a == agent_by_id_.end())
      continue;
    account(agents_[a->second], index, allocated_to(f, used), 1);
  }
}

void hierarchical_allocator::remove_framework(const std::string& id) {
  auto i = framework_by_id_.find(id);
  if (i == framework_by_id_.end())
    return;
  auto index = i->second;
  auto& f = frameworks_[index];
  // Rare enough to scan every agent, which keeps the hot paths free of a
  // framework-to-agents index.
  for (auto& a : agents_) {
    if (!a.in_use)
      continue;
    if (auto* owned = allocation_of(a, index)) {
      auto amount = *owned;
      account(a, index, amount, -1);
    }
  }
  for (auto agent : std::vector<uint32_t>(f.filtered_agents.begin(),
                                          f.filtered_agents.end()))
    remove_filters(index, agents_[agent]);
  for (auto r : f.roles) {
    roles_[r].frameworks.remove(index);
    update_role_activity(r, f.active ? -1 : 0, -1);
  }
  f = framework_entry{};
  framework_by_id_.erase(i);
  free_frameworks_.push_back(index);
}

void hierarchical_allocator::activate_framework(const std::string& id,
                                                bool active) {
  auto i = framework_by_id_.find(id);
  if (i == framework_by_id_.end())
    return;
  auto& f = frameworks_[i->second];
  if (f.active == active)
    return;
  f.active = active;
  for (auto r : f.roles)
    update_role_activity(r, active ? 1 : -1, 0);
}

void hierarchical_allocator::update_framework(
  const struct update_framework& x) {
  auto i = framework_by_id_.find(x.framework_id);
  if (i == framework_by_id_.end())
    return;
  auto index = i->second;
  auto& f = frameworks_[index];
  std::vector<uint32_t> roles;
  for (const auto& name : x.roles)
    roles.push_back(role_index(name));
  for (auto r : f.roles) {
    if (std::find(roles.begin(), roles.end(), r) == roles.end()) {
      roles_[r].frameworks.remove(index);
      update_role_activity(r, f.active ? -1 : 0, -1);
    }
  }
  for (auto r : roles) {
    if (std::find(f.roles.begin(), f.roles.end(), r) == f.roles.end()) {
      roles_[r].frameworks.add(index, 1.0);
      update_role_activity(r, f.active ? 1 : 0, 1);
    }
  }
  f.roles = std::move(roles);
  f.suppressed.clear();
  for (const auto& name : x.suppressed_roles)
    f.suppressed.insert(role_index(name));
}

// -- recovery and filters --------------------------------------------------------

std::optional<time_point>
hierarchical_allocator::recover(const struct recover& x, time_point now) {
  auto a_it = agent_by_id_.find(x.agent_id);
  auto f_it = framework_by_id_.find(x.framework_id);
  if (a_it == agent_by_id_.end() || f_it == framework_by_id_.end())
    return std::nullopt; // already returned by remove_agent/remove_framework
  auto& a = agents_[a_it->second];
  auto fw = f_it->second;
  auto* owned = allocation_of(a, fw);
  if (owned == nullptr)
    return std::nullopt;
  // Only what is really allocated comes back; anything else would corrupt
  // the books (the master and allocator may race on a removed offer).
  auto amount = owned->contains(x.amount) ? x.amount
                                          : common_part(x.amount, *owned);
  if (!amount.empty())
    account(a, fw, amount, -1);
  if (!x.refuse || x.refuse->count() <= 0 || x.amount.empty())
    return std::nullopt;
  auto expires = now + *x.refuse;
  filters_[filter_key(fw, a.index)].push_back(
    filter{x.amount.unallocate(), expires});
  ++filter_count_;
  a.filtered_by.insert(fw);
  frameworks_[fw].filtered_agents.insert(a.index);
  return expires;
}

void hierarchical_allocator::remove_filters(uint32_t fw, agent_entry& a) {
  auto i = filters_.find(filter_key(fw, a.index));
  if (i != filters_.end()) {
    filter_count_ -= i->second.size();
    filters_.erase(i);
  }
  a.filtered_by.erase(fw);
  frameworks_[fw].filtered_agents.erase(a.index);
}

void hierarchical_allocator::convert(const struct convert& x) {
  auto a_it = agent_by_id_.find(x.agent_id);
  auto f_it = framework_by_id_.find(x.framework_id);
  if (a_it == agent_by_id_.end() || f_it == framework_by_id_.end())
    return;
  auto& a = agents_[a_it->second];
  auto fw = f_it->second;
  account(a, fw, x.from, -1);
  convert_total(a, x.from.unallocate(), x.to.unallocate());
  account(a, fw, x.to, 1);
}

bool hierarchical_allocator::convert_free(const struct convert_free& x) {
  auto i = agent_by_id_.find(x.agent_id);
  if (i == agent_by_id_.end())
    return false;
  auto& a = agents_[i->second];
  if (!a.available.contains(x.from))
    return false;
  convert_total(a, x.from, x.to);
  return true;
}

void hierarchical_allocator::suppress(const struct suppress& x) {
  auto i = framework_by_id_.find(x.framework_id);
  if (i == framework_by_id_.end())
    return;
  auto& f = frameworks_[i->second];
  if (x.roles.empty())
    f.suppressed.insert(f.roles.begin(), f.roles.end());
  for (const auto& name : x.roles)
    f.suppressed.insert(role_index(name));
}

void hierarchical_allocator::revive(const struct revive& x) {
  auto i = framework_by_id_.find(x.framework_id);
  if (i == framework_by_id_.end())
    return;
  auto index = i->second;
  auto& f = frameworks_[index];
  if (x.roles.empty())
    f.suppressed.clear();
  for (const auto& name : x.roles)
    f.suppressed.erase(role_index(name));
  for (auto agent : std::vector<uint32_t>(f.filtered_agents.begin(),
                                          f.filtered_agents.end()))
    remove_filters(index, agents_[agent]);
}

// -- operator settings -------------------------------------------------------

void hierarchical_allocator::set_weights(const struct set_weights& x) {
  for (auto& [name, weight] : x.weights) {
    if (weight <= 0)
      continue;
    auto r = role_index(name);
    roles_[r].weight = weight;
    role_sorter_.set_weight(r, weight);
  }
}

void hierarchical_allocator::set_quota(const struct set_quota& x) {
  auto& role = roles_[role_index(x.role)];
  role.guarantees = quantities_to_kinds(x.guarantees);
  role.limits = quantities_to_kinds(x.limits);
  any_quota_ = std::any_of(roles_.begin(), roles_.end(), [](auto& r) {
    return !r.guarantees.empty() || !r.limits.empty();
  });
}

// -- allocation ----------------------------------------------------------------

bool hierarchical_allocator::allocatable(const resources& rs) const {
  if (rs.empty())
    return false;
  // One entry each in the default alternatives: one pass over `rs`.
  for (const auto* min : {&opts_.min_allocatable, &opts_.min_allocatable_alt}) {
    bool enough = true;
    for (const auto& need : *min) {
      int64_t have = 0;
      for (const auto& r : rs)
        if (r.type == resource::kind::scalar && r.name == need.name)
          have += r.milli;
      enough = enough && have >= need.milli;
    }
    if (enough)
      return true;
  }
  return false;
}

bool hierarchical_allocator::eligible(const framework_entry& f, uint32_t fw,
                                      uint32_t role, agent_entry& a,
                                      const resources& offerable,
                                      time_point now) {
  if (!f.active || f.suppressed.count(role) > 0)
    return false;
  if (!a.filtered_by.contains(fw))
    return true;
  auto key = filter_key(fw, a.index);
  auto& list = filters_[key];
  bool filtered = false;
  for (auto i = list.begin(); i != list.end();) {
    if (now >= i->expires) {
      i = list.erase(i);
      --filter_count_;
    } else {
      filtered = filtered || i->refused.contains(offerable);
      ++i;
    }
  }
  if (list.empty()) {
    filters_.erase(key);
    a.filtered_by.erase(fw);
    frameworks_[fw].filtered_agents.erase(a.index);
  }
  return !filtered;
}

kind_vector
hierarchical_allocator::consumed_within(const std::string& ancestor) const {
  kind_vector sum(kind_names_.size(), 0);
  for (const auto& role : roles_) {
    bool within = role.name == ancestor
                  || (role.name.size() > ancestor.size()
                      && role.name.compare(0, ancestor.size(), ancestor) == 0
                      && role.name[ancestor.size()] == '/');
    if (!within)
      continue;
    for (size_t k = 0; k < role.reserved.size() && k < sum.size(); ++k)
      sum[k] += role.reserved[k];
    for (size_t k = 0; k < role.allocated_unreserved.size() && k < sum.size();
         ++k)
      sum[k] += role.allocated_unreserved[k];
  }
  return sum;
}

resources& hierarchical_allocator::offerable_for(agent_entry& a,
                                                 uint32_t role,
                                                 const kind_vector* caps,
                                                 resources& scratch) {
  const auto& r = roles_[role];
  resources* base = &a.available;
  // Known bugs for the simulation's role checks: reservations offered to
  // any role, and quota limits not applied.
  if (!a.reservation_roles.empty()
      && !mutant("allocator_ignores_reservations")) {
    scratch = a.available.allocatable_to(r.name);
    base = &scratch;
  }
  // The limits that bind the role: its own and its ancestors' ("a" limits
  // "a/b" too, as in Mesos).
  auto& limiting = scratch_limiting_;
  limiting.clear();
  if (any_quota_ && !mutant("allocator_ignores_quota"))
    for (size_t end = r.name.find('/');; end = r.name.find('/', end + 1)) {
      auto at = role_by_name_.find(r.name.substr(0, end));
      if (at != role_by_name_.end() && !roles_[at->second].limits.empty())
        limiting.push_back(at->second);
      if (end == std::string::npos)
        break;
    }
  if (limiting.empty() && caps == nullptr)
    return *base;
  // Caps on unreserved scalars: the limits and the caller's caps.
  kind_vector all(kind_names_.size(), -1);
  auto tighten = [&](size_t k, int64_t cap) {
    cap = std::max<int64_t>(cap, 0);
    all[k] = all[k] < 0 ? cap : std::min(all[k], cap);
  };
  for (auto limited : limiting) {
    const auto& limits = roles_[limited].limits;
    auto consumed = consumed_within(roles_[limited].name);
    for (size_t k = 0; k < limits.size(); ++k)
      if (limits[k] >= 0)
        tighten(k, limits[k] - (k < consumed.size() ? consumed[k] : 0));
  }
  if (caps != nullptr)
    for (size_t k = 0; k < caps->size(); ++k)
      if ((*caps)[k] >= 0)
        tighten(k, (*caps)[k]);
  scratch = cap_unreserved(*base, all, [this](const std::string& name) {
    return kind_index(name);
  });
  return scratch;
}

int64_t hierarchical_allocator::first_eligible(uint32_t role, agent_entry& a,
                                               const resources& offerable,
                                               time_point now) {
  for (auto& [share, fw] : roles_[role].frameworks.order())
    if (eligible(frameworks_[fw], fw, role, a, offerable, now))
      return fw;
  return -1;
}

void hierarchical_allocator::give(agent_entry& a, uint32_t fw, uint32_t role,
                                  resources& offerable,
                                  std::vector<offer_batch>& out) {
  resources offer;
  if (mutant("allocator_double_offer")) {
    // A known bug for the simulation to catch: what is offered stays
    // available, so the next pass offers it again.
    offer = offerable;
  } else if (&offerable == &a.available) {
    offer = std::exchange(a.available, resources{}); // everything: no copy
  } else {
    a.available -= offerable;
    offer = std::move(offerable);
  }
  offer = std::move(offer).allocate(roles_[role].name);
  book(fw, role, offer, 1);
  if (auto* mine = allocation_of(a, fw))
    *mine += offer;
  else
    a.by_framework.emplace_back(fw, offer);
  auto& batch = out[fw];
  if (batch.framework_id.empty())
    batch.framework_id = frameworks_[fw].id;
  batch.agents.emplace_back(a.id, std::move(offer));
}

std::vector<offer_batch>
hierarchical_allocator::allocate(time_point now,
                                 const std::vector<std::string>* agent_ids) {
  refresh_totals();
  role_sorter_.refresh();
  for (auto& role : roles_)
    role.frameworks.refresh();

  std::vector<uint32_t> order;
  if (agent_ids == nullptr) {
    order.reserve(agent_by_id_.size());
    for (uint32_t i = 0; i < agents_.size(); ++i)
      if (agents_[i].in_use)
        order.push_back(i);
  } else {
    for (const auto& id : *agent_ids)
      if (auto i = agent_by_id_.find(id); i != agent_by_id_.end())
        order.push_back(i->second);
  }
  std::shuffle(order.begin(), order.end(), rng_);

  std::vector<offer_batch> out(frameworks_.size()); // by framework index
  resources scratch;

  // Stage 1: unmet quota guarantees. `missing` holds, per guaranteed kind,
  // what the role still lacks (-1 for kinds it has no guarantee for, which
  // stay uncapped so that its offers are usable).
  kind_vector surplus; // caps for stage 2 while guarantees are unmet
  // (A known bug for the simulation's guarantee check: no stage 1, and
  // nothing held back for guarantees.)
  if (any_quota_ && !mutant("allocator_ignores_guarantees")) {
    std::vector<std::pair<uint32_t, kind_vector>> unmet;
    for (uint32_t r = 0; r < roles_.size(); ++r) {
      auto& role = roles_[r];
      kind_vector missing(kind_names_.size(), -1);
      for (size_t k = 0; k < role.guarantees.size(); ++k) {
        if (role.guarantees[k] < 0)
          continue;
        int64_t consumed = (k < role.reserved.size() ? role.reserved[k] : 0)
                           + (k < role.allocated_unreserved.size()
                                ? role.allocated_unreserved[k]
                                : 0);
        missing[k] = std::max<int64_t>(0, role.guarantees[k] - consumed);
      }
      if (any_positive(missing) && role.active_frameworks > 0)
        unmet.emplace_back(r, std::move(missing));
    }
    for (auto agent : order) {
      auto& a = agents_[agent];
      if (unmet.empty())
        break;
      if (!a.active || !allocatable(a.available))
        continue;
      std::sort(unmet.begin(), unmet.end(), [&](auto& x, auto& y) {
        return std::make_pair(role_sorter_.share(x.first), x.first)
               < std::make_pair(role_sorter_.share(y.first), y.first);
      });
      for (auto& [role, missing] : unmet) {
        auto& offerable = offerable_for(a, role, &missing, scratch);
        if (!allocatable(offerable))
          continue;
        auto fw = first_eligible(role, a, offerable, now);
        if (fw < 0)
          continue;
        consume(missing, kinds_of(offerable.unreserved()));
        give(a, static_cast<uint32_t>(fw), role, offerable, out);
      }
      unmet.erase(std::remove_if(unmet.begin(), unmet.end(),
                                 [](auto& x) { return !any_positive(x.second); }),
                  unmet.end());
    }
    // Stage 2 may give away only free unreserved resources beyond what the
    // unmet guarantees still need.
    if (!unmet.empty()) {
      kind_vector needed(kind_names_.size(), 0);
      for (auto& [role, missing] : unmet)
        for (size_t k = 0; k < missing.size(); ++k)
          needed[k] += std::max<int64_t>(missing[k], 0);
      kind_vector free_unreserved(kind_names_.size(), 0);
      for (auto& a : agents_)
        if (a.in_use && a.active)
          add_into(free_unreserved, kinds_of(a.available.unreserved()));
      surplus.assign(kind_names_.size(), -1);
      for (size_t k = 0; k < needed.size(); ++k)
        if (needed[k] > 0)
          surplus[k] = std::max<int64_t>(0, free_unreserved[k] - needed[k]);
    }
  }

  // Stage 2: fair share.
  const kind_vector* caps = surplus.empty() ? nullptr : &surplus;
  // True while the agent's free resources are as last found allocatable
  // (the common offer is all of them: no second look).
  bool available_allocatable = false;
  auto try_role = [&](agent_entry& a, uint32_t role) {
    if (roles_[role].active_frameworks == 0)
      return;
    auto& offerable = offerable_for(a, role, caps, scratch);
    if (!(available_allocatable && &offerable == &a.available)
        && !allocatable(offerable))
      return;
    auto fw = first_eligible(role, a, offerable, now);
    if (fw < 0)
      return;
    if (caps != nullptr)
      consume(surplus, kinds_of(offerable.unreserved()));
    give(a, static_cast<uint32_t>(fw), role, offerable, out);
    available_allocatable = false;
  };
  for (size_t i = 0; i < order.size(); ++i) {
    // Agents come in random order, so each one's entry and free resources
    // are a cache miss: fetch them ahead while this one is handed out.
    if (i + 2 < order.size())
      __builtin_prefetch(&agents_[order[i + 2]]);
    if (i + 1 < order.size())
      for (const auto& r : agents_[order[i + 1]].available)
        __builtin_prefetch(&r); // name, kind and amount: the first line
    auto& a = agents_[order[i]];
    if (!a.active || !allocatable(a.available))
      continue;
    available_allocatable = true;
    // Unreserved resources (and reservations of roles met on the way) in
    // role order; the loop ends as soon as nothing unreserved is left.
    const auto& roles = role_sorter_.order();
    for (auto it = roles.begin();
         it != roles.end() && has_unreserved(a.available);) {
      auto role = it->second;
      ++it; // try_role may reposition `role`; `it` stays valid
      try_role(a, role);
    }
    // Remaining reservations: only the roles that may use them.
    if (a.available.empty() || a.reservation_roles.empty())
      continue;
    for (auto reserved_role : a.reservation_roles) {
      try_role(a, reserved_role);
      if (!hierarchical_roles_)
        continue;
      const auto& name = roles_[reserved_role].name;
      for (auto& [role_name, role] : role_by_name_)
        if (role != reserved_role && is_subrole_or_same(role_name, name)
            && !a.available.empty())
          try_role(a, role);
    }
  }

  out.erase(std::remove_if(out.begin(), out.end(),
                           [](auto& batch) { return batch.agents.empty(); }),
            out.end());
  return out;
}

// -- introspection ---------------------------------------------------------------

const resources*
hierarchical_allocator::available(const std::string& agent_id) const {
  auto i = agent_by_id_.find(agent_id);
  return i == agent_by_id_.end() ? nullptr : &agents_[i->second].available;
}

resources
hierarchical_allocator::allocated_to(const std::string& framework_id) const {
  resources result;
  auto i = framework_by_id_.find(framework_id);
  if (i == framework_by_id_.end())
    return result;
  for (auto& a : agents_)
    for (auto& [owner, amount] : a.by_framework)
      if (owner == i->second)
        result += amount;
  return result;
}

double hierarchical_allocator::role_share(const std::string& role) {
  refresh_totals();
  role_sorter_.refresh();
  auto i = role_by_name_.find(role);
  return i == role_by_name_.end() ? 0.0 : role_sorter_.share(i->second);
}

double hierarchical_allocator::framework_share(const std::string& framework_id,
                                               const std::string& role) {
  refresh_totals();
  auto r = role_by_name_.find(role);
  auto f = framework_by_id_.find(framework_id);
  if (r == role_by_name_.end() || f == framework_by_id_.end())
    return 0.0;
  roles_[r->second].frameworks.refresh();
  return roles_[r->second].frameworks.share(f->second);
}

} // namespace dcos::alloc
