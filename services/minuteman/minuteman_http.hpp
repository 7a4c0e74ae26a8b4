// Minuteman's HTTP API (DC/OS serves it on 62080):
//   GET /v1/vips          every VIP: DC/OS' fields ("vip" as NAME:PORT or
//                         IP:PORT, "protocol", "backend": [{"ip","port"}])
//                         plus "ip", "port", "name", whether the proxy
//                         listens ("listening", "error") and each backend's
//                         task, state (up, down, unreachable, draining),
//                         latency average and counters ("backends")
//   GET /v1/vips/{vip}    one of them, by its "vip" (NAME:PORT or IP:PORT),
//                         ?protocol=udp for a UDP one; 404 if none
//   GET /v1/errors        malformed VIP labels: {"errors": [{"framework_id",
//                         "task_id","label","value","reason"}]}
//   GET /v1/events        server-sent events: VIPs and backends added and
//                         removed, malformed labels (vip_table_actor.hpp);
//                         406 without Accept: text/event-stream
//   GET /v1/version       {"Service": "minuteman", "Version": ...}
//   GET /metrics          Prometheus: connections, bytes and failures per
//                         VIP and backend (labels vip=, backend=)
//   GET /metrics/snapshot the totals as a flat JSON object
#pragma once

#include <memory>
#include <string>

#include <dcos/http_router.hpp>

#include "vip_proxy.hpp"
#include "vip_table_actor.hpp"

namespace dcos::minuteman {

/// The routes above. `proxy` may be null (no data plane): VIPs then show
/// as not listening; it must outlive the router's handler. `table` takes
/// the event stream's subscribers.
http_router minuteman_routes(std::shared_ptr<const vip_holder> holder,
                             const vip_proxy* proxy, vip_table_actor table,
                             std::string version);

} // namespace dcos::minuteman
