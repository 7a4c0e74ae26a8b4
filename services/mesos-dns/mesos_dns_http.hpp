// Mesos-DNS' HTTP API (docs/http.md), on the zone being served:
//   GET /v1/version               {"Service","URL","Version"}
//   GET /v1/config                the configuration, config.json's names
//   GET /v1/hosts/{host}          [{"host","ip"}]: its A and AAAA records
//   GET /v1/hosts/{host}/ports    [{"service","host","ip","port"}]: the SRV
//                                 records that point at the host (Mesos-DNS
//                                 answers 501 here)
//   GET /v1/services/{service}    [{"service","host","ip","port"}]: SRV
//   GET /v1/enumerate             every task's records, by framework
//   GET /v1/axfr                  the zone whole: {"TTL","Serial",
//                                 "RefreshSeconds","Mname","Rname","Domain",
//                                 "Records": {"As","AAAAs","SRVs"}}, each
//                                 name to its values (SRV: "target:port");
//                                 this and /v1/enumerate only with
//                                 EnumerationOn, as in Mesos-DNS
//   GET /metrics, /metrics/snapshot   queries by type and rcode, forwards,
//                                 truncations, answer latency
// As in Mesos-DNS, a name with no records answers one entry of empty
// strings (not 404), and names are taken with or without the final dot.
#pragma once

#include <memory>
#include <string>

#include <dcos/http_router.hpp>

#include "dns_config.hpp"
#include "dns_server.hpp"
#include "zone_snapshot.hpp"

namespace dcos::mesos_dns {

/// The routes above. `dns` may be null (DnsOn false): its metrics are then
/// zero. `zone` and `dns` must outlive the router's handler.
http_router mesos_dns_routes(const dns_settings& settings,
                             std::shared_ptr<const zone_holder> zone,
                             const dns_server* dns, std::string version);

} // namespace dcos::mesos_dns
