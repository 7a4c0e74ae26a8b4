#include "vip_table_actor.hpp"

#include <map>
#include <set>
#include <string>
#include <tuple>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/json_writer.hpp"
#include "dcos/logging.hpp"

namespace dcos::minuteman {

namespace {

std::string sse(const char* type, std::string data) {
  return fmt::format("event: {}\ndata: {}\n\n", type, data);
}

std::string vip_event(const vip_entry& v) {
  json_writer w;
  w.begin_object()
    .field("vip", v.display_name())
    .field("protocol", v.protocol)
    .field("ip", v.ip)
    .field("port", static_cast<uint64_t>(v.port))
    .end_object();
  return w.take();
}

std::string backend_event(const vip_entry& v, const vip_backend& b) {
  json_writer w;
  w.begin_object()
    .field("vip", v.display_name())
    .field("protocol", v.protocol)
    .field("ip", b.ip)
    .field("port", static_cast<uint64_t>(b.port))
    .field("task_id", b.task_id)
    .field("framework_id", b.framework_id)
    .field("agent_id", b.agent_id)
    .field("state", b.status == vip_backend::state::up ? "up" : "unreachable")
    .end_object();
  return w.take();
}

std::string label_error_event(const vip_error& e) {
  json_writer w;
  write_vip_error(w, e);
  return w.take();
}

using backend_key = std::tuple<std::string, uint16_t, std::string, int>;

backend_key key_of(const vip_backend& b) {
  return {b.ip, b.port, b.task_id, static_cast<int>(b.status)};
}

// The events that take `before` to `after`, in order: removals first.
std::vector<std::string> differences(const vip_table& before,
                                     const vip_table& after) {
  std::vector<std::string> out;
  std::map<std::string, const vip_entry*> old_vips, new_vips;
  for (const auto& v : before.vips)
    old_vips[v.key()] = &v;
  for (const auto& v : after.vips)
    new_vips[v.key()] = &v;
  auto backends_of = [](const vip_entry* v) {
    std::map<backend_key, const vip_backend*> m;
    if (v != nullptr)
      for (const auto& b : v->backends)
        m[key_of(b)] = &b;
    return m;
  };
  for (const auto& [key, old] : old_vips) {
    auto it = new_vips.find(key);
    const vip_entry* now = it == new_vips.end() ? nullptr : it->second;
    auto kept = backends_of(now);
    for (const auto& [bk, b] : backends_of(old))
      if (kept.count(bk) == 0)
        out.push_back(sse("backend_removed", backend_event(*old, *b)));
    if (now == nullptr)
      out.push_back(sse("vip_removed", vip_event(*old)));
  }
  for (const auto& [key, now] : new_vips) {
    auto it = old_vips.find(key);
    const vip_entry* old = it == old_vips.end() ? nullptr : it->second;
    if (old == nullptr)
      out.push_back(sse("vip_added", vip_event(*now)));
    auto had = backends_of(old);
    for (const auto& [bk, b] : backends_of(now))
      if (had.count(bk) == 0)
        out.push_back(sse("backend_added", backend_event(*now, *b)));
  }
  return out;
}

struct table_state {
  static inline const char* name = "dcos.minuteman.vip_table";
  table_state() = default;
  vip_table_config cfg;
  std::set<std::string> reported; // malformed labels already logged
  std::shared_ptr<const vip_table> last;
  std::vector<std::shared_ptr<stream_sink>> subscribers;
  std::shared_ptr<spdlog::logger> log = logging::get("minuteman");

  // Writes `events` to every subscriber; ones that went away are dropped.
  void publish(const std::vector<std::string>& events) {
    if (events.empty())
      return;
    std::vector<std::shared_ptr<stream_sink>> open;
    for (auto& s : subscribers) {
      bool ok = true;
      for (const auto& e : events)
        ok = ok && s->write(e);
      if (ok)
        open.push_back(std::move(s));
    }
    subscribers = std::move(open);
  }
};

vip_table_actor::behavior_type
table_actor(vip_table_actor::stateful_pointer<table_state> self,
            vip_table_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](const cluster_snapshot& snapshot) {
      auto& st = self->state;
      auto table
        = std::make_shared<const vip_table>(build_vip_table(*snapshot.state));
      std::vector<std::string> events;
      if (st.last && !st.subscribers.empty()) // none made for no reader
        events = differences(*st.last, *table);
      std::set<std::string> now;
      for (const auto& e : table->errors) {
        auto key = e.framework_id + "\n" + e.task_id + "\n" + e.label + "\n"
                   + e.value;
        if (st.reported.count(key) == 0) {
          st.log->warn("task {} of framework {}: ignoring {}: {}", e.task_id,
                       e.framework_id, e.label, e.reason);
          if (!st.subscribers.empty())
            events.push_back(sse("vip_label_error", label_error_event(e)));
        }
        now.insert(std::move(key));
      }
      st.reported = std::move(now);
      st.publish(events);
      st.last = table;
      st.cfg.holder->publish(table);
      if (st.cfg.on_table)
        st.cfg.on_table(std::move(table));
    },
    [self](subscribe_atom, events_atom, std::shared_ptr<stream_sink> sink) {
      if (sink->write(sse("event_stream_attached", "{}")))
        self->state.subscribers.push_back(std::move(sink));
    },
    [self](disconnected_atom) {
      self->state.log->warn("lost the master: balancing over the last known "
                            "backends until it is back");
    },
  };
}

} // namespace

void write_vip_error(json_writer& w, const vip_error& e) {
  w.begin_object()
    .field("framework_id", e.framework_id)
    .field("task_id", e.task_id)
    .field("label", e.label)
    .field("value", e.value)
    .field("reason", e.reason)
    .end_object();
}

vip_table_actor spawn_vip_table_actor(caf::actor_system& sys,
                                      vip_table_config cfg) {
  return sys.spawn(table_actor, std::move(cfg));
}

} // namespace dcos::minuteman
