#include "linux/network/ipv4.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

#include "linux/network/errors.hpp"

namespace dcos::isolation::net {

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  in_addr addr{};
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1)
    return std::nullopt;
  return ntohl(addr.s_addr);
}

std::string format_ipv4(uint32_t addr) {
  return fmt::format("{}.{}.{}.{}", addr >> 24, (addr >> 16) & 0xff,
                     (addr >> 8) & 0xff, addr & 0xff);
}

// A /31 or /32 leaves no room for a gateway and a container; below /8 the
// address files would be counted in millions.
caf::expected<ipv4_subnet> parse_subnet(const std::string& text) {
  auto slash = text.find('/');
  auto base = parse_ipv4(text.substr(0, slash));
  int prefix = -1;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, prefix);
    if (ec != std::errc{} || end != last || first == last)
      prefix = -1;
  }
  if (!base || prefix < 0 || prefix > 32)
    return invalid(fmt::format("'{}' is not an IPv4 CIDR like 10.210.1.0/24",
                               text));
  if (prefix < 8 || prefix > 30)
    return invalid(
      fmt::format("'{}': the prefix must be between /8 and /30", text));
  ipv4_subnet subnet{*base, prefix};
  if ((*base & subnet.mask()) != *base)
    return invalid(fmt::format("'{}' has host bits set (the network is {}/{})",
                               text, format_ipv4(*base & subnet.mask()),
                               prefix));
  return subnet;
}

bool overlap(const ipv4_subnet& a, const ipv4_subnet& b) {
  return a.contains(b.base) || b.contains(a.base);
}
} // namespace dcos::isolation::net
