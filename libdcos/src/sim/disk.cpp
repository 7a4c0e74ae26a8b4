// A simulated disk behind the store interface. Writes become durable after
// a modelled latency, in order; a write may fail (the scenario's
// write_failure, or the "disk.fail_write" fault point); a crash of the node
// loses the writes that were not yet durable. Reads see every write the
// store accepted, as a page cache does.
#include "world.hpp"

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos::sim::detail {

namespace {

struct pending_write {
  enum class op { put, append, erase } what;
  std::string key;
  std::string value;
  caf::typed_response_promise<ok_atom> rp;
};

struct disk_state {
  world* w = nullptr;
  int node = 0;
  std::map<std::string, std::string> durable;
  std::map<uint64_t, pending_write> pending; // by sequence number
  uint64_t next_seq = 0;
  caf::actor_clock::time_point last{};
  disk_state() = default;
};

// Everything the store accepted: durable values with pending writes on top.
std::map<std::string, std::string> visible(const disk_state& st) {
  auto values = st.durable;
  for (const auto& [seq, wr] : st.pending) {
    switch (wr.what) {
      case pending_write::op::put: values[wr.key] = wr.value; break;
      case pending_write::op::append: values[wr.key] += wr.value; break;
      case pending_write::op::erase: values.erase(wr.key); break;
    }
  }
  return values;
}

void apply(disk_state& st, const pending_write& wr) {
  switch (wr.what) {
    case pending_write::op::put: st.durable[wr.key] = wr.value; break;
    case pending_write::op::append: st.durable[wr.key] += wr.value; break;
    case pending_write::op::erase: st.durable.erase(wr.key); break;
  }
}

sim_store::behavior_type disk(sim_store::stateful_pointer<disk_state> self,
                              world* w, int node) {
  self->state.w = w;
  self->state.node = node;
  auto write = [self](pending_write::op what, const std::string& key,
                      std::string value) -> caf::result<ok_atom> {
    auto& st = self->state;
    auto rp = self->make_response_promise<ok_atom>();
    const auto& model = st.w->sc().disk;
    auto now = self->clock().now();
    auto at = now + st.w->pick(model.write_latency);
    if (st.w->fire("disk.slow"))
      at += std::chrono::seconds(2);
    if (at < st.last)
      at = st.last;
    st.last = at;
    if (st.w->chance() < model.write_failure || st.w->fire("disk.fail_write")) {
      rp.deliver(make_error(errc::io_error,
                            fmt::format("simulated disk: write of '{}' "
                                        "failed",
                                        key)));
      return rp;
    }
    auto seq = st.next_seq++;
    st.pending.emplace(seq, pending_write{what, key, std::move(value), rp});
    self->delayed_send(self, at - now, durable_atom::value, seq);
    return rp;
  };
  return {
    [self](get_atom, const std::string& key) -> caf::result<std::string> {
      auto values = visible(self->state);
      auto i = values.find(key);
      if (i == values.end())
        return make_error(errc::not_found,
                          fmt::format("store: no value for '{}'", key));
      return i->second;
    },
    [write](put_atom, const std::string& key, std::string& value) {
      return write(pending_write::op::put, key, std::move(value));
    },
    [write](append_atom, const std::string& key, std::string& bytes) {
      return write(pending_write::op::append, key, std::move(bytes));
    },
    [write](erase_atom, const std::string& key) {
      return write(pending_write::op::erase, key, {});
    },
    [self](keys_atom, const std::string& prefix) {
      std::vector<std::string> keys;
      for (const auto& [key, value] : visible(self->state))
        if (key.rfind(prefix, 0) == 0)
          keys.push_back(key);
      return keys;
    },
    [self](durable_atom, uint64_t seq) {
      auto& st = self->state;
      auto i = st.pending.find(seq);
      if (i == st.pending.end())
        return; // lost in a crash
      apply(st, i->second);
      auto rp = std::move(i->second.rp);
      st.pending.erase(i);
      rp.deliver(ok_atom::value);
    },
    [self](crash_atom) {
      auto& st = self->state;
      if (st.w->sc().disk.lose_unsynced)
        st.pending.clear();
      else {
        for (auto& [seq, wr] : st.pending)
          apply(st, wr);
        st.pending.clear();
      }
    },
  };
}

} // namespace

sim_store spawn_disk(world& w, int node) {
  return w.sys().spawn(disk, &w, node);
}

} // namespace dcos::sim::detail
