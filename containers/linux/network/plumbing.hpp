// The kernel's side of the networks: on the host, a bridge per network and
// IPv4 forwarding; per container, a veth pair from the bridge into its
// network namespace, its address, lo, its default route, and its port
// mappings (iptables.hpp). Links, addresses and routes are rtnetlink
// requests (rtnetlink.hpp); errors name the equivalent `ip` command.
#pragma once

#include <sys/types.h>

#include <string>

#include <caf/error.hpp>

#include "linux/network.hpp"
#include "linux/network/attachment.hpp"
#include "linux/network/ipv4.hpp"

namespace dcos::isolation::net {

/// Makes `net`'s bridge (or finds it), gives it the gateway address and
/// brings it up. Idempotent. Fails with conflict when a link of that name
/// is no bridge, invalid_argument for a bad subnet or bridge name.
caf::error prepare_bridge(const network_config& net);

/// Turns IPv4 forwarding on if it is off.
caf::error enable_forwarding();

/// Fails with invalid_argument unless process `pid` has a network
/// namespace of its own: one still in the agent's would have the agent's
/// own interfaces renamed and rerouted.
caf::error check_own_netns(pid_t pid);

/// Plumbs `held` (as reserve() made it) for container `id`, whose first
/// process is `pid`: the veth between `net`'s bridge and the container's
/// namespace, the container's end configured inside, the port mappings.
/// On error, what was made stays: unplumb() undoes it.
caf::error plumb(const std::string& id, const attachment& held,
                 const network_config& net, const ipv4_subnet& subnet,
                 pid_t pid);

/// Undoes plumb(), skipping what is already gone; logs what it cannot
/// undo. Both halves follow.
void unplumb(const std::string& id, const attachment& held);

/// Removes `held`'s port mappings; logs what it cannot remove.
void unmap_ports(const std::string& id, const attachment& held);

/// Deletes `held`'s veth (both ends) if it is still there. Blocks for
/// 15-25 ms on this machine: the kernel waits out an RCU grace period.
void remove_veth(const std::string& id, const attachment& held);

/// True while the host end of `held`'s veth exists.
bool veth_exists(const attachment& held);

} // namespace dcos::isolation::net
