// Address bookkeeping (IPAM) and the records of what containers hold, on
// disk under `state_dir`, in the manner of CNI's host-local plugin:
//   networks/<network>/<ip>     the address is in use; holds the container id
//   containers/<id>/<network>   what attach() set up, for detach(): lines
//                               "ip <ip>", "veth <host end>" and
//                               "port <tcp|udp> <host port> <container port>"
//   ended/<id>                  the container ended and its ports are
//                               unmapped; its addresses wait for its veth to
//                               go (the file's mtime: since when)
// (addresses live under networks/ so that no network name can collide with
// `containers` or `lock`). reserve() writes both before any plumbing, so
// that a crash in the middle of attach() leaves enough behind to undo it.
//
// Thread-safety: every function takes an exclusive flock on
// <state_dir>/lock for its run, so the agent and its executors, each in its
// own process, take turns on the state. They fail only when the lock
// cannot be had (io_error naming it) unless said otherwise.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "linux/network.hpp"
#include "linux/network/attachment.hpp"
#include "linux/network/ipv4.hpp"

namespace dcos::isolation::net {

/// Container ids name files and go into iptables comments. Fails with
/// invalid_argument unless `id` is 1 to 200 of A-Z, a-z, 0-9, '-', '_' and
/// '.', and neither "." nor "..". (Takes no lock.)
caf::error check_container_id(const std::string& id);

/// Reserves for `id` on `net`: the lowest free address of `subnet` after
/// the gateway, a host veth name no other container or link has, and the
/// next interface name in the container (eth0 on its first network), and
/// records them with `ports`. Fails with conflict when `id` is on `net`
/// already, is marked ended (mark_ended) and not yet released, or another
/// container maps one of the host ports, unavailable
/// when the subnet is full, io_error when the files cannot be written.
/// REQUIRES: `subnet` is parse_subnet(net.subnet).
caf::expected<attachment> reserve(const std::string& state_dir,
                                  const std::string& id,
                                  const network_config& net,
                                  const ipv4_subnet& subnet,
                                  std::vector<port_mapping> ports);

/// Undoes reserve(): removes the record of `held` and its address, if the
/// address still names `id`.
caf::error forget(const std::string& state_dir, const std::string& id,
                  const attachment& held);

/// What `id` holds, one attachment per recorded network; a damaged record
/// gives what can be read of it.
caf::expected<std::vector<attachment>> held_by(const std::string& state_dir,
                                               const std::string& id);

/// Removes every address that names `id`, recorded or not (a crash between
/// taking an address and writing the record leaves one without a record),
/// all of its records, and its mark as ended.
caf::error release(const std::string& state_dir, const std::string& id);

/// Marks `id` ended: its records lose their port mappings (the caller has
/// removed them, and the ports are free for others) and keep its addresses
/// and veth names until release().
caf::error mark_ended(const std::string& state_dir, const std::string& id);

/// The ids marked ended, each with how long ago (by the wall clock, since
/// marks outlive the process; a mark from the future counts as new).
caf::expected<std::vector<std::pair<std::string, std::chrono::seconds>>>
ended(const std::string& state_dir);

/// The ids that hold a record or an address. Removes the empty address
/// files that crashes left (writers fill them under the lock).
caf::expected<std::set<std::string>> holders(const std::string& state_dir);

} // namespace dcos::isolation::net
