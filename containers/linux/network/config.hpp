// What the checks of the agent's --networks (parse_network_configs, in
// network.hpp) share with the host setup, which checks again configs that
// did not come through them.
#pragma once

#include <cstddef>
#include <string>

namespace dcos::isolation::net {

/// Linux interface names are at most IFNAMSIZ - 1 bytes.
constexpr size_t max_ifname = 15;

/// Whether `name` can name an interface: 1 to max_ifname of A-Z, a-z, 0-9,
/// '-', '_' and '.', and neither "." nor "..". (A bridge's name goes into
/// an iptables-restore file too.)
bool valid_ifname(const std::string& name);

} // namespace dcos::isolation::net
