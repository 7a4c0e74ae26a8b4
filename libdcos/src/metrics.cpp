#include "dcos/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include <fmt/format.h>

#include "dcos/json_writer.hpp"

namespace dcos {

void add_metric(metrics_snapshot& out, std::string name, double value) {
  auto* m = out.add_metrics();
  m->set_name(std::move(name));
  m->set_value(value);
}

std::string task_state_metric(std::string_view prefix, v1::TaskState state) {
  auto name = v1::TaskState_Name(state);
  if (name.rfind("TASK_", 0) == 0)
    name.erase(0, 5);
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return fmt::format("{}tasks_{}", prefix, name);
}

std::string snapshot_json(const metrics_snapshot& metrics) {
  json_writer w;
  w.begin_object();
  for (const auto& m : metrics.metrics())
    w.field(m.name(), m.value());
  w.end_object();
  return w.take();
}

std::string prometheus_text(const metrics_snapshot& metrics) {
  std::string out;
  for (const auto& m : metrics.metrics()) {
    std::string name;
    for (char c : m.name())
      name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    fmt::format_to(std::back_inserter(out), "# TYPE {} gauge\n{} {}\n", name,
                   name, m.value());
  }
  return out;
}

http_response metrics_response(const metrics_snapshot& metrics,
                               bool prometheus) {
  http_response r;
  if (prometheus) {
    r.content_type = "text/plain; version=0.0.4";
    r.body = prometheus_text(metrics);
  } else {
    r.body = snapshot_json(metrics);
  }
  return r;
}

void route_metrics(http_router& routes, metrics_source source) {
  for (bool prometheus : {false, true}) {
    routes.get(prometheus ? "/metrics" : "/metrics/snapshot",
               [source, prometheus](const http_request&,
                                    http_responder respond) {
                 source([respond, prometheus](
                          caf::expected<metrics_snapshot> metrics) {
                   respond(metrics ? metrics_response(*metrics, prometheus)
                                   : error_response(metrics.error()));
                 });
               });
  }
}

} // namespace dcos
