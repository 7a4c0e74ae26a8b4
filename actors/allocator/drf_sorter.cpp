#include "drf_sorter.hpp"

#include "dcos/buggify.hpp"

#include <algorithm>

namespace dcos::alloc {

void add_into(kind_vector& into, const kind_vector& x, int64_t sign) {
  if (into.size() < x.size())
    into.resize(x.size(), 0);
  for (size_t i = 0; i < x.size(); ++i)
    into[i] += sign * x[i];
}

const drf_sorter::client* drf_sorter::find(client_id id) const {
  if (dense_ids_) {
    if (id >= slot_by_id_.size() || slot_by_id_[id] == UINT32_MAX)
      return nullptr;
    return &clients_[slot_by_id_[id]];
  }
  if (clients_.size() <= scan_limit) {
    for (const auto& c : clients_)
      if (c.id == id)
        return &c;
    return nullptr;
  }
  auto i = slot_of_.find(id);
  return i == slot_of_.end() ? nullptr : &clients_[i->second];
}

void drf_sorter::set_slot(client_id id, uint32_t slot) {
  if (dense_ids_) {
    if (id >= slot_by_id_.size())
      slot_by_id_.resize(id + 1, UINT32_MAX);
    slot_by_id_[id] = slot;
  } else if (clients_.size() > scan_limit) {
    if (slot == UINT32_MAX)
      slot_of_.erase(id);
    else
      slot_of_[id] = slot;
  }
}

void drf_sorter::add(client_id id, double weight) {
  if (auto* known = find(id)) { // outside the contract; kept sound anyway
    known->weight = weight;
    reposition(*known);
    return;
  }
  auto& c = clients_.emplace_back();
  c.id = id;
  c.weight = weight;
  c.share = compute_share(c);
  order_.emplace(c.share, id);
  if (!dense_ids_ && clients_.size() == scan_limit + 1) {
    // From scanning to hashing: index every client.
    for (uint32_t slot = 0; slot < clients_.size(); ++slot)
      slot_of_[clients_[slot].id] = slot;
    return;
  }
  set_slot(id, static_cast<uint32_t>(clients_.size() - 1));
}

void drf_sorter::remove(client_id id) {
  auto* c = find(id);
  if (c == nullptr)
    return;
  order_.erase({c->share, id});
  // Swap with the last client, then drop it.
  auto slot = static_cast<uint32_t>(c - clients_.data());
  set_slot(id, UINT32_MAX);
  if (slot + 1 != clients_.size()) {
    *c = std::move(clients_.back());
    set_slot(c->id, slot);
  }
  clients_.pop_back();
  if (!dense_ids_ && clients_.size() == scan_limit)
    slot_of_.clear(); // back to scanning
}

void drf_sorter::set_weight(client_id id, double weight) {
  if (auto* c = find(id)) {
    c->weight = weight;
    reposition(*c);
  }
}

void drf_sorter::allocate(client_id id, const kind_vector& delta,
                          int64_t sign) {
  if (auto* c = find(id)) {
    add_into(c->allocation, delta, sign);
    reposition(*c);
  }
}

const kind_vector& drf_sorter::allocation(client_id id) const {
  static const kind_vector empty;
  auto* c = find(id);
  return c == nullptr ? empty : c->allocation;
}

double drf_sorter::share(client_id id) const {
  auto* c = find(id);
  return c == nullptr ? 0.0 : c->share;
}

void drf_sorter::set_totals(const kind_vector& totals) {
  if (totals != totals_) {
    totals_ = totals;
    totals_dirty_ = true;
  }
}

void drf_sorter::refresh() {
  if (!totals_dirty_)
    return;
  totals_dirty_ = false;
  order_.clear();
  for (auto& c : clients_) {
    c.share = compute_share(c);
    order_.emplace(c.share, c.id);
  }
}

double drf_sorter::compute_share(const client& c) const {
  double dominant = 0.0;
  auto n = std::min(c.allocation.size(), totals_.size());
  for (size_t k = 0; k < n; ++k)
    if (totals_[k] > 0)
      dominant = std::max(dominant, static_cast<double>(c.allocation[k])
                                      / static_cast<double>(totals_[k]));
  // A known bug for the simulation's DRF check: weights ignored.
  if (mutant("allocator_ignores_weights"))
    return dominant;
  return dominant / c.weight;
}

void drf_sorter::reposition(client& c) {
  auto share = compute_share(c);
  if (share == c.share)
    return;
  // Reuse the set node: no allocation on this hot path.
  auto node = order_.extract({c.share, c.id});
  c.share = share;
  node.value().first = share;
  order_.insert(std::move(node));
}

} // namespace dcos::alloc
