// Containers' /etc/resolv.conf, as Mesos' network/cni isolator writes it
// from the agent's --default_container_dns: a container on a virtual
// network of its own gets its network's DNS servers (so that, told the
// address of Mesos-DNS, `nslookup web.marathon.mesos` works inside it); a
// container with namespaces of its own on the host's network gets the HOST
// entry. Without an entry a container keeps the file it has.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include <dcos/v1/container.pb.h>

namespace dcos::isolation {

/// Parses and checks the agent's --default_container_dns (Mesos' JSON form,
/// ContainerDNSInfo): network modes HOST or CNI, at most one entry per
/// network name (and one HOST entry, one CNI entry without a name),
/// nameservers that are IP addresses. Errors name the field, e.g.
/// "mesos[0].dns.nameservers[1]: 'x' is not an IP address".
caf::expected<v1::ContainerDNSInfo> parse_container_dns(std::string_view json);

/// The DNS settings for a container on `network` (its first virtual
/// network), or on the host's network when `network` is empty: the entry
/// for that network name, else the CNI entry without a name (networks) or
/// the HOST entry (host). Nothing when no entry applies.
std::optional<v1::DNSInfo> container_dns_for(const v1::ContainerDNSInfo& info,
                                             const std::string& network);

/// The resolv.conf(5) text of `dns`.
std::string resolv_conf(const v1::DNSInfo& dns);

} // namespace dcos::isolation
