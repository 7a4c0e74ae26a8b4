// IPv4 addresses and subnets of the networks: parsing, printing, and the
// addresses a subnet reserves (network, gateway, broadcast).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/expected.hpp>

namespace dcos::isolation::net {

/// A subnet; every address is in host byte order.
struct ipv4_subnet {
  uint32_t base = 0;
  int prefix = 0;

  uint32_t mask() const { return ~uint32_t{0} << (32 - prefix); }
  uint32_t broadcast() const { return base | ~mask(); }
  /// The bridge's address: the subnet's first host address.
  uint32_t gateway() const { return base + 1; }
  bool contains(uint32_t addr) const { return (addr & mask()) == base; }
};

/// The address in dotted-quad `text`, or nullopt.
std::optional<uint32_t> parse_ipv4(const std::string& text);

std::string format_ipv4(uint32_t addr);

/// The subnet in CIDR `text` ("10.210.1.0/24"). Fails with invalid_argument
/// naming `text` when it is no CIDR, has host bits set, or its prefix is
/// outside /8 to /30.
caf::expected<ipv4_subnet> parse_subnet(const std::string& text);

/// Whether `a` and `b` share an address.
bool overlap(const ipv4_subnet& a, const ipv4_subnet& b);

} // namespace dcos::isolation::net
