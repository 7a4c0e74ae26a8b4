// IP-per-container networking; see network.hpp. The manager puts the parts
// in linux/network/ together: the IPAM's records (ipam.hpp), the kernel's
// side (plumbing.hpp) and the rules (iptables.hpp); parse_network_configs
// is in network/config.cpp.
#include "linux/network.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "linux/network/errors.hpp"
#include "linux/network/iptables.hpp"
#include "linux/network/ipam.hpp"
#include "linux/network/plumbing.hpp"

namespace dcos::isolation {

using namespace net;

namespace {

caf::expected<std::vector<port_mapping>>
port_mappings_of(const v1::NetworkInfo& request) {
  std::vector<port_mapping> ports;
  for (int i = 0; i < request.port_mappings_size(); ++i) {
    const auto& m = request.port_mappings(i);
    auto where = fmt::format("port_mappings[{}]", i);
    port_mapping p{m.has_protocol() ? m.protocol() : "tcp", m.host_port(),
                   m.container_port()};
    if (p.protocol != "tcp" && p.protocol != "udp")
      return field_error(where + ".protocol",
                         fmt::format("'{}' is neither tcp nor udp",
                                     p.protocol));
    if (p.host_port == 0 || p.host_port > 65535)
      return field_error(where + ".host_port",
                         fmt::format("{} is not a port number", p.host_port));
    if (p.container_port == 0 || p.container_port > 65535)
      return field_error(where + ".container_port",
                         fmt::format("{} is not a port number",
                                     p.container_port));
    for (const auto& q : ports)
      if (q.protocol == p.protocol && q.host_port == p.host_port)
        return field_error(where + ".host_port",
                           fmt::format("{}/{} is mapped twice", p.protocol,
                                       p.host_port));
    ports.push_back(std::move(p));
  }
  return ports;
}

bool any_veth_left(const std::vector<attachment>& held) {
  return std::any_of(held.begin(), held.end(),
                     [](const attachment& a) { return veth_exists(a); });
}

} // namespace

network_manager::network_manager(std::vector<network_config> networks,
                                 std::string state_dir,
                                 std::chrono::seconds ended_patience)
  : networks_(std::move(networks)),
    state_dir_(std::move(state_dir)),
    ended_patience_(ended_patience) {
}

caf::error network_manager::prepare() {
  for (const auto& net : networks_)
    if (auto err = prepare_bridge(net))
      return with_context(err, fmt::format("network '{}'", net.name));
  if (auto err = enable_forwarding())
    return err;
  return install_rules(networks_, state_dir_);
}

caf::expected<v1::NetworkInfo>
network_manager::attach(const std::string& container_id,
                        const v1::NetworkInfo& request, pid_t pid) {
  if (auto err = check_container_id(container_id))
    return err;
  if (request.name().empty())
    return invalid(fmt::format("container '{}': the request names no network",
                               container_id));
  auto net = std::find_if(networks_.begin(), networks_.end(),
                          [&](const network_config& n) {
                            return n.name == request.name();
                          });
  if (net == networks_.end())
    return make_error(errc::not_found,
                      fmt::format("network '{}' is not configured on this "
                                  "agent",
                                  request.name()));
  auto subnet = parse_subnet(net->subnet);
  if (!subnet)
    return with_context(subnet.error(), fmt::format("network '{}'",
                                                    net->name));
  auto ports = port_mappings_of(request);
  if (!ports)
    return ports.error();
  if (auto err = check_own_netns(pid))
    return err;
  release_ended();
  auto held = reserve(state_dir_, container_id, *net, *subnet, *ports);
  if (!held && code_of(held.error()) == errc::unavailable) {
    // Full, perhaps of ended containers' addresses whose veths the kernel
    // has not deleted yet: delete them now (blocking) rather than fail.
    release_ended_after(std::chrono::seconds{0});
    held = reserve(state_dir_, container_id, *net, *subnet, *ports);
  }
  if (!held)
    return held.error();
  if (auto err = plumb(container_id, *held, *net, *subnet, pid)) {
    unplumb(container_id, *held);
    if (auto forgot = forget(state_dir_, container_id, *held))
      logger()->error("cannot release an address: {} container_id={}",
                      describe_reason(forgot), container_id);
    return with_context(err, fmt::format("container '{}' on network '{}'",
                                         container_id, net->name));
  }
  auto result = request;
  result.clear_ip_addresses();
  auto* address = result.add_ip_addresses();
  address->set_protocol(v1::NetworkInfo::IPv4);
  address->set_ip_address(held->ip);
  return result;
}

std::optional<std::vector<attachment>>
network_manager::held_for_detach(const std::string& container_id) const {
  // Nothing on disk can belong to an id that could not be attached.
  if (check_container_id(container_id))
    return std::nullopt;
  auto held = held_by(state_dir_, container_id);
  if (!held) {
    logger()->error("cannot detach: {} container_id={}",
                    describe_reason(held.error()), container_id);
    return std::nullopt;
  }
  return std::move(*held);
}

void network_manager::detach(const std::string& container_id) {
  auto held = held_for_detach(container_id);
  if (!held)
    return;
  // Addresses are released last: until the veth is gone, the address is
  // still in use.
  for (const auto& a : *held)
    unplumb(container_id, a);
  if (auto err = release(state_dir_, container_id))
    logger()->error("cannot release addresses: {} container_id={}",
                    describe_reason(err), container_id);
}

void network_manager::detach_ended(const std::string& container_id) {
  auto held = held_for_detach(container_id);
  if (!held)
    return;
  for (const auto& a : *held)
    unmap_ports(container_id, a);
  if (any_veth_left(*held)) {
    if (auto err = mark_ended(state_dir_, container_id))
      logger()->error("cannot mark a container ended: {} container_id={}",
                      describe_reason(err), container_id);
  } else if (auto err = release(state_dir_, container_id)) {
    logger()->error("cannot release addresses: {} container_id={}",
                    describe_reason(err), container_id);
  }
}

size_t network_manager::release_ended() {
  return release_ended_after(ended_patience_);
}

size_t network_manager::release_ended_after(std::chrono::seconds patience) {
  auto marked = ended(state_dir_);
  if (!marked) {
    logger()->error("cannot list ended containers: {}",
                    describe_reason(marked.error()));
    return 0; // nothing to wait for that a retry would find
  }
  size_t waiting = 0;
  for (const auto& [id, age] : *marked) {
    auto held = held_by(state_dir_, id);
    if (!held)
      continue;
    bool veth_left = any_veth_left(*held);
    if (veth_left && age < patience) {
      ++waiting;
      continue;
    }
    if (veth_left) {
      logger()->info("deleting the veth of a container that ended {} s ago "
                     "container_id={}",
                     age.count(), id);
      for (const auto& a : *held)
        remove_veth(id, a);
    }
    if (auto err = release(state_dir_, id))
      logger()->error("cannot release addresses: {} container_id={}",
                      describe_reason(err), id);
  }
  return waiting;
}

void network_manager::cleanup_except(const std::vector<std::string>& live) {
  auto ids = holders(state_dir_);
  if (!ids) {
    logger()->error("cannot clean up: {}", describe_reason(ids.error()));
    return;
  }
  for (const auto& id : *ids)
    if (std::find(live.begin(), live.end(), id) == live.end())
      detach(id);
}

} // namespace dcos::isolation
