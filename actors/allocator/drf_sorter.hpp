// Weighted dominant resource fairness order over a set of clients (roles, or
// the frameworks of one role).
//
// A client's share is max over resource kinds of allocated/total, divided by
// its weight; iteration visits clients in ascending share (ties by id).
// Updating one client's allocation repositions only that client: O(log n).
// A change of the cluster totals changes every share; it is applied lazily
// by the next refresh(), once per allocation pass, not once per agent.
//
// Thread-safety: none (owned by the allocator actor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dcos::alloc {

/// Scalar amounts indexed by resource kind (see kind_registry); thousandths.
using kind_vector = std::vector<int64_t>;

void add_into(kind_vector& into, const kind_vector& x, int64_t sign = 1);

class drf_sorter {
public:
  using client_id = uint32_t;

  /// With `dense_ids`, clients are found through a vector indexed by id
  /// (for ids that are small and mostly used, like role indexes); otherwise
  /// by a scan while there are few clients and a hash beyond.
  explicit drf_sorter(bool dense_ids = false) : dense_ids_(dense_ids) {
  }

  /// REQUIRES: `id` is not in the sorter; weight > 0.
  void add(client_id id, double weight = 1.0);
  void remove(client_id id);
  bool contains(client_id id) const { return find(id) != nullptr; }
  void set_weight(client_id id, double weight);

  /// Adds (sign 1) or subtracts (sign -1) `delta` from the client's
  /// allocation and repositions it.
  void allocate(client_id id, const kind_vector& delta, int64_t sign = 1);

  const kind_vector& allocation(client_id id) const;
  double share(client_id id) const;

  /// The denominators of the shares. Takes effect at the next refresh().
  void set_totals(const kind_vector& totals);

  /// Recomputes every share if the totals changed since the last refresh.
  void refresh();

  /// Clients in ascending share order. The set may be modified through
  /// allocate() while iterating if the caller re-reads begin() or keeps a
  /// successor iterator, as the allocator does.
  using order_type = std::set<std::pair<double, client_id>>;
  const order_type& order() const { return order_; }

  size_t size() const { return clients_.size(); }

private:
  struct client {
    client_id id = 0;
    double weight = 1.0;
    double share = 0.0;
    kind_vector allocation;
  };

  // Past this many clients, a sparse sorter hashes ids instead of scanning.
  static constexpr size_t scan_limit = 8;

  const client* find(client_id id) const;
  client* find(client_id id) {
    return const_cast<client*>(std::as_const(*this).find(id));
  }
  // Records that `id` is at `slot` of clients_ (UINT32_MAX: nowhere).
  void set_slot(client_id id, uint32_t slot);
  double compute_share(const client& c) const;
  void reposition(client& c);

  bool dense_ids_;
  // The clients in no particular order (find() locates one).
  std::vector<client> clients_;
  std::vector<uint32_t> slot_by_id_;                   // dense: id -> slot
  std::unordered_map<client_id, uint32_t> slot_of_;    // sparse, when hashing
  order_type order_;
  kind_vector totals_;
  bool totals_dirty_ = false;
};

} // namespace dcos::alloc
