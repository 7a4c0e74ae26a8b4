#include "linux/network/plumbing.hpp"

#include <fcntl.h>
#include <linux/veth.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "linux/network/command.hpp"
#include "linux/network/config.hpp"
#include "linux/network/errors.hpp"
#include "linux/network/iptables.hpp"
#include "linux/network/rtnetlink.hpp"

namespace dcos::isolation::net {

namespace {

// The host end on the bridge and up; the container end made right in the
// container's namespace under its final name (eth0 may be taken on the
// host). One request: the kernel makes all of it or nothing.
caf::error add_veth(rtnetlink& host, const attachment& held,
                    const network_config& net, pid_t pid, int netns_fd) {
  auto command = fmt::format("ip link add {} master {} up type veth peer "
                             "netns {} name {}",
                             held.veth, net.bridge, pid, held.ifname);
  auto bridge = ::if_nametoindex(net.bridge.c_str());
  if (bridge == 0)
    return os_error(fmt::format("`{}` failed: cannot find bridge '{}'",
                                command, net.bridge),
                    errno);
  netlink_request add{RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
                      link_message(true)};
  add.put_string(IFLA_IFNAME, held.veth);
  add.put_u32(IFLA_MASTER, bridge);
  auto info = add.begin_nested(IFLA_LINKINFO);
  add.put_string(IFLA_INFO_KIND, "veth");
  auto data = add.begin_nested(IFLA_INFO_DATA);
  // Not up yet: the kernel refuses to bring up an end before its peer is
  // linked to it, at the end of the request (ENOTCONN).
  auto peer = add.begin_nested(VETH_INFO_PEER);
  add.put_fixed(link_message());
  add.put_string(IFLA_IFNAME, held.ifname);
  add.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  add.end_nested(peer);
  add.end_nested(data);
  add.end_nested(info);
  return host.transact(add, command);
}

// Inside the container: its end of the veth with its address and up, lo
// up, and on the first network (eth0), the default route via the gateway.
caf::error configure_inside(const attachment& held, const ipv4_subnet& subnet,
                            pid_t pid, int netns_fd) {
  auto ip = parse_ipv4(held.ip);
  if (!ip)
    return invalid(fmt::format("'{}' is not an IPv4 address", held.ip));
  auto inside = rtnetlink::open_in(netns_fd);
  if (!inside)
    return inside.error();
  auto nsenter = fmt::format("nsenter --net=/proc/{}/ns/net ip", pid);
  // Addresses name their interface by index.
  auto show = fmt::format("{} link show {}", nsenter, held.ifname);
  netlink_request get{RTM_GETLINK, 0, link_message()};
  get.put_string(IFLA_IFNAME, held.ifname);
  std::string reply;
  if (auto err = inside->transact(get, show, &reply))
    return err;
  if (reply.size() < NLMSG_LENGTH(sizeof(ifinfomsg)))
    return make_error(errc::io_error,
                      fmt::format("`{}` failed: the kernel sent no link",
                                  show));
  ifinfomsg link{};
  std::memcpy(&link, reply.data() + NLMSG_HDRLEN, sizeof(link));
  ifaddrmsg address{};
  address.ifa_family = AF_INET;
  address.ifa_prefixlen = static_cast<uint8_t>(subnet.prefix);
  address.ifa_scope = RT_SCOPE_UNIVERSE;
  address.ifa_index = static_cast<uint32_t>(link.ifi_index);
  netlink_request add_address{RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
                              address};
  add_address.put_ipv4(IFA_LOCAL, *ip);
  add_address.put_ipv4(IFA_ADDRESS, *ip);
  if (auto err = inside->transact(add_address,
                                  fmt::format("{} addr add {}/{} dev {}",
                                              nsenter, held.ip, subnet.prefix,
                                              held.ifname)))
    return err;
  for (const char* ifname : {held.ifname.c_str(), "lo"}) {
    netlink_request up{RTM_NEWLINK, 0, link_message(true)};
    up.put_string(IFLA_IFNAME, ifname);
    if (auto err = inside->transact(up, fmt::format("{} link set {} up",
                                                    nsenter, ifname)))
      return err;
  }
  // The first network is the container's way out.
  if (held.ifname != "eth0")
    return {};
  rtmsg route{};
  route.rtm_family = AF_INET;
  route.rtm_table = RT_TABLE_MAIN;
  route.rtm_protocol = RTPROT_BOOT; // what `ip route add` sets
  route.rtm_scope = RT_SCOPE_UNIVERSE;
  route.rtm_type = RTN_UNICAST;
  netlink_request add_route{RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route};
  add_route.put_ipv4(RTA_GATEWAY, subnet.gateway());
  return inside->transact(add_route,
                          fmt::format("{} route add default via {}", nsenter,
                                      format_ipv4(subnet.gateway())));
}

} // namespace

caf::error prepare_bridge(const network_config& net) {
  auto subnet = parse_subnet(net.subnet);
  if (!subnet)
    return subnet.error();
  // Checked here too, for configs that did not come through
  // parse_network_configs: the name goes into an iptables-restore file.
  if (!valid_ifname(net.bridge))
    return invalid(fmt::format("'{}' is not an interface name", net.bridge));
  if (!is_link(net.bridge)) {
    if (auto err = run({"ip", "link", "add", net.bridge, "type", "bridge"}))
      return err;
  } else if (!is_bridge(net.bridge)) {
    return make_error(errc::conflict,
                      fmt::format("'{}' exists and is not a bridge",
                                  net.bridge));
  }
  auto gateway = fmt::format("{}/{}", format_ipv4(subnet->gateway()),
                             subnet->prefix);
  auto shown = output_of({"ip", "-4", "-o", "addr", "show", "dev",
                          net.bridge});
  if (!shown)
    return shown.error();
  if (shown->find(" inet " + gateway + " ") == std::string::npos)
    if (auto err = run({"ip", "addr", "add", gateway, "dev", net.bridge}))
      return err;
  return run({"ip", "link", "set", net.bridge, "up"});
}

// Written only when off: a write resets the interfaces' other IPv4
// settings to their defaults.
caf::error enable_forwarding() {
  const char* path = "/proc/sys/net/ipv4/ip_forward";
  std::ifstream in{path};
  std::string current;
  in >> current;
  if (current == "1")
    return {};
  std::ofstream out{path};
  out << "1\n";
  out.close();
  if (!out)
    return os_error("cannot enable IPv4 forwarding (write 1 to "
                    "/proc/sys/net/ipv4/ip_forward)",
                    errno);
  return {};
}

caf::error check_own_netns(pid_t pid) {
  auto path = fmt::format("/proc/{}/ns/net", pid);
  struct stat theirs {};
  struct stat ours {};
  if (::stat(path.c_str(), &theirs) != 0)
    return invalid(fmt::format("process {} has no network namespace ({}: {})",
                               pid, path, std::strerror(errno)));
  if (::stat("/proc/self/ns/net", &ours) == 0 && theirs.st_ino == ours.st_ino
      && theirs.st_dev == ours.st_dev)
    return invalid(fmt::format("process {} is in the agent's network "
                               "namespace, not one of its own",
                               pid));
  return {};
}

caf::error plumb(const std::string& id, const attachment& held,
                 const network_config& net, const ipv4_subnet& subnet,
                 pid_t pid) {
  // One reference to the namespace for both ends: the pid could be reused
  // between two lookups.
  auto netns_path = fmt::format("/proc/{}/ns/net", pid);
  file_descriptor netns{::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (netns.get() < 0)
    return os_error(fmt::format("cannot open '{}'", netns_path), errno);
  auto host = rtnetlink::open();
  if (!host)
    return host.error();
  if (auto err = add_veth(*host, held, net, pid, netns.get()))
    return err;
  if (auto err = configure_inside(held, subnet, pid, netns.get()))
    return err;
  for (const auto& p : held.ports)
    if (auto err = add_port_mapping(id, held.ip, p))
      return err;
  return {};
}

void unplumb(const std::string& id, const attachment& held) {
  unmap_ports(id, held);
  remove_veth(id, held);
}

void unmap_ports(const std::string& id, const attachment& held) {
  for (const auto& p : held.ports)
    if (auto err = remove_port_mapping(id, held.ip, p))
      logger()->warn("cannot remove a port mapping: {} container_id={}",
                     describe_reason(err), id);
}

bool veth_exists(const attachment& held) {
  return !held.veth.empty() && ::if_nametoindex(held.veth.c_str()) != 0;
}

void remove_veth(const std::string& id, const attachment& held) {
  if (held.veth.empty())
    return;
  auto host = rtnetlink::open();
  if (!host) {
    logger()->warn("cannot remove a veth: {} container_id={}",
                   describe_reason(host.error()), id);
    return;
  }
  // Deleting one end deletes both. The host end also vanishes by itself
  // when the container's namespace dies, hence no error when it is gone.
  netlink_request del{RTM_DELLINK, 0, link_message()};
  del.put_string(IFLA_IFNAME, held.veth);
  std::string why;
  if (int code = host->request(del, &why); code != 0 && code != ENODEV)
    logger()->warn("cannot remove a veth: {} container_id={}",
                   describe_reason(rtnetlink::failed(
                     fmt::format("ip link del {}", held.veth), code, why)),
                   id);
}

} // namespace dcos::isolation::net
