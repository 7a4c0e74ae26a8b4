// Mesos-DNS' configuration: its config.json (mesos_dns.proto's Config, with
// Mesos-DNS' defaults) and what dcos-dns derives from it once checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "mesos_dns.pb.h"

namespace dcos::mesos_dns {

/// Mesos-DNS' defaults (records/config.go): domain "mesos", TTL 60, port 53,
/// HTTP 8123, resolvers 8.8.8.8, timeout 5 s, SOA ns1.mesos /
/// root.ns1.mesos 60/600/86400/60, IP sources netinfo, mesos, host, ...
Config default_config();

/// Reads a Mesos-DNS config.json over `cfg`: the fields it has replace
/// those of `cfg`, the others keep their values. Field names as Mesos-DNS
/// writes them ("SOAMname", "IPSources", ...). Unknown fields and values of
/// the wrong type are refused, naming them; `cfg` is then unchanged.
caf::error load_config_json(std::string_view text, Config& cfg);

/// A DNS server to ask: "IP" or "IP:PORT" (port 53 when absent).
struct upstream {
  std::string ip;
  uint16_t port = 53;
};

/// The configuration checked, with what the server and the records need
/// derived from it.
struct dns_settings {
  Config config;
  std::string zone;  // "mesos." (lower case, fully qualified)
  std::string mname; // "ns1.mesos."
  std::string rname; // "root.ns1.mesos."
  /// What the name server's own A records (SOAMname) name: the listener,
  /// or every non-loopback address when it listens on 0.0.0.0.
  std::vector<std::string> self_ips;
  std::vector<upstream> resolvers;
  /// Zones (fully qualified, lower case) with their own servers, the
  /// longest zone first so that the first match is the closest.
  std::vector<std::pair<std::string, std::vector<upstream>>> zone_resolvers;
};

/// Checks `cfg` and derives the rest. Errors name the field as config.json
/// spells it ("IPSources: unknown source 'x'", "Resolvers: ...").
caf::expected<dns_settings> make_settings(Config cfg);

/// `name` as a fully qualified, lower-case DNS name ("A.b" -> "a.b.").
std::string fqdn(std::string_view name);

} // namespace dcos::mesos_dns
