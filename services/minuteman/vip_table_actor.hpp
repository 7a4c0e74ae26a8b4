// The actor that turns the cluster view's snapshots into the VIP table
// (dcos/vip_table.hpp): every cluster_snapshot is rebuilt into a table,
// published whole to a vip_holder (what the API reads) and handed to the
// data plane. It is the cluster view's observer; a lost master changes
// nothing (the last table is served until the next snapshot replaces it:
// backends keep taking connections while the master is away, as DC/OS').
// A malformed VIP label is logged once, when it first appears.
//
// No clock, no randomness, no I/O: it runs in the simulation as it is.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include <dcos/cluster_view_actor.hpp>
#include <dcos/vip_table.hpp>

namespace dcos::minuteman {

/// The current table. Thread-safety: any thread may publish() and
/// current().
class vip_holder {
public:
  void publish(std::shared_ptr<const vip_table> table) {
    std::atomic_store(&table_, std::move(table));
    generation_++;
  }

  /// The current table; null until the first publish().
  std::shared_ptr<const vip_table> current() const {
    return std::atomic_load(&table_);
  }

  /// Tables published so far.
  uint64_t generation() const { return generation_.load(); }

private:
  std::shared_ptr<const vip_table> table_;
  std::atomic<uint64_t> generation_{0};
};

struct vip_table_config {
  std::shared_ptr<vip_holder> holder;
  /// Called with every new table (the data plane's publish); may be empty.
  /// It must not block.
  std::function<void(std::shared_ptr<const vip_table>)> on_table;
};

/// REQUIRES: cfg.holder is set.
cluster_observer_actor spawn_vip_table_actor(caf::actor_system& sys,
                                             vip_table_config cfg);

} // namespace dcos::minuteman
