// The records of the Mesos-DNS zone, made from the master's state by Mesos-
// DNS' rules (records/generator.go; docs/naming.md):
//  - task.framework.domain and the canonical task-HASH-AGENT.framework.domain
//    (A or AAAA from the first IP source that gives an address, in the order
//    of IPSources), and both under .slave. with the agent's address;
//  - SRV _task._tcp.framework.domain and _udp (and under .slave.) for the
//    task's host ports, with targets under .slave.; with DiscoveryInfo, SRV
//    for its ports instead (_task._proto.framework.domain, and
//    _name._task._proto... for named ports), with targets in the zone;
//  - leader.domain, master.domain, masterN.domain, _leader._tcp/_udp,
//    slave.domain and _slave._tcp, framework.domain (the scheduler's host),
//    and the name server's own name (SOAMname);
//  - only running tasks on agents the master knows;
//  - and, in a second zone, each named VIP's address under
//    l4lb.thisdcos.directory (dcos/vip_table.hpp), as DC/OS' dcos-dns.
// Names are lower case and fully qualified ("web.marathon.mesos.").
// A host that is a name, not an address (an agent, scheduler or master that
// advertises "node-3.example"), gets the addresses the caller looked up for
// it (zone_inputs), as Mesos-DNS looks such names up; building never looks
// anything up itself, so that the actor building the zone never blocks.
//
// Thread-safety: a built record_set is immutable and may be read by any
// number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <dcos/v1/master.pb.h>

#include "dns_config.hpp"

namespace dcos::mesos_dns {

struct srv_target {
  std::string host; // a name in the zone, fully qualified
  uint16_t port = 0;
  bool operator==(const srv_target&) const = default;
};

/// What the records need beyond the master's state.
struct zone_inputs {
  /// The addresses of hosts that are names ("node-3.example" ->
  /// {"10.0.0.3"}), as looked up. A name missing here gets no records.
  std::unordered_map<std::string, std::vector<std::string>> host_addresses;
  /// Every master as "HOST:PORT", the leader first, as the masters'
  /// ZooKeeper election lists them; nullopt: the configured Masters.
  std::optional<std::vector<std::string>> masters;
};

/// One record as /v1/enumerate lists it.
struct enumerated_record {
  std::string name;
  std::string host;  // an address, or "target:port" for SRV
  std::string rtype; // "A", "AAAA" or "SRV"
};

struct enumerated_task {
  std::string name;
  std::string id;
  std::vector<enumerated_record> records;
};

struct enumerated_framework {
  std::string name;
  std::vector<enumerated_task> tasks;
};

class record_set {
public:
  using address_map
    = std::unordered_map<std::string, std::vector<std::string>>;
  using srv_map = std::unordered_map<std::string, std::vector<srv_target>>;

  /// The records of `state`, led by `leader`.
  static record_set build(const v1::master::Response::GetState& state,
                          const v1::MasterInfo& leader,
                          const dns_settings& settings,
                          const zone_inputs& inputs = {});

  /// The hosts that build() needs looked up: those of the agents,
  /// schedulers and masters (`leader`, and `masters`: the election's
  /// members, else the configured Masters) that are names, not addresses.
  /// Sorted, without duplicates.
  static std::vector<std::string>
  host_names(const v1::master::Response::GetState& state,
             const v1::MasterInfo& leader,
             const std::vector<std::string>& masters);

  const address_map& a() const noexcept { return a_; }
  const address_map& aaaa() const noexcept { return aaaa_; }
  const srv_map& srv() const noexcept { return srv_; }
  const std::vector<enumerated_framework>& frameworks() const noexcept {
    return frameworks_;
  }

  /// True if `name` (lower case, fully qualified) has a record of any type.
  bool has_name(const std::string& name) const;

  /// Every record, sorted: one line per record, "NAME TYPE VALUE" (for
  /// tests and the simulation's comparisons).
  std::vector<std::string> lines() const;

private:
  // Each adds the record unless it exists; returns whether it was added.
  bool add_address(const std::string& name, const std::string& ip);
  bool add_srv(const std::string& name, srv_target target);

  address_map a_;
  address_map aaaa_;
  srv_map srv_;
  std::vector<enumerated_framework> frameworks_;

  friend class record_builder;
};

} // namespace dcos::mesos_dns
