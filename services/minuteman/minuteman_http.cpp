#include "minuteman_http.hpp"

#include <map>

#include <caf/send.hpp>
#include <fmt/format.h>

#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"

namespace dcos::minuteman {

namespace {

http_response json(std::string body) {
  http_response r;
  r.body = std::move(body);
  return r;
}

// How DC/OS names a VIP in /v1/vips: NAME:PORT for a named one.
const char* state_name(vip_backend::state s) {
  return s == vip_backend::state::up ? "up" : "unreachable";
}

using stats_map = std::map<std::string, vip_stats>;

stats_map stats_of(const vip_proxy* proxy) {
  stats_map out;
  if (proxy != nullptr)
    for (auto& s : proxy->stats())
      out[s.key] = std::move(s);
  return out;
}

void counters(json_writer& w, const backend_stats& b) {
  w.field("latency_ms", b.latency_ms)
    .field("connections", b.connections)
    .field("active", b.active)
    .field("connect_failures", b.connect_failures)
    .field("bytes_in", b.bytes_in)
    .field("bytes_out", b.bytes_out);
}

void write_vip(json_writer& w, const vip_entry& v, const stats_map& stats) {
  auto s = stats.find(v.key());
  const vip_stats* vs = s == stats.end() ? nullptr : &s->second;
  std::map<std::pair<std::string, uint16_t>, const backend_stats*> by_backend;
  if (vs != nullptr)
    for (const auto& b : vs->backends)
      by_backend[{b.ip, b.port}] = &b;
  w.begin_object()
    .field("vip", v.display_name())
    .field("protocol", v.protocol)
    .field("ip", v.ip)
    .field("port", static_cast<uint64_t>(v.port))
    .field("name", v.name);
  w.key("backend").begin_array();
  for (const auto& b : v.backends)
    w.begin_object()
      .field("ip", b.ip)
      .field("port", static_cast<uint64_t>(b.port))
      .end_object();
  w.end_array();
  w.field("listening", vs != nullptr && vs->listening);
  if (vs != nullptr && !vs->error.empty())
    w.field("error", vs->error);
  w.key("backends").begin_array();
  for (const auto& b : v.backends) {
    auto it = by_backend.find({b.ip, b.port});
    const backend_stats* bs = it == by_backend.end() ? nullptr : it->second;
    if (bs != nullptr)
      by_backend.erase(it);
    w.begin_object()
      .field("ip", b.ip)
      .field("port", static_cast<uint64_t>(b.port))
      .field("task_id", b.task_id)
      .field("framework_id", b.framework_id)
      .field("agent_id", b.agent_id)
      .field("state", bs != nullptr && bs->down ? "down" : state_name(b.status));
    if (bs != nullptr)
      counters(w, *bs);
    w.end_object();
  }
  // Backends that left the table and still have open connections.
  for (const auto& [_, bs] : by_backend) {
    w.begin_object()
      .field("ip", bs->ip)
      .field("port", static_cast<uint64_t>(bs->port))
      .field("state", "draining");
    counters(w, *bs);
    w.end_object();
  }
  w.end_array();
  if (vs != nullptr)
    w.field("connections", vs->connections)
      .field("active", vs->active)
      .field("failures", vs->failures)
      .field("bytes_in", vs->bytes_in)
      .field("bytes_out", vs->bytes_out);
  w.end_object();
}

// Prometheus' text format with labels (metrics.hpp's flat names cannot
// carry a VIP and a backend).
std::string prometheus(const vip_table* table, const stats_map& stats) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
  };
  auto vip_metric = [&](const char* name, const char* type, const char* help,
                        auto get) {
    family(name, type, help);
    for (const auto& [key, s] : stats)
      out += fmt::format("{}{{vip=\"{}\"}} {}\n", name, key, get(s));
  };
  auto backend_metric = [&](const char* name, const char* type,
                            const char* help, auto get) {
    family(name, type, help);
    for (const auto& [key, s] : stats)
      for (const auto& b : s.backends)
        out += fmt::format("{}{{vip=\"{}\",backend=\"{}:{}\"}} {}\n", name,
                           key, b.ip, b.port, get(b));
  };
  family("minuteman_vips", "gauge", "VIPs in the table");
  out += fmt::format("minuteman_vips {}\n", table ? table->vips.size() : 0);
  family("minuteman_label_errors", "gauge", "malformed VIP labels ignored");
  out += fmt::format("minuteman_label_errors {}\n",
                     table ? table->errors.size() : 0);
  vip_metric("minuteman_vip_connections_total", "counter",
             "client connections joined to a backend",
             [](const vip_stats& s) { return s.connections; });
  vip_metric("minuteman_vip_connections_active", "gauge",
             "client connections open",
             [](const vip_stats& s) { return s.active; });
  vip_metric("minuteman_vip_failures_total", "counter",
             "client connections that no backend took",
             [](const vip_stats& s) { return s.failures; });
  vip_metric("minuteman_vip_bytes_in_total", "counter",
             "bytes from backends to clients",
             [](const vip_stats& s) { return s.bytes_in; });
  vip_metric("minuteman_vip_bytes_out_total", "counter",
             "bytes from clients to backends",
             [](const vip_stats& s) { return s.bytes_out; });
  backend_metric("minuteman_backend_connections_total", "counter",
                 "connections made to the backend",
                 [](const backend_stats& b) { return b.connections; });
  backend_metric("minuteman_backend_connections_active", "gauge",
                 "connections open to the backend",
                 [](const backend_stats& b) { return b.active; });
  backend_metric("minuteman_backend_connect_failures_total", "counter",
                 "connects to the backend that failed",
                 [](const backend_stats& b) { return b.connect_failures; });
  backend_metric("minuteman_backend_bytes_in_total", "counter",
                 "bytes from the backend",
                 [](const backend_stats& b) { return b.bytes_in; });
  backend_metric("minuteman_backend_bytes_out_total", "counter",
                 "bytes to the backend",
                 [](const backend_stats& b) { return b.bytes_out; });
  backend_metric("minuteman_backend_latency_seconds", "gauge",
                 "average connect latency (peak EWMA)",
                 [](const backend_stats& b) { return b.latency_ms / 1000; });
  backend_metric("minuteman_backend_down", "gauge",
                 "1 while the backend is marked down",
                 [](const backend_stats& b) { return b.down ? 1 : 0; });
  return out;
}

} // namespace

http_router minuteman_routes(std::shared_ptr<const vip_holder> holder,
                             const vip_proxy* proxy, vip_table_actor table,
                             std::string version) {
  http_router routes;
  routes.get("/v1/events", [table](const http_request& req,
                                   http_responder respond) {
    if (!req.accepts("text/event-stream"))
      return respond(json_error(
        406, "the event stream needs Accept: text/event-stream"));
    // Records written before the response goes out wait in the sink.
    auto sink = std::make_shared<stream_sink>();
    caf::anon_send(table, subscribe_atom::value, events_atom::value, sink);
    http_response ok;
    ok.content_type = "text/event-stream";
    ok.stream = [sink](std::shared_ptr<http_stream> stream) {
      sink->attach(std::move(stream));
    };
    respond(std::move(ok));
  });
  routes.get("/v1/vips", [holder, proxy](const http_request&,
                                         http_responder respond) {
    auto table = holder->current();
    auto stats = stats_of(proxy);
    json_writer w;
    w.begin_array();
    if (table)
      for (const auto& v : table->vips)
        write_vip(w, v, stats);
    w.end_array();
    respond(json(w.take()));
  });
  routes.add_prefix("GET", "/v1/vips/", [holder, proxy](
                                          const http_request& req,
                                          http_responder respond) {
    auto name = req.path.substr(std::string_view{"/v1/vips/"}.size());
    auto protocol = req.query.count("protocol") ? req.query.at("protocol")
                                                : std::string{"tcp"};
    auto table = holder->current();
    if (table)
      for (const auto& v : table->vips)
        if (v.protocol == protocol
            && (v.display_name() == name || v.key() == name
                || fmt::format("{}:{}", v.ip, v.port) == name)) {
          json_writer w;
          write_vip(w, v, stats_of(proxy));
          respond(json(w.take()));
          return;
        }
    respond(json_error(404, fmt::format("no {} VIP '{}'", protocol, name)));
  });
  routes.get("/v1/errors", [holder](const http_request&,
                                    http_responder respond) {
    auto table = holder->current();
    json_writer w;
    w.begin_object().key("errors").begin_array();
    if (table)
      for (const auto& e : table->errors)
        write_vip_error(w, e);
    w.end_array().end_object();
    respond(json(w.take()));
  });
  routes.get("/v1/version", [version](const http_request&,
                                      http_responder respond) {
    json_writer w;
    w.begin_object()
      .field("Service", "minuteman")
      .field("Version", version)
      .end_object();
    respond(json(w.take()));
  });
  routes.get("/metrics", [holder, proxy](const http_request&,
                                         http_responder respond) {
    auto table = holder->current();
    http_response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = prometheus(table.get(), stats_of(proxy));
    respond(std::move(r));
  });
  routes.get("/metrics/snapshot", [holder, proxy](const http_request&,
                                                  http_responder respond) {
    auto table = holder->current();
    metrics_snapshot m;
    uint64_t connections = 0, active = 0, failures = 0, in = 0, out = 0;
    for (const auto& [_, s] : stats_of(proxy)) {
      connections += s.connections;
      active += s.active;
      failures += s.failures;
      in += s.bytes_in;
      out += s.bytes_out;
    }
    add_metric(m, "minuteman/vips", table ? table->vips.size() : 0);
    add_metric(m, "minuteman/label_errors", table ? table->errors.size() : 0);
    add_metric(m, "minuteman/connections", static_cast<double>(connections));
    add_metric(m, "minuteman/connections_active", static_cast<double>(active));
    add_metric(m, "minuteman/failures", static_cast<double>(failures));
    add_metric(m, "minuteman/bytes_in", static_cast<double>(in));
    add_metric(m, "minuteman/bytes_out", static_cast<double>(out));
    respond(metrics_response(m, false));
  });
  return routes;
}

} // namespace dcos::minuteman
