// An app's container and networks as Marathon's JSON spells them
// (`container`, `networks`, `container.portMappings`): Marathon's input
// upgrades and defaults, its rules, and what they become in the task an
// agent runs (the ContainerInfo, the ports, the DiscoveryInfo).
//
// Both container types run in the agent's Linux containerizer: the image of
// `container.docker.image` is the task's root filesystem (the agent needs
// `filesystem/linux` and the image in its `--image_store_dir`). A named
// container network is one of the agent's `--networks`; the bridge
// (`container/bridge`) is the agent's network named "mesos-bridge", the
// name Mesos' CNI gives it.
//
// Thread-safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <dcos/v1/container.pb.h>
#include <dcos/v1/discovery.pb.h>

#include "app_definition.hpp"
#include "marathon.pb.h"

namespace dcos::marathon {

/// The agent network that `container/bridge` means.
inline constexpr const char* bridge_network_name = "mesos-bridge";

/// Moves Marathon 1.4's `container.docker.network` and
/// `container.docker.portMappings` to `networks` and
/// `container.portMappings`, as Marathon does with such input. A request
/// that gives both spellings, or a legacy network that has no translation
/// (USER without a name, NONE), adds violations and is left as it was.
void upgrade_legacy_networking(App* app, std::vector<violation>* out);

/// Marathon's defaults: `networks` is [{"mode": "host"}] when empty; a
/// container's type is DOCKER; port mappings speak tcp, map container port
/// 0 and, on the bridge, any host port.
void apply_container_defaults(App* app);

/// True if the app's tasks use the host's network (the default).
bool host_networking(const App& app);

/// How many ports a task of `app` has: its port definitions on the host's
/// network, else its port mappings. Health checks' `portIndex` counts
/// these.
int declared_ports(const App& app);

/// Marathon's rules for `container` and `networks` (REQUIRES: defaults
/// applied), and this Marathon's limits: no privileged containers, Docker
/// parameters, pull configs, external volumes, volume profiles.
void validate_container(const App& app, std::vector<violation>& out);

/// One port of a task of an app, from a port definition (host network) or
/// a port mapping.
struct task_port {
  bool wants_host_port = true;   // false: a container port only
  int fixed_host_port = 0;       // 0: any port from the offer
  const char* fixed_by = "";     // the field that fixes it, for messages
  int container_port = 0;        // 0 on the host network
  std::string name;
  std::string protocol;          // tcp, udp, udp,tcp
  const google::protobuf::Map<std::string, std::string>* labels = nullptr;
  std::vector<std::string> network_names; // of a mapping: where it maps
};

/// The ports of a task of `app` (REQUIRES: valid), in the order of its
/// port definitions or mappings. `require_ports` apps fix their host ports.
std::vector<task_port> task_ports(const App& app);

/// A task port with the host port it was given (0: none).
struct placed_port {
  task_port spec;
  int host_port = 0;
  /// What the task listens on: the container port in a container network
  /// (or the host port when the mapping's is 0), else the host port.
  int effective() const {
    return spec.container_port != 0 ? spec.container_port : host_port;
  }
};

/// The ContainerInfo of a task of `app` with `ports`; nullopt if the app
/// runs on the host's network without a container (a plain process tree).
std::optional<v1::ContainerInfo>
container_info(const App& app, const std::vector<placed_port>& ports);

/// What service discovery (Mesos-DNS, VIPs) sees of a task named `name`:
/// each port by number, name, protocol and labels (where a VIP_n label
/// travels). On a container network a port is listed by its container
/// port (label network-scope=container) and, when mapped, also by its host
/// port (network-scope=host), as Marathon lists them.
v1::DiscoveryInfo discovery_info(const App& app, const std::string& name,
                                 const std::vector<placed_port>& ports);

} // namespace dcos::marathon
