// IP-per-container networking: named virtual networks on this agent.
//
// Each network (name, IPv4 subnet) is a Linux bridge on the host whose
// address is the subnet's first host address (the containers' gateway). A
// container attached to a network lives in its own network namespace and
// gets: one end of a veth pair as eth0 (the other end enslaved to the
// bridge), an address from the network's IPAM, lo up, and a default route
// via the gateway. Port mappings (host port -> container port, tcp or udp)
// are DNAT rules in the nat table.
//
// Isolation: containers on different networks cannot reach each other
// (iptables rules in our own chains, DCOS-ISOLATION in filter/FORWARD),
// unless a network lists the other in `allow`. Traffic leaving for the
// outside world is masqueraded.
//
// IPAM state lives on disk in `state_dir` (one file per address in use,
// naming its container), guarded by an flock, in the manner of CNI's
// host-local plugin: the agent and its executors, each in its own process,
// attach containers without colliding, and the state survives restarts so
// that the agent can release what dead containers held (cleanup_except).
// An ended container's addresses are released once the kernel has removed
// its veth with its namespace (detach_ended, release_ended).
//
// A container's veth, addresses and routes are made with rtnetlink requests
// from this process (its namespace is reached through a short-lived vfork'd
// task, never by moving an actor's thread): no process per step, so an
// attach costs about a millisecond. Bridges are made with iproute2's `ip`
// and the rules with `iptables` (run through dcos::subprocess). Errors name
// the equivalent `ip` command, for operators to inspect or retry by hand.
//
// Thread-safety: one network_manager per actor; several processes may use
// the same state_dir at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <dcos/wire_types.hpp>

#include "linux/network/attachment.hpp"

namespace dcos::isolation {

struct network_config {
  std::string name;               // what tasks ask for in NetworkInfo.name
  std::string subnet;             // IPv4 CIDR, e.g. "10.210.1.0/24"
  std::string bridge;             // host bridge; default "dcos-" and the
                                  // name's first 10 characters
  std::vector<std::string> allow; // networks whose containers may reach ours
};

/// Parses the agent's --networks value: a JSON array of objects with the
/// fields above, e.g. [{"name":"blue","subnet":"10.210.1.0/24"}]. Errors name
/// the field: "networks[1].subnet: '10.0.0.0/33' is not an IPv4 CIDR".
/// Names and subnets must be unique and subnets must not overlap.
caf::expected<std::vector<network_config>>
parse_network_configs(std::string_view json);

class network_manager {
public:
  /// REQUIRES: `state_dir` is absolute.
  network_manager(std::vector<network_config> networks, std::string state_dir,
                  std::chrono::seconds ended_patience
                  = std::chrono::seconds{10});

  const std::vector<network_config>& networks() const noexcept {
    return networks_;
  }

  /// Creates the bridges (or finds them), the gateway addresses, the
  /// isolation, forwarding and masquerade rules. Idempotent: the agent calls
  /// it at every start. Fails (naming the network) when the host refuses.
  caf::error prepare();

  /// Attaches the container whose first process is `pid` (already in its
  /// own network namespace) to `request.name()`: allocates an address,
  /// plumbs the veth, adds the port mappings. Returns `request` with
  /// ip_addresses filled in with the real address. Calls release_ended()
  /// first; when the subnet is full, it deletes the veths of every ended
  /// container (15-25 ms each) and tries once more. Errors: not_found for
  /// an unknown network, unavailable when the subnet is full, conflict for a
  /// host port already mapped or an id whose earlier self is still being
  /// released; nothing is left behind on error.
  caf::expected<v1::NetworkInfo> attach(const std::string& container_id,
                                        const v1::NetworkInfo& request,
                                        pid_t pid);

  /// Releases what `container_id` holds on every network: addresses, port
  /// mappings, the host end of its veth if it is still there. Idempotent.
  void detach(const std::string& container_id);

  /// detach() for a container whose processes have ended (or are being
  /// killed), without waiting for its veth: deleting one blocks the caller
  /// for 15-25 ms here while the kernel waits out an RCU grace period, and
  /// the kernel deletes it anyway, off this thread, when the container's
  /// namespace dies. The port mappings go now; the addresses stay taken
  /// until the veth is gone (see release_ended(), which attach() calls
  /// too). Idempotent.
  void detach_ended(const std::string& container_id);

  /// Releases the addresses of containers given to detach_ended() whose
  /// veths are gone, and deletes the veths of those that ended
  /// `ended_patience` ago (a constructor argument) or more: something still
  /// holds their namespace. Returns how many still wait.
  size_t release_ended();

  /// Detaches every container that holds something but is not in `live`
  /// (after an agent restart: their state leaked).
  void cleanup_except(const std::vector<std::string>& live);

private:
  // What `container_id` holds; none (logged) if unreadable or impossible.
  std::optional<std::vector<net::attachment>>
  held_for_detach(const std::string& container_id) const;
  // release_ended() with `patience` in place of ended_patience.
  size_t release_ended_after(std::chrono::seconds patience);

  std::vector<network_config> networks_;
  std::string state_dir_;
  std::chrono::seconds ended_patience_;
};

} // namespace dcos::isolation
