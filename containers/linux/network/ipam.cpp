#include "linux/network/ipam.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dirs.hpp"
#include "file_lock.hpp"
#include "files.hpp"
#include "linux/network/errors.hpp"
#include "linux/network/rtnetlink.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation::net {

namespace {

// An exclusive lock on <state_dir>/lock while the result lives.
caf::expected<file_lock> lock_state(const std::string& state_dir) {
  if (auto err = make_directories(state_dir))
    return err;
  return file_lock::acquire(state_dir + "/lock");
}

std::string containers_dir(const std::string& state_dir) {
  return state_dir + "/containers";
}

std::string record_dir(const std::string& state_dir, const std::string& id) {
  return containers_dir(state_dir) + "/" + id;
}

std::string ended_dir(const std::string& state_dir) {
  return state_dir + "/ended";
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
    held.push_back(
      parse_record(network, read_file_or_empty(dir + "/" + network)));
  return held;
}

caf::error write_record(const std::string& state_dir, const std::string& id,
                        const attachment& held) {
  auto dir = record_dir(state_dir, id);
  if (auto err = make_directories(dir))
    return err;
  // Atomic: mark_ended() rewrites a record that describes a live veth, and
  // a writer killed half-way must not leave a record without its name.
  return replace_file(dir + "/" + held.network, record_text(held));
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

} // namespace

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

caf::expected<attachment> reserve(const std::string& state_dir,
                                  const std::string& id,
                                  const network_config& net,
                                  const ipv4_subnet& subnet,
                                  std::vector<port_mapping> ports) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  // Its earlier self's addresses are still being released: a new
  // attachment under the same id would be released with them.
  if (fs::exists(ended_dir(state_dir) + "/" + id))
    return make_error(errc::conflict,
                      fmt::format("container '{}' ended and its addresses "
                                  "are still being released",
                                  id));
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

caf::error forget(const std::string& state_dir, const std::string& id,
                  const attachment& held) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  auto address = addresses_dir(state_dir, held.network) + "/" + held.ip;
  if (!held.ip.empty() && read_file_or_empty(address) == id)
    ::unlink(address.c_str());
  std::error_code ec;
  auto dir = record_dir(state_dir, id);
  fs::remove(dir + "/" + held.network, ec);
  fs::remove(dir, ec); // only once empty: other networks may remain
  return {};
}


caf::expected<std::vector<attachment>> held_by(const std::string& state_dir,
                                               const std::string& id) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  return records_of(state_dir, id);
}

caf::error release(const std::string& state_dir, const std::string& id) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  for (const auto& network : entries(networks_dir(state_dir))) {
    auto dir = addresses_dir(state_dir, network);
    for (const auto& ip : entries(dir))
      if (read_file_or_empty(dir + "/" + ip) == id)
        ::unlink((dir + "/" + ip).c_str());
  }
  std::error_code ec;
  fs::remove_all(record_dir(state_dir, id), ec);
  fs::remove(ended_dir(state_dir) + "/" + id, ec);
  return {};
}

caf::error mark_ended(const std::string& state_dir, const std::string& id) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  for (auto held : records_of(state_dir, id)) {
    if (held.ports.empty())
      continue;
    held.ports.clear();
    if (auto err = write_record(state_dir, id, held))
      return err;
  }
  auto dir = ended_dir(state_dir);
  if (auto err = make_directories(dir))
    return err;
  auto path = dir + "/" + id;
  if (fs::exists(path)) // marked before: the first mark's time counts
    return {};
  return write_file(path, "");
}

caf::expected<std::vector<std::pair<std::string, std::chrono::seconds>>>
ended(const std::string& state_dir) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  std::vector<std::pair<std::string, std::chrono::seconds>> result;
  auto now = fs::file_time_type::clock::now();
  for (const auto& id : entries(ended_dir(state_dir))) {
    std::error_code ec;
    auto marked = fs::last_write_time(ended_dir(state_dir) + "/" + id, ec);
    auto age = ec || marked > now
                 ? std::chrono::seconds{0}
                 : std::chrono::duration_cast<std::chrono::seconds>(now
                                                                    - marked);
    result.emplace_back(id, age);
  }
  return result;
}

caf::expected<std::set<std::string>> holders(const std::string& state_dir) {
  auto lock = lock_state(state_dir);
  if (!lock)
    return lock.error();
  std::set<std::string> ids;
  for (const auto& id : entries(containers_dir(state_dir)))
    ids.insert(id);
  for (const auto& network : entries(networks_dir(state_dir))) {
    auto dir = addresses_dir(state_dir, network);
    for (const auto& ip : entries(dir)) {
      auto owner = read_file_or_empty(dir + "/" + ip);
      // Writers fill an address file under the lock, so an empty one was
      // left by a crash between its creation and its write.
      if (owner.empty())
        ::unlink((dir + "/" + ip).c_str());
      else
        ids.insert(owner);
    }
  }
  return ids;
}

} // namespace dcos::isolation::net
