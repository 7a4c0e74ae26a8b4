#include "linux/network/iptables.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "dirs.hpp"
#include "linux/network/command.hpp"
#include "linux/network/errors.hpp"

namespace dcos::isolation::net {

namespace {

// Chains of our own, so that prepare() can rebuild them without touching
// the operator's rules.
constexpr const char* isolation_chain = "DCOS-ISOLATION";
constexpr const char* masquerade_chain = "DCOS-MASQ";
constexpr const char* port_mapping_chain = "DCOS-DNAT";

std::vector<std::string> iptables(const std::string& table,
                                  const std::string& op,
                                  const std::string& chain,
                                  const std::vector<std::string>& spec = {}) {
  std::vector<std::string> argv{"iptables", "-w", "-t", table, op, chain};
  argv.insert(argv.end(), spec.begin(), spec.end());
  return argv;
}

// Jumps to our chains go first, ahead of rules that would accept or reject
// the traffic before ours see it.
caf::error ensure_jump(const std::string& table, const std::string& chain,
                       const std::vector<std::string>& spec) {
  if (succeeds(iptables(table, "-C", chain, spec)))
    return {};
  std::vector<std::string> at_top{"1"};
  at_top.insert(at_top.end(), spec.begin(), spec.end());
  return run(iptables(table, "-I", chain, at_top));
}

bool allows(const network_config& net, const std::string& other) {
  return std::find(net.allow.begin(), net.allow.end(), other)
         != net.allow.end();
}

// Our filter and nat chains in iptables-save format. Declaring a chain
// creates it or, with --noflush, empties it.
std::string rebuilt_chains(const std::vector<network_config>& networks) {
  std::string rules = fmt::format("*filter\n:{} - [0:0]\n", isolation_chain);
  // Replies, so that an allowed connection works in both directions.
  rules += fmt::format("-A {} -m conntrack --ctstate RELATED,ESTABLISHED "
                       "-j ACCEPT\n",
                       isolation_chain);
  for (const auto& from : networks)
    for (const auto& to : networks)
      if (&from != &to && !allows(to, from.name))
        rules += fmt::format("-A {} -s {} -d {} -j DROP\n", isolation_chain,
                             from.subnet, to.subnet);
  rules += fmt::format("COMMIT\n*nat\n:{} - [0:0]\n", masquerade_chain);
  // Between our networks the source stays: containers see their peers'
  // real addresses.
  for (const auto& net : networks)
    rules += fmt::format("-A {} -d {} -j RETURN\n", masquerade_chain,
                         net.subnet);
  for (const auto& net : networks)
    rules += fmt::format("-A {} -s {} ! -o {} -j MASQUERADE\n",
                         masquerade_chain, net.subnet, net.bridge);
  return rules + "COMMIT\n";
}

// iptables-restore swaps each table's rules in one transaction: rebuilding
// with -F and -A would open a window without isolation, and connections
// made in it would outlive it as ESTABLISHED.
caf::error restore(const std::string& state_dir, const std::string& rules) {
  auto path = state_dir + "/rules-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0)
    return os_error(fmt::format("cannot create '{}'", path), errno);
  auto written = ::write(fd, rules.data(), rules.size());
  int write_errno = errno;
  ::close(fd);
  auto err = written == static_cast<ssize_t>(rules.size())
               ? run({"iptables-restore", "-w", "--noflush", path})
               : os_error(fmt::format("cannot write '{}'", path),
                          write_errno);
  ::unlink(path.c_str());
  return err;
}

// The comment names the container for operators reading `iptables -S`.
std::vector<std::string> dnat_spec(const std::string& id,
                                   const std::string& ip,
                                   const port_mapping& p) {
  return {"-p",
          p.protocol,
          "--dport",
          std::to_string(p.host_port),
          "-m",
          "comment",
          "--comment",
          "dcos:" + id,
          "-j",
          "DNAT",
          "--to-destination",
          fmt::format("{}:{}", ip, p.container_port)};
}

} // namespace

caf::error install_rules(const std::vector<network_config>& networks,
                         const std::string& state_dir) {
  if (auto err = make_directories(state_dir))
    return err;
  if (auto err = restore(state_dir, rebuilt_chains(networks)))
    return err;
  // Not rebuilt: it holds the port mappings of running containers.
  if (!succeeds(iptables("nat", "-S", port_mapping_chain)))
    if (auto err = run(iptables("nat", "-N", port_mapping_chain)))
      return err;
  if (auto err = ensure_jump("filter", "FORWARD", {"-j", isolation_chain}))
    return err;
  if (auto err = ensure_jump("nat", "POSTROUTING", {"-j", masquerade_chain}))
    return err;
  if (auto err = ensure_jump("nat", "PREROUTING",
                             {"-m", "addrtype", "--dst-type", "LOCAL", "-j",
                              port_mapping_chain}))
    return err;
  // Loopback is left alone: DNAT would send packets from 127.0.0.1 out of
  // the bridge, where they are dropped as martians.
  return ensure_jump("nat", "OUTPUT",
                     {"!", "-d", "127.0.0.0/8", "-m", "addrtype",
                      "--dst-type", "LOCAL", "-j", port_mapping_chain});
}

caf::error add_port_mapping(const std::string& container_id,
                            const std::string& ip, const port_mapping& p) {
  return run(iptables("nat", "-A", port_mapping_chain,
                      dnat_spec(container_id, ip, p)));
}

caf::error remove_port_mapping(const std::string& container_id,
                               const std::string& ip, const port_mapping& p) {
  auto spec = dnat_spec(container_id, ip, p);
  if (!succeeds(iptables("nat", "-C", port_mapping_chain, spec)))
    return {};
  return run(iptables("nat", "-D", port_mapping_chain, spec));
}

} // namespace dcos::isolation::net
