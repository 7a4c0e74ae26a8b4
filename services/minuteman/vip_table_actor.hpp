// The actor that turns the cluster view's snapshots into the VIP table
// (dcos/vip_table.hpp): every cluster_snapshot is rebuilt into a table,
// published whole to a vip_holder (what the API reads) and handed to the
// data plane. It is the cluster view's observer; a lost master changes
// nothing (the last table is served until the next snapshot replaces it:
// backends keep taking connections while the master is away, as DC/OS').
// A malformed VIP label is logged once, when it first appears.
//
// It also writes Minuteman's event stream (GET /v1/events, server-sent
// events as Marathon's /v2/events: "event: TYPE\ndata: JSON\n\n"). A
// subscriber first gets `event_stream_attached`, then, as tables change:
//   vip_label_error   {"framework_id","task_id","label","value","reason"}:
//                     a malformed VIP label, when it first appears
//   vip_added, vip_removed
//                     {"vip","protocol","ip","port"}
//   backend_added, backend_removed
//                     {"vip","protocol","ip","port","task_id",
//                      "framework_id","agent_id","state"}: "ip" and "port"
//                     are the backend's; "state" is "up" or "unreachable"
//                     (a backend whose state changes is removed and added)
// A subscriber gets the changes from the table current when it subscribed
// (GET /v1/vips and /v1/errors have that one).
//
// No clock, no randomness, no I/O: it runs in the simulation as it is.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/cluster_view_actor.hpp>
#include <dcos/json_writer.hpp>
#include <dcos/stream_sink.hpp>
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

using events_atom = caf::atom_constant<caf::atom("events")>;

/// The cluster view's observer, which also takes event subscribers.
using vip_table_actor = cluster_observer_actor::extend<
  caf::reacts_to<subscribe_atom, events_atom, std::shared_ptr<stream_sink>>>;

/// A malformed label as the event stream and GET /v1/errors write it:
/// {"framework_id","task_id","label","value","reason"}.
void write_vip_error(json_writer& w, const vip_error& e);

/// REQUIRES: cfg.holder is set.
vip_table_actor spawn_vip_table_actor(caf::actor_system& sys,
                                      vip_table_config cfg);

} // namespace dcos::minuteman
