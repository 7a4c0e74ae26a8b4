// IP-per-container networking with rtnetlink, iproute2 and iptables; see
// network.hpp.
//
// State under state_dir, changed only under an flock on `lock`:
//   networks/<network>/<ip>     the address is in use; holds the container id
//   containers/<id>/<network>   what attach() sets up, for detach(): lines
//                               "ip <ip>", "veth <host end>" and
//                               "port <tcp|udp> <host port> <container port>"
// (addresses live under networks/ so that no network name can collide with
// `containers` or `lock`). Both files are written before any plumbing, so
// that a crash in the middle of attach() leaves enough behind to undo it.
#include "linux/network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "dcos/subprocess.hpp"
#include "dirs.hpp"
#include "file_lock.hpp"
#include "files.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation {

namespace {

// Chains of our own, so that prepare() can rebuild them without touching
// the operator's rules.
constexpr const char* isolation_chain = "DCOS-ISOLATION";
constexpr const char* masquerade_chain = "DCOS-MASQ";
constexpr const char* port_mapping_chain = "DCOS-DNAT";

// Linux interface names are at most IFNAMSIZ - 1 bytes.
constexpr size_t max_ifname = 15;

// iptables may wait for the xtables lock; nothing else should take long.
constexpr auto command_timeout = std::chrono::seconds(60);

std::shared_ptr<spdlog::logger> logger() {
  static auto log = logging::get("network");
  return log;
}

caf::error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

caf::error os_error(const std::string& what, int code) {
  return make_error(errc::io_error,
                    fmt::format("{}: {}", what, std::strerror(code)));
}

// `err` with `context` in front of its sentence, keeping its code.
caf::error with_context(const caf::error& err, std::string_view context) {
  auto code = code_of(err);
  return make_error(code == errc{} ? errc::io_error : code,
                    fmt::format("{}: {}", context, describe_reason(err)));
}

// -- IPv4 ---------------------------------------------------------------------

struct ipv4_subnet {
  uint32_t base = 0; // host byte order
  int prefix = 0;

  uint32_t mask() const { return ~uint32_t{0} << (32 - prefix); }
  uint32_t broadcast() const { return base | ~mask(); }
  uint32_t gateway() const { return base + 1; }
  bool contains(uint32_t addr) const { return (addr & mask()) == base; }
};

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

// -- configuration ------------------------------------------------------------

caf::error field_error(const std::string& field, const std::string& reason) {
  return invalid(fmt::format("{}: {}", field, reason));
}

bool valid_network_name(const std::string& name) {
  return !name.empty() && name.size() <= 63
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '-';
            });
}

bool valid_ifname(const std::string& name) {
  return !name.empty() && name.size() <= max_ifname && name != "."
         && name != ".."
         && std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-'
                     || c == '_' || c == '.';
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

// -- running ip and iptables ----------------------------------------------------

std::string joined(const std::vector<std::string>& argv) {
  return fmt::format("{}", fmt::join(argv, " "));
}

struct command_output {
  int status = -1;
  std::string text; // stdout and stderr, interleaved
};

// Runs `argv` to its end. Its stderr goes into the same pipe as its stdout
// (the child opens its own fd 1), because the tools explain failures there.
caf::expected<command_output> execute(const std::vector<std::string>& argv) {
  subprocess_options opts;
  opts.argv = argv;
  opts.capture_stdout = true;
  opts.stderr_path = "/proc/self/fd/1";
  auto child = subprocess::spawn(opts);
  if (!child)
    return with_context(child.error(), fmt::format("`{}`", joined(argv)));
  auto text = child->read_all(command_timeout);
  if (!text) {
    child->terminate(std::chrono::seconds(1));
    return make_error(errc::unavailable,
                      fmt::format("`{}` did not finish within {}s",
                                  joined(argv), command_timeout.count()));
  }
  return command_output{child->wait(), std::move(*text)};
}

// The tool's output on one line, for an error sentence.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Runs `argv` and returns its output; the error names the command and
// quotes what the tool said.
caf::expected<std::string> output_of(const std::vector<std::string>& argv) {
  auto out = execute(argv);
  if (!out)
    return out.error();
  if (out->status != 0)
    return make_error(errc::io_error,
                      fmt::format("`{}` failed (exit status {}): {}",
                                  joined(argv), out->status,
                                  one_line(out->text)));
  return std::move(out->text);
}

caf::error run(const std::vector<std::string>& argv) {
  auto out = output_of(argv);
  return out ? caf::error{} : out.error();
}

// For the questions asked with a status: iptables -C and -S.
bool succeeds(const std::vector<std::string>& argv) {
  auto out = execute(argv);
  return out && out->status == 0;
}

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

// -- host setup -----------------------------------------------------------------

bool is_link(const std::string& name) {
  std::error_code ec;
  return fs::exists("/sys/class/net/" + name, ec);
}

bool is_bridge(const std::string& name) {
  std::error_code ec;
  return fs::exists("/sys/class/net/" + name + "/bridge", ec);
}

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

// -- state on disk ------------------------------------------------------------

// An exclusive lock on <state_dir>/lock while the result lives: the agent and
// its executors, each a process, take turns on the IPAM state.
caf::expected<file_lock> lock_state(const std::string& state_dir) {
  if (auto err = make_directories(state_dir))
    return err;
  return file_lock::acquire(state_dir + "/lock");
}

struct port_mapping {
  std::string protocol; // "tcp" or "udp"
  uint32_t host_port = 0;
  uint32_t container_port = 0;
};

// What attach() sets up for one container on one network.
struct attachment {
  std::string network;
  std::string ip;
  std::string veth;   // the host end
  std::string ifname; // the container end (not recorded: undoing needs
                      // only the host end)
  std::vector<port_mapping> ports;
};

std::string containers_dir(const std::string& state_dir) {
  return state_dir + "/containers";
}

std::string record_dir(const std::string& state_dir, const std::string& id) {
  return containers_dir(state_dir) + "/" + id;
}

std::string networks_dir(const std::string& state_dir) {
  return state_dir + "/networks";
}

std::string addresses_dir(const std::string& state_dir,
                          const std::string& network) {
  return networks_dir(state_dir) + "/" + network;
}

// The names in `dir`; none if it does not exist.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator i{dir, ec}, end; !ec && i != end;
       i.increment(ec))
    names.push_back(i->path().filename().string());
  return names;
}

// Container ids name files and go into iptables comments.
caf::error check_container_id(const std::string& id) {
  auto usable = !id.empty() && id.size() <= 200 && id != "." && id != ".."
                && std::all_of(id.begin(), id.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c))
                            || c == '-' || c == '_' || c == '.';
                   });
  if (!usable)
    return invalid(fmt::format("container id '{}' is not 1 to 200 of A-Z, "
                               "a-z, 0-9, '-', '_' and '.'",
                               id));
  return {};
}

std::string record_text(const attachment& held) {
  auto text = fmt::format("ip {}\nveth {}\n", held.ip, held.veth);
  for (const auto& p : held.ports)
    text += fmt::format("port {} {} {}\n", p.protocol, p.host_port,
                        p.container_port);
  return text;
}

// Takes what it can read: even a damaged record helps undo something.
attachment parse_record(const std::string& network, const std::string& text) {
  attachment held;
  held.network = network;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words{line};
    std::string key;
    words >> key;
    if (key == "ip") {
      words >> held.ip;
    } else if (key == "veth") {
      words >> held.veth;
    } else if (key == "port") {
      port_mapping p;
      if (words >> p.protocol >> p.host_port >> p.container_port)
        held.ports.push_back(p);
    }
  }
  return held;
}

std::vector<attachment> records_of(const std::string& state_dir,
                                   const std::string& id) {
  std::vector<attachment> held;
  auto dir = record_dir(state_dir, id);
  for (const auto& network : entries(dir))
    held.push_back(parse_record(network, read_file_or_empty(dir + "/" + network)));
  return held;
}

caf::error write_record(const std::string& state_dir, const std::string& id,
                        const attachment& held) {
  auto dir = record_dir(state_dir, id);
  if (auto err = make_directories(dir))
    return err;
  return write_file(dir + "/" + held.network, record_text(held));
}

uint32_t fnv1a(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

// "veth" and 8 hex digits of a hash of container and network: short enough
// for IFNAMSIZ, and the same on every agent. A salt moves it off a name that
// another container or an unrelated link already has.
caf::expected<std::string> pick_veth_name(const std::string& id,
                                          const std::string& network,
                                          const std::set<std::string>& taken) {
  for (int salt = 0; salt < 16; ++salt) {
    auto name = fmt::format("veth{:08x}",
                            fnv1a(fmt::format("{}/{}/{}", id, network, salt)));
    if (taken.count(name) == 0 && !is_link(name))
      return name;
  }
  return make_error(errc::conflict,
                    fmt::format("no free veth name for container '{}'", id));
}

// The lowest free address after the gateway, below the broadcast address.
caf::expected<std::string> allocate_address(const std::string& state_dir,
                                            const std::string& id,
                                            const network_config& net,
                                            const ipv4_subnet& subnet) {
  auto dir = addresses_dir(state_dir, net.name);
  if (auto err = make_directories(dir))
    return err;
  std::set<uint32_t> taken;
  for (const auto& name : entries(dir))
    if (auto addr = parse_ipv4(name))
      taken.insert(*addr);
  auto addr = subnet.gateway() + 1;
  for (auto used : taken) {
    if (used == addr)
      ++addr;
    else if (used > addr)
      break;
  }
  if (addr >= subnet.broadcast())
    return make_error(errc::unavailable,
                      fmt::format("network '{}' ({}) has no free address",
                                  net.name, net.subnet));
  auto ip = format_ipv4(addr);
  auto path = dir + "/" + ip;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0)
    return os_error(fmt::format("cannot create '{}'", path), errno);
  auto written = ::write(fd, id.data(), id.size());
  int write_errno = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(id.size())) {
    ::unlink(path.c_str());
    return os_error(fmt::format("cannot write '{}'", path), write_errno);
  }
  return ip;
}

// Under the lock: the address, the host veth's name and the record, checked
// against what every other container holds.
caf::expected<attachment> reserve(const std::string& state_dir,
                                  const std::string& id,
                                  const network_config& net,
                                  const ipv4_subnet& subnet,
                                  std::vector<port_mapping> ports) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  std::set<std::string> veths;
  size_t own = 0;
  for (const auto& owner : entries(containers_dir(state_dir))) {
    for (const auto& held : records_of(state_dir, owner)) {
      if (owner == id && held.network == net.name)
        return make_error(errc::conflict,
                          fmt::format("container '{}' is already attached to "
                                      "network '{}'",
                                      id, net.name));
      if (owner == id)
        ++own;
      veths.insert(held.veth);
      for (const auto& p : ports)
        for (const auto& q : held.ports)
          if (p.protocol == q.protocol && p.host_port == q.host_port)
            return make_error(errc::conflict,
                              fmt::format("host port {}/{} is already mapped "
                                          "to container '{}'",
                                          p.protocol, p.host_port, owner));
    }
  }
  attachment held;
  held.network = net.name;
  held.ifname = fmt::format("eth{}", own);
  held.ports = std::move(ports);
  auto veth = pick_veth_name(id, net.name, veths);
  if (!veth)
    return veth.error();
  held.veth = std::move(*veth);
  auto ip = allocate_address(state_dir, id, net, subnet);
  if (!ip)
    return ip.error();
  held.ip = std::move(*ip);
  if (auto err = write_record(state_dir, id, held)) {
    ::unlink((addresses_dir(state_dir, net.name) + "/" + held.ip).c_str());
    return err;
  }
  return held;
}

// Removes the record of `held` and its address, if the address still names
// `id`.
void forget(const std::string& state_dir, const std::string& id,
            const attachment& held) {
  auto lock = lock_state(state_dir);
  if (!lock) {
    logger()->error("cannot release an address: {} container_id={}",
                    describe_reason(lock.error()), id);
    return;
  }
  auto address = addresses_dir(state_dir, held.network) + "/" + held.ip;
  if (!held.ip.empty() && read_file_or_empty(address) == id)
    ::unlink(address.c_str());
  std::error_code ec;
  auto dir = record_dir(state_dir, id);
  fs::remove(dir + "/" + held.network, ec);
  fs::remove(dir, ec); // only once empty: other networks may remain
}

// -- rtnetlink ----------------------------------------------------------------

// Links, addresses and routes are made with rtnetlink requests rather than
// one `ip` process each: a process costs milliseconds, a request
// microseconds. Each request is named in errors by the `ip` command that
// does the same, for operators to retry or inspect by hand.

class file_descriptor {
public:
  explicit file_descriptor(int fd = -1) noexcept : fd_(fd) {}
  file_descriptor(file_descriptor&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  file_descriptor& operator=(file_descriptor&&) = delete;

  ~file_descriptor() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int get() const noexcept { return fd_; }

private:
  int fd_;
};

// One request: a netlink header, the request's fixed part, then attributes
// (nested ones hold more attributes, or a fixed part and attributes).
class netlink_request {
public:
  template <class Fixed>
  netlink_request(uint16_t type, uint16_t flags, const Fixed& fixed) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    append(&header, sizeof(header));
    put_fixed(fixed);
  }

  template <class Fixed>
  void put_fixed(const Fixed& fixed) {
    append(&fixed, sizeof(fixed));
  }

  void put(uint16_t type, const void* data, size_t size) {
    rtattr attr{};
    attr.rta_type = type;
    attr.rta_len = static_cast<uint16_t>(RTA_LENGTH(size));
    append(&attr, sizeof(attr));
    append(data, size);
  }

  void put_u32(uint16_t type, uint32_t value) {
    put(type, &value, sizeof(value));
  }

  void put_string(uint16_t type, const std::string& text) {
    put(type, text.c_str(), text.size() + 1);
  }

  // Network byte order, as the kernel wants addresses.
  void put_ipv4(uint16_t type, uint32_t addr) { put_u32(type, htonl(addr)); }

  // What is put until end_nested(the result) goes inside an attribute of
  // `type`.
  size_t begin_nested(uint16_t type) {
    auto at = bytes_.size();
    put(type, nullptr, 0);
    return at;
  }

  void end_nested(size_t at) {
    auto size = static_cast<uint16_t>(bytes_.size() - at);
    std::memcpy(bytes_.data() + at + offsetof(rtattr, rta_len), &size,
                sizeof(size));
  }

  // The request as sent, with its length and sequence number filled in.
  const std::string& finish(uint32_t seq) {
    auto* header = reinterpret_cast<nlmsghdr*>(bytes_.data());
    header->nlmsg_len = static_cast<uint32_t>(bytes_.size());
    header->nlmsg_seq = seq;
    return bytes_;
  }

private:
  // Every piece starts at a 4-byte boundary (NLMSG_ALIGNTO and
  // RTA_ALIGNTO alike).
  void append(const void* data, size_t size) {
    if (size > 0)
      bytes_.append(static_cast<const char*>(data), size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()), '\0');
  }

  std::string bytes_;
};

// The kernel's own explanation of a failure (extended ack), if it gave one.
std::string extack_message(const nlmsghdr* header) {
  if ((header->nlmsg_flags & NLM_F_ACK_TLVS) == 0)
    return {};
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
  size_t payload = sizeof(nlmsgerr);
  if ((header->nlmsg_flags & NLM_F_CAPPED) == 0)
    payload += err->msg.nlmsg_len - NLMSG_HDRLEN;
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(payload);
  const auto* base = reinterpret_cast<const char*>(header);
  while (offset + sizeof(rtattr) <= header->nlmsg_len) {
    const auto* attr = reinterpret_cast<const rtattr*>(base + offset);
    if (attr->rta_len < sizeof(rtattr)
        || offset + attr->rta_len > header->nlmsg_len)
      break;
    if (attr->rta_type == NLMSGERR_ATTR_MSG) {
      std::string text{static_cast<const char*>(RTA_DATA(attr)),
                       attr->rta_len - RTA_LENGTH(0)};
      return text.substr(0, text.find('\0'));
    }
    offset += RTA_ALIGN(attr->rta_len);
  }
  return {};
}

// A NETLINK_ROUTE socket in the namespace where it was created, whatever
// namespace its user runs in.
class rtnetlink {
public:
  // In our own network namespace.
  static caf::expected<rtnetlink> open() {
    return configure(file_descriptor{::socket(
      AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)});
  }

  // In the namespace `netns_fd` refers to. Only a task inside a namespace
  // can create a socket there, and setns() would move the calling thread,
  // which runs actors. So a child task that shares our memory and file
  // table (a vfork, as posix_spawn makes) joins the namespace, creates the
  // socket in our table and exits, running nothing but system calls.
  static caf::expected<rtnetlink> open_in(int netns_fd) {
    constexpr size_t stack_size = 64 * 1024;
    std::unique_ptr<char[]> stack{new char[stack_size]};
    socket_in_netns job{netns_fd, -1, 0};
    // Signal handlers must not run in the child, on our memory.
    sigset_t all;
    sigset_t old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    // No exit signal: only a wait with __WALL reaps it, so that reapers of
    // other children (waitpid(-1)) cannot take it from us.
    pid_t pid = ::clone(&socket_in_netns::run, stack.get() + stack_size,
                        CLONE_VM | CLONE_VFORK | CLONE_FILES, &job);
    int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0)
      return os_error("cannot start a task to join a network namespace",
                      clone_errno);
    while (::waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    if (job.fd < 0)
      return os_error("cannot open a netlink socket in the container's "
                      "network namespace",
                      job.error);
    return configure(file_descriptor{job.fd});
  }

  // Sends `message` and waits for the kernel's answer: 0 or an errno value,
  // with the kernel's explanation, if any, in `why`. A get's reply goes to
  // `reply`.
  int request(netlink_request& message, std::string* why,
              std::string* reply = nullptr) {
    auto seq = ++seq_;
    const auto& bytes = message.finish(seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                 reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel))
        != static_cast<ssize_t>(bytes.size()))
      return errno;
    for (;;) {
      auto n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return ETIMEDOUT; // no answer within command_timeout
      if (n < 0)
        return errno;
      auto left = static_cast<int>(n);
      for (auto* header = reinterpret_cast<nlmsghdr*>(buffer_.data());
           NLMSG_OK(header, left); header = NLMSG_NEXT(header, left)) {
        if (header->nlmsg_seq != seq)
          continue;
        if (header->nlmsg_type != NLMSG_ERROR) {
          if (reply)
            reply->assign(reinterpret_cast<const char*>(header),
                          header->nlmsg_len);
          continue;
        }
        *why = extack_message(header);
        return -static_cast<const nlmsgerr*>(NLMSG_DATA(header))->error;
      }
    }
  }

  // request(), with an error naming `command`: the equivalent `ip` command.
  caf::error transact(netlink_request& message, const std::string& command,
                      std::string* reply = nullptr) {
    std::string why;
    if (int code = request(message, &why, reply))
      return failed(command, code, why);
    return {};
  }

  static caf::error failed(const std::string& command, int code,
                           const std::string& why) {
    return make_error(errc::io_error,
                      fmt::format("`{}` failed: {}{}", command,
                                  std::strerror(code),
                                  why.empty() ? "" : " (" + why + ")"));
  }

private:
  struct socket_in_netns {
    int netns_fd;
    int fd;
    int error;

    static int run(void* arg) {
      auto* job = static_cast<socket_in_netns*>(arg);
      if (::setns(job->netns_fd, CLONE_NEWNET) != 0) {
        job->error = errno;
        return 1;
      }
      job->fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (job->fd < 0)
        job->error = errno;
      return 0;
    }
  };

  explicit rtnetlink(file_descriptor fd)
    : fd_(std::move(fd)), buffer_(64 * 1024) {}

  // Asks for the kernel's explanations of failures (extended acks) without
  // the failed request echoed back, and bounds the wait for an answer.
  static caf::expected<rtnetlink> configure(file_descriptor fd) {
    if (fd.get() < 0)
      return os_error("cannot open a netlink socket", errno);
    int on = 1;
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
    timeval timeout{command_timeout.count(), 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof(timeout));
    return rtnetlink{std::move(fd)};
  }

  file_descriptor fd_;
  uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

// For a link named by an IFLA_IFNAME attribute; `up`: set IFF_UP, else
// change no flag.
ifinfomsg link_message(bool up = false) {
  ifinfomsg link{};
  link.ifi_family = AF_UNSPEC;
  link.ifi_flags = up ? IFF_UP : 0;
  link.ifi_change = up ? IFF_UP : 0;
  return link;
}

// -- plumbing -------------------------------------------------------------------

// A process still in the agent's namespace would have the agent's own
// interfaces renamed and rerouted.
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
    if (auto err = run(iptables("nat", "-A", port_mapping_chain,
                                dnat_spec(id, held.ip, p))))
      return err;
  return {};
}

// Undoes the plumbing of `held`, skipping what is already gone.
void unplumb(const std::string& id, const attachment& held) {
  for (const auto& p : held.ports) {
    auto spec = dnat_spec(id, held.ip, p);
    if (!succeeds(iptables("nat", "-C", port_mapping_chain, spec)))
      continue;
    if (auto err = run(iptables("nat", "-D", port_mapping_chain, spec)))
      logger()->warn("cannot remove a port mapping: {} container_id={}",
                     describe_reason(err), id);
  }
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

network_manager::network_manager(std::vector<network_config> networks,
                                 std::string state_dir)
  : networks_(std::move(networks)), state_dir_(std::move(state_dir)) {
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
  auto held = reserve(state_dir_, container_id, *net, *subnet,
                      std::move(*ports));
  if (!held)
    return held.error();
  if (auto err = plumb(container_id, *held, *net, *subnet, pid)) {
    unplumb(container_id, *held);
    forget(state_dir_, container_id, *held);
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

void network_manager::detach(const std::string& container_id) {
  // Nothing on disk can belong to an id that could not be attached.
  if (check_container_id(container_id))
    return;
  std::vector<attachment> held;
  {
    auto lock = lock_state(state_dir_);
    if (!lock) {
      logger()->error("cannot detach: {} container_id={}",
                      describe_reason(lock.error()), container_id);
      return;
    }
    held = records_of(state_dir_, container_id);
  }
  // Addresses are released last: until the veth is gone, the address is
  // still in use.
  for (const auto& a : held)
    unplumb(container_id, a);
  auto lock = lock_state(state_dir_);
  if (!lock) {
    logger()->error("cannot release addresses: {} container_id={}",
                    describe_reason(lock.error()), container_id);
    return;
  }
  // All its address files, recorded or not: a crash between taking an
  // address and writing the record leaves one without a record.
  for (const auto& network : entries(networks_dir(state_dir_))) {
    auto dir = addresses_dir(state_dir_, network);
    for (const auto& ip : entries(dir))
      if (read_file_or_empty(dir + "/" + ip) == container_id)
        ::unlink((dir + "/" + ip).c_str());
  }
  std::error_code ec;
  fs::remove_all(record_dir(state_dir_, container_id), ec);
}

void network_manager::cleanup_except(const std::vector<std::string>& live) {
  std::set<std::string> holders;
  {
    auto lock = lock_state(state_dir_);
    if (!lock) {
      logger()->error("cannot clean up: {}", describe_reason(lock.error()));
      return;
    }
    for (const auto& id : entries(containers_dir(state_dir_)))
      holders.insert(id);
    for (const auto& network : entries(networks_dir(state_dir_))) {
      auto dir = addresses_dir(state_dir_, network);
      for (const auto& ip : entries(dir)) {
        auto owner = read_file_or_empty(dir + "/" + ip);
        // Writers fill an address file under the lock, so an empty one was
        // left by a crash between its creation and its write.
        if (owner.empty())
          ::unlink((dir + "/" + ip).c_str());
        else
          holders.insert(owner);
      }
    }
  }
  for (const auto& id : holders)
    if (std::find(live.begin(), live.end(), id) == live.end())
      detach(id);
}

} // namespace dcos::isolation
