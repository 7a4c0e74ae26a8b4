// The networks' iptables rules, in chains of our own so that they can be
// rebuilt without touching the operator's rules:
//   filter DCOS-ISOLATION (from FORWARD)  drops traffic between networks
//                                         that do not allow each other
//   nat    DCOS-MASQ (from POSTROUTING)   masquerades traffic leaving for
//                                         the outside world
//   nat    DCOS-DNAT (from PREROUTING     the port mappings, one rule each,
//          and OUTPUT, to local addresses) commented with the container id
#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "linux/network.hpp"
#include "linux/network/attachment.hpp"

namespace dcos::isolation::net {

/// Rebuilds DCOS-ISOLATION and DCOS-MASQ for `networks`, each table in one
/// transaction (iptables-restore, through a file in `state_dir`), makes
/// DCOS-DNAT if missing (never emptied: it holds the running containers'
/// mappings), and puts the jumps to all three first in their chains.
/// Idempotent. Fails naming the command the host refused.
caf::error install_rules(const std::vector<network_config>& networks,
                         const std::string& state_dir);

/// Forwards `p`'s host port, on the host's own addresses, to `ip`.
caf::error add_port_mapping(const std::string& container_id,
                            const std::string& ip, const port_mapping& p);

/// Removes what add_port_mapping added; succeeds when it is already gone.
caf::error remove_port_mapping(const std::string& container_id,
                               const std::string& ip, const port_mapping& p);

} // namespace dcos::isolation::net
