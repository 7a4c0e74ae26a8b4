// parse_network_configs (network.hpp): the agent's --networks, checked one
// entry at a time, then across entries.
#include "linux/network/config.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "linux/network.hpp"
#include "linux/network/errors.hpp"
#include "linux/network/ipv4.hpp"

namespace dcos::isolation {

namespace net {

bool valid_ifname(const std::string& name) {
  return !name.empty() && name.size() <= max_ifname && name != "."
         && name != ".."
         && std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-'
                     || c == '_' || c == '.';
            });
}

} // namespace net

using namespace net;

namespace {

bool valid_network_name(const std::string& name) {
  return !name.empty() && name.size() <= 63
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '-';
            });
}

// The string at `key` of `fields`, or nullopt when absent.
caf::expected<std::optional<std::string>>
string_field(const google::protobuf::Struct& obj, const std::string& key,
             const std::string& where) {
  auto i = obj.fields().find(key);
  if (i == obj.fields().end())
    return std::optional<std::string>{};
  if (i->second.kind_case() != google::protobuf::Value::kStringValue)
    return field_error(where + "." + key, "expected a string");
  return std::optional<std::string>{i->second.string_value()};
}

// One element of the array, checked on its own; the checks across networks
// come after all are read.
caf::expected<network_config> parse_entry(const google::protobuf::Value& entry,
                                          const std::string& where) {
  if (entry.kind_case() != google::protobuf::Value::kStructValue)
    return field_error(where, "expected an object");
  const auto& obj = entry.struct_value();
  for (const auto& [key, value] : obj.fields())
    if (key != "name" && key != "subnet" && key != "bridge" && key != "allow")
      return field_error(where + "." + key,
                         "unknown field (expected name, subnet, bridge or "
                         "allow)");
  network_config cfg;
  auto name = string_field(obj, "name", where);
  if (!name)
    return name.error();
  if (!*name)
    return field_error(where + ".name", "missing");
  if (!valid_network_name(**name))
    return field_error(where + ".name",
                       fmt::format("'{}' is not 1 to 63 of a-z, 0-9 and '-'",
                                   **name));
  cfg.name = **name;
  auto subnet = string_field(obj, "subnet", where);
  if (!subnet)
    return subnet.error();
  if (!*subnet)
    return field_error(where + ".subnet", "missing");
  if (auto parsed = parse_subnet(**subnet); !parsed)
    return field_error(where + ".subnet", describe_reason(parsed.error()));
  cfg.subnet = **subnet;
  auto bridge = string_field(obj, "bridge", where);
  if (!bridge)
    return bridge.error();
  // Derived from the name, so that operators recognise it in `ip link`.
  cfg.bridge = bridge->value_or("dcos-" + cfg.name.substr(0, 10));
  if (!valid_ifname(cfg.bridge))
    return field_error(where + ".bridge",
                       fmt::format("'{}' is not an interface name (1 to {} "
                                   "of A-Z, a-z, 0-9, '-', '_' and '.')",
                                   cfg.bridge, max_ifname));
  if (auto i = obj.fields().find("allow"); i != obj.fields().end()) {
    auto field = where + ".allow";
    if (i->second.kind_case() != google::protobuf::Value::kListValue)
      return field_error(field, "expected an array of network names");
    const auto& names = i->second.list_value().values();
    for (int k = 0; k < names.size(); ++k) {
      if (names[k].kind_case() != google::protobuf::Value::kStringValue)
        return field_error(fmt::format("{}[{}]", field, k),
                           "expected a network name");
      cfg.allow.push_back(names[k].string_value());
    }
  }
  return cfg;
}

// Checks networks[i] against the networks before it and its allow list
// against all of them. REQUIRES: every entry passed parse_entry().
caf::error check_against_others(const std::vector<network_config>& networks,
                                size_t i) {
  const auto& net = networks[i];
  auto where = fmt::format("networks[{}]", i);
  auto subnet = parse_subnet(net.subnet);
  for (size_t j = 0; j < i; ++j) {
    const auto& other = networks[j];
    if (other.name == net.name)
      return field_error(where + ".name",
                         fmt::format("'{}' is also networks[{}]", net.name, j));
    if (other.bridge == net.bridge)
      return field_error(where + ".bridge",
                         fmt::format("'{}' is also the bridge of networks[{}] "
                                     "({}); set distinct bridge names",
                                     net.bridge, j, other.name));
    if (overlap(*subnet, *parse_subnet(other.subnet)))
      return field_error(where + ".subnet",
                         fmt::format("'{}' overlaps networks[{}] ({}, {})",
                                     net.subnet, j, other.name, other.subnet));
  }
  for (size_t k = 0; k < net.allow.size(); ++k) {
    auto known = std::any_of(networks.begin(), networks.end(),
                             [&](const network_config& other) {
                               return other.name == net.allow[k];
                             });
    if (!known)
      return field_error(fmt::format("{}.allow[{}]", where, k),
                         fmt::format("'{}' is not a configured network",
                                     net.allow[k]));
  }
  return {};
}

} // namespace

caf::expected<std::vector<network_config>>
parse_network_configs(std::string_view json) {
  google::protobuf::Value doc;
  if (auto err = from_json(json, &doc, "networks"))
    return err;
  if (doc.kind_case() != google::protobuf::Value::kListValue)
    return field_error("networks", "expected a JSON array of networks");
  std::vector<network_config> networks;
  const auto& entries = doc.list_value().values();
  for (int i = 0; i < entries.size(); ++i) {
    auto cfg = parse_entry(entries[i], fmt::format("networks[{}]", i));
    if (!cfg)
      return cfg.error();
    networks.push_back(std::move(*cfg));
  }
  for (size_t i = 0; i < networks.size(); ++i)
    if (auto err = check_against_others(networks, i))
      return err;
  return networks;
}

} // namespace dcos::isolation
