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

void drf_sorter::add(client_id id, double weight) {
  auto& c = clients_[id];
  c.weight = weight;
  c.share = compute_share(c);
  order_.emplace(c.share, id);
}

void drf_sorter::remove(client_id id) {
  auto i = clients_.find(id);
  if (i == clients_.end())
    return;
  order_.erase({i->second.share, id});
  clients_.erase(i);
}

void drf_sorter::set_weight(client_id id, double weight) {
  auto i = clients_.find(id);
  if (i == clients_.end())
    return;
  i->second.weight = weight;
  reposition(id, i->second);
}

void drf_sorter::allocate(client_id id, const kind_vector& delta,
                          int64_t sign) {
  auto i = clients_.find(id);
  if (i == clients_.end())
    return;
  add_into(i->second.allocation, delta, sign);
  reposition(id, i->second);
}

const kind_vector& drf_sorter::allocation(client_id id) const {
  static const kind_vector empty;
  auto i = clients_.find(id);
  return i == clients_.end() ? empty : i->second.allocation;
}

double drf_sorter::share(client_id id) const {
  auto i = clients_.find(id);
  return i == clients_.end() ? 0.0 : i->second.share;
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
  for (auto& [id, c] : clients_) {
    c.share = compute_share(c);
    order_.emplace(c.share, id);
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

void drf_sorter::reposition(client_id id, client& c) {
  auto share = compute_share(c);
  if (share == c.share)
    return;
  // Reuse the set node: no allocation on this hot path.
  auto node = order_.extract({c.share, id});
  c.share = share;
  node.value().first = share;
  order_.insert(std::move(node));
}

} // namespace dcos::alloc
