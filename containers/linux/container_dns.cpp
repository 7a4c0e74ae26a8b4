#include "linux/container_dns.hpp"

#include <arpa/inet.h>

#include <set>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"

namespace dcos::isolation {

namespace {

using mesos_info = v1::ContainerDNSInfo::MesosInfo;

bool is_ip(const std::string& text) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1
         || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

caf::error invalid(const std::string& field, const std::string& reason) {
  return make_error(errc::invalid_argument,
                    fmt::format("{}: {}", field, reason));
}

// resolv.conf is read line by line, words split at blanks.
bool one_word(const std::string& text) {
  return !text.empty()
         && text.find_first_of(" \t\r\n#;") == std::string::npos;
}

caf::error check_dns(const v1::DNSInfo& dns, const std::string& field) {
  if (dns.nameservers().empty())
    return invalid(field + ".nameservers", "at least one is needed");
  for (int i = 0; i < dns.nameservers_size(); ++i)
    if (!is_ip(dns.nameservers(i)))
      return invalid(fmt::format("{}.nameservers[{}]", field, i),
                     fmt::format("'{}' is not an IP address",
                                 dns.nameservers(i)));
  if (dns.has_domain() && !one_word(dns.domain()))
    return invalid(field + ".domain",
                   fmt::format("'{}' is not one word", dns.domain()));
  for (int i = 0; i < dns.search_size(); ++i)
    if (!one_word(dns.search(i)))
      return invalid(fmt::format("{}.search[{}]", field, i),
                     fmt::format("'{}' is not one word", dns.search(i)));
  for (int i = 0; i < dns.options_size(); ++i)
    if (!one_word(dns.options(i)))
      return invalid(fmt::format("{}.options[{}]", field, i),
                     fmt::format("'{}' is not one word", dns.options(i)));
  return {};
}

} // namespace

caf::expected<v1::ContainerDNSInfo> parse_container_dns(std::string_view json) {
  v1::ContainerDNSInfo info;
  if (auto err = from_json(json, &info, "default_container_dns"))
    return err;
  std::set<std::string> seen; // "HOST", "CNI" and "CNI/name"
  for (int i = 0; i < info.mesos_size(); ++i) {
    const auto& entry = info.mesos(i);
    auto field = fmt::format("mesos[{}]", i);
    std::string key;
    switch (entry.network_mode()) {
      case mesos_info::HOST:
        if (entry.has_network_name())
          return invalid(field + ".network_name",
                         "a HOST entry names no network");
        key = "HOST";
        break;
      case mesos_info::CNI:
        key = entry.has_network_name() ? "CNI/" + entry.network_name()
                                       : "CNI";
        break;
      default:
        return invalid(field + ".network_mode", "must be HOST or CNI");
    }
    if (!seen.insert(key).second)
      return invalid(field, entry.has_network_name()
                              ? fmt::format("a second entry for network "
                                            "'{}'",
                                            entry.network_name())
                              : fmt::format("a second {} entry without a "
                                            "network name",
                                            key));
    if (!entry.has_dns())
      return invalid(field + ".dns", "required");
    if (auto err = check_dns(entry.dns(), field + ".dns"))
      return err;
  }
  return info;
}

std::optional<v1::DNSInfo> container_dns_for(const v1::ContainerDNSInfo& info,
                                             const std::string& network) {
  const mesos_info* fallback = nullptr;
  for (const auto& entry : info.mesos()) {
    if (network.empty()) {
      if (entry.network_mode() == mesos_info::HOST)
        return entry.dns();
      continue;
    }
    if (entry.network_mode() != mesos_info::CNI)
      continue;
    if (!entry.has_network_name())
      fallback = &entry;
    else if (entry.network_name() == network)
      return entry.dns();
  }
  if (fallback)
    return fallback->dns();
  return std::nullopt;
}

std::string resolv_conf(const v1::DNSInfo& dns) {
  std::string out = "# Written by the agent (--default_container_dns)\n";
  if (dns.has_domain())
    out += "domain " + dns.domain() + "\n";
  if (!dns.search().empty())
    out += fmt::format("search {}\n", fmt::join(dns.search(), " "));
  for (const auto& server : dns.nameservers())
    out += "nameserver " + server + "\n";
  if (!dns.options().empty())
    out += fmt::format("options {}\n", fmt::join(dns.options(), " "));
  return out;
}

} // namespace dcos::isolation
