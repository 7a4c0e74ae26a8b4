// Flat metrics as Mesos publishes them: names such as
// "master/tasks_running", one number each, in a GetMetrics message (the
// operator API's answer), served as a JSON object at /metrics/snapshot and in
// Prometheus' text format at /metrics. Every daemon and service builds and
// serves its metrics through these functions.
//
// Thread-safety: plain functions on values.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include <dcos/http_router.hpp>
#include <dcos/http_server.hpp>
#include <dcos/v1/master.pb.h>
#include <dcos/v1/task.pb.h>

namespace dcos {

using metrics_snapshot = v1::master::Response::GetMetrics;

/// Appends `name` = `value` to `out`. Names are not checked for repeats.
void add_metric(metrics_snapshot& out, std::string name, double value);

/// Mesos' metric name of a task state: `prefix` + "tasks_" + the state's
/// name without "TASK_" in lower case ("master/tasks_running").
std::string task_state_metric(std::string_view prefix, v1::TaskState state);

/// The JSON object of /metrics/snapshot: {"name": value, ...}, in order.
std::string snapshot_json(const metrics_snapshot& metrics);

/// Prometheus' text exposition format (0.0.4): every metric a gauge, named
/// with each character outside [A-Za-z0-9] as '_'
/// ("master/tasks_running" is master_tasks_running).
std::string prometheus_text(const metrics_snapshot& metrics);

/// The answer to GET /metrics (`prometheus`) or GET /metrics/snapshot.
http_response metrics_response(const metrics_snapshot& metrics,
                               bool prometheus);

/// Takes a snapshot (usually by asking an actor) and calls `done` once, with
/// it or with the error, from any thread.
using metrics_source = std::function<void(
  std::function<void(caf::expected<metrics_snapshot>)> done)>;

/// Routes GET /metrics/snapshot (JSON) and GET /metrics (Prometheus) to
/// `source`, which is asked once per request; its error is answered as
/// error_response() says.
void route_metrics(http_router& routes, metrics_source source);

} // namespace dcos
