// What attach() sets up for one container on one network: recorded on disk
// by the IPAM (ipam.hpp) before the kernel is asked for anything
// (plumbing.hpp), so that it can be undone after a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcos::isolation::net {

struct port_mapping {
  std::string protocol; // "tcp" or "udp"
  uint32_t host_port = 0;
  uint32_t container_port = 0;
};

struct attachment {
  std::string network;
  std::string ip;
  std::string veth;   // the host end
  std::string ifname; // the container end (not recorded: undoing needs
                      // only the host end)
  std::vector<port_mapping> ports;
};

} // namespace dcos::isolation::net
