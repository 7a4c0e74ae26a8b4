// The HTTP API of a stateful service's scheduler, at dcos-commons' paths
// and with its answers, so that its CLI and scripts work unchanged:
//
//   GET  /v1/plans                     the plans' names
//   GET  /v1/plans/{plan}              the plan (plan_json): 200 when
//                                      COMPLETE, 417 with errors, else 202
//   POST /v1/plans/{plan}/{operation}  start, stop, continue, interrupt,
//                                      forceComplete, restart; `phase` and
//                                      `step` query parameters; start takes
//                                      a JSON object of string parameters.
//                                      200 {"message": "Received cmd: ..."},
//                                      208 when nothing changed
//   GET  /v1/pod                       the pod instances' names
//   GET  /v1/pod/status                every instance's tasks and states
//   GET  /v1/pod/{name}/status         one instance's
//   GET  /v1/pod/{name}/info           [{"info": TaskInfo, "status":
//                                      TaskStatus}] of its tasks, in
//                                      protobuf's JSON mapping
//   POST /v1/pod/{name}/restart        kill its tasks; they run again in
//                                      place (service_scheduler_actor.hpp)
//   POST /v1/pod/{name}/replace        kill its tasks; it is launched
//                                      afresh on new reservations and
//                                      volumes. Both answer 200 {"pod":
//                                      name, "tasks": [task names]}, 404
//                                      for an instance never launched
//   GET  /v1/endpoints                 the advertised ports' names
//   GET  /v1/endpoints/{name}          {"address": ["host:port", ...],
//                                      "dns": ["<task>.<service>.autoip.
//                                      dcos.thisdcos.directory:port", ...],
//                                      "vip": "<name>.<service>.l4lb.
//                                      thisdcos.directory:port"} (vip only
//                                      with a VIP)
//   GET  /v1/state/frameworkId         ["<framework id>"]
//   GET  /v1/state/properties          the properties' names
//                                      (service_scheduler_actor.hpp);
//                                      /{name}: its value, text/plain
//   GET  /metrics                      Prometheus' text; /metrics/snapshot
//                                      JSON (dcos/metrics.hpp)
//   GET  /v1/health                    200 when deploy and recovery are
//                                      done, 417 with errors, else 202
//
// Errors are {"message": "..."}: 404 for an unknown plan, phase, step or
// pod, 400 for a bad operation or body, 503 while the scheduler loads.
//
// Thread-safety: build on one thread; the routes run on I/O threads and
// ask the scheduler actor.
#pragma once

#include <caf/fwd.hpp>

#include <dcos/http_router.hpp>
#include <dcos/service_scheduler_actor.hpp>

namespace dcos {

/// Adds the routes above to `routes`, answered by `service` (running
/// `spec`) within `timeout`.
void add_service_routes(http_router& routes, caf::actor_system& sys,
                        service_scheduler_actor service,
                        const v1::ServiceSpec& spec,
                        caf::timespan timeout = std::chrono::seconds(10));

} // namespace dcos
