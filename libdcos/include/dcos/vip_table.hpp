// Virtual IPs as DC/OS declares them, read from the cluster's state: the
// table that Minuteman balances and Mesos-DNS names (*.l4lb.thisdcos.directory).
// Both build it from the same cluster view with the same function, so they
// agree on every address without talking to each other.
//
// A task declares a VIP with a label on one of its DiscoveryInfo ports
// (Marathon copies portDefinitions[].labels and portMappings[].labels
// there): a key that starts with "VIP" or "vip" ("VIP_0"), value either
//  - "/name:port" (a named VIP; the leading '/' may be left out, and a
//    nested name "/group/app" is allowed), or
//  - "IP:port" (an address the user picked; IPv4, or IPv6 as "[IP]:port").
// The port's protocol ("tcp" unless the DiscoveryInfo port says "udp") is the
// VIP's protocol. A label that is neither is reported in vip_table::errors
// and otherwise ignored.
//
// A named VIP is known as "LABEL.FRAMEWORK.l4lb.thisdcos.directory", LABEL
// and FRAMEWORK cleaned as DC/OS cleans them: each '.'-separated piece lower
// case, '_' as '-', every other character outside [a-z0-9-] dropped ('/'
// included), no '-' at either end, at most 63 characters ("/web:80" of
// Marathon's tasks is web.marathon.l4lb.thisdcos.directory, "/prod/db:5432"
// proddb.marathon...). Its address is in 11.0.0.0/8, from a
// hash of that DNS name (FNV-1a, 24 bits): the same name gets the same address
// in every process and across restarts. When names collide, the one that
// sorts first keeps its hash and the others take the next free addresses, so
// two names never share one; ports of one name share its address.
//
// Backends (what a VIP balances to) are the declaring tasks, each at its
// address for that port: on a container network (the port is labelled
// network-scope=container) the container's IP and the port's number; else
// the agent's address and the port's number (a host port). The agent's
// address is its IP (agent_ip()), else its hostname, which a proxy
// resolves (Minuteman's does). Their state:
//  - up: TASK_RUNNING, and healthy: a task with a health check once a
//    check says so (as DC/OS, not before the first result);
//  - a running task that its health check calls unhealthy, and a task being
//    killed (TASK_KILLING) are not backends: new connections go elsewhere
//    while open ones finish (drain);
//  - a task on an unreachable agent (TASK_UNREACHABLE) stays a backend only
//    while the VIP has no backend that is up (state "unreachable").
// A VIP is listed while some task that has not ended declares it, with no
// backends if none qualifies.
//
// Thread-safety: plain functions on values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include <dcos/v1/master.pb.h>

namespace dcos {

/// The zone of named VIPs.
inline constexpr std::string_view vip_zone = "l4lb.thisdcos.directory";

/// One VIP_n label's value, parsed.
struct vip_label {
  std::string name; // a named VIP's name without the leading '/'; else empty
  std::string ip;   // an address VIP's address; else empty
  uint16_t port = 0;
};

/// Parses a VIP_n label's value. Fails with invalid_argument naming what is
/// wrong: no port, a port outside 1-65535, an empty name, a name with
/// characters other than letters, digits, '-', '_', '.' and '/', or an
/// address that is not one.
caf::expected<vip_label> parse_vip_label(std::string_view value);

/// The DNS name of a named VIP `name` (as parse_vip_label gives it)
/// declared by framework `framework`, without the final dot; empty if
/// either has no letter or digit.
std::string vip_dns_name(std::string_view name, std::string_view framework);

/// A named VIP's address before collisions: 11.x.y.z from `dns_name`'s hash
/// (never 11.0.0.0 nor 11.255.255.255).
std::string vip_hash_address(std::string_view dns_name);

struct vip_backend {
  enum class state { up, unreachable };
  std::string ip;
  uint16_t port = 0;
  std::string framework_id;
  std::string task_id;
  std::string agent_id;
  state status = state::up;
};

struct vip_entry {
  std::string protocol; // "tcp" or "udp"
  std::string ip;       // where clients connect
  uint16_t port = 0;
  std::string name;     // a named VIP's name ("web"); empty for an address
  std::string dns_name; // a named VIP's DNS name; empty for an address
  std::vector<vip_backend> backends; // sorted by ip, then port

  /// "tcp://IP:PORT" ("tcp://[IP]:PORT" for IPv6): how the API names it.
  std::string key() const;

  /// DC/OS' "vip" field: "DNS_NAME:PORT" for a named VIP, else "IP:PORT"
  /// ("[IP]:PORT" for IPv6).
  std::string display_name() const;
};

struct vip_error {
  std::string framework_id;
  std::string task_id;
  std::string label; // "VIP_0"
  std::string value;
  std::string reason;
};

struct vip_table {
  std::vector<vip_entry> vips; // sorted by protocol, ip, then port
  std::vector<vip_error> errors;

  /// The VIP keyed `key` (vip_entry::key()), or nullptr.
  const vip_entry* find(std::string_view key) const;
};

/// The VIPs of `state`'s tasks, as the header says.
vip_table build_vip_table(const v1::master::Response::GetState& state);

/// The IP address an agent is reached at: its pid's host, else its
/// hostname, if either is an IP address; else empty.
std::string agent_ip(const v1::master::Response::GetAgents::Agent& agent);

} // namespace dcos
