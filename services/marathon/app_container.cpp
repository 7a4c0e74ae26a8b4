#include "app_container.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <fmt/format.h>

namespace dcos::marathon {

namespace {

bool valid_protocol(const std::string& p) {
  return p == "tcp" || p == "udp" || p == "udp,tcp" || p == "tcp,udp";
}

// The protocols of "udp,tcp", one by one.
std::vector<std::string> protocols(const std::string& p) {
  if (p == "udp,tcp" || p == "tcp,udp")
    return {"tcp", "udp"};
  return {p.empty() ? std::string{"tcp"} : p};
}

bool bridge(const App& app) {
  return app.networks_size() == 1
         && app.networks(0).mode() == "container/bridge";
}

// The agent network names of the app's container networks, in order.
std::vector<std::string> container_networks(const App& app) {
  std::vector<std::string> out;
  for (const auto& n : app.networks())
    if (n.mode() == "container")
      out.push_back(n.name());
    else if (n.mode() == "container/bridge")
      out.push_back(bridge_network_name);
  return out;
}

void add_label(v1::Labels* labels, const std::string& key,
               const std::string& value) {
  auto* l = labels->add_labels();
  l->set_key(key);
  l->set_value(value);
}

void validate_networks(const App& app, std::vector<violation>& out) {
  std::set<std::string> names;
  for (int i = 0; i < app.networks_size(); ++i) {
    const auto& n = app.networks(i);
    auto path = fmt::format("/networks({})", i);
    if (n.mode() == "host" || n.mode() == "container/bridge") {
      if (app.networks_size() > 1)
        out.push_back({path + "/mode",
                       fmt::format("a {} network cannot be combined with "
                                   "other networks",
                                   n.mode())});
      if (n.has_name())
        out.push_back({path + "/name",
                       fmt::format("a {} network has no name", n.mode())});
    } else if (n.mode() == "container") {
      static const std::regex rule{"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?"};
      if (!n.has_name() || n.name().empty())
        out.push_back({path + "/name",
                       "a container network needs a name (this Marathon "
                       "has no default network name)"});
      else if (!std::regex_match(n.name(), rule))
        out.push_back({path + "/name",
                       "must be lower-case letters, digits, '-', '_' or "
                       "'.', starting and ending with a letter or digit"});
      else if (!names.insert(n.name()).second)
        out.push_back({path + "/name", "is used twice"});
    } else {
      out.push_back({path + "/mode",
                     "must be one of host, container, container/bridge"});
    }
  }
}

void validate_port_mappings(const App& app, std::vector<violation>& out) {
  const auto& mappings = app.container().port_mappings();
  if (host_networking(app)) {
    if (!mappings.empty())
      out.push_back({"/container/portMappings",
                     "port mappings are only allowed with container or "
                     "container/bridge networks; use portDefinitions on "
                     "the host network"});
    return;
  }
  if (app.port_definitions_size() > 0)
    out.push_back({"/portDefinitions",
                   "port definitions are only allowed on the host network; "
                   "use container.portMappings"});
  auto networks = container_networks(app);
  std::set<std::string> names;
  std::set<int> fixed;
  for (int i = 0; i < mappings.size(); ++i) {
    const auto& m = mappings[i];
    auto path = fmt::format("/container/portMappings({})", i);
    if (m.container_port() < 0 || m.container_port() > 65535)
      out.push_back({path + "/containerPort", "must be between 0 and 65535"});
    if (m.container_port() == 0 && !bridge(app))
      out.push_back({path + "/containerPort",
                     "must be set on a container network"});
    if (m.has_host_port()) {
      if (m.host_port() < 0 || m.host_port() > 65535)
        out.push_back({path + "/hostPort", "must be between 0 and 65535"});
      else if (m.host_port() != 0 && !fixed.insert(m.host_port()).second)
        out.push_back({path + "/hostPort", "is used twice"});
      if (networks.size() > 1 && m.network_names_size() != 1)
        out.push_back({path + "/networkNames",
                       "a host port on an app with several container "
                       "networks must name the one network it maps to"});
    }
    if (m.service_port() < 0 || m.service_port() > 65535)
      out.push_back({path + "/servicePort", "must be between 0 and 65535"});
    if (!valid_protocol(m.protocol()))
      out.push_back({path + "/protocol", "must be tcp, udp or udp,tcp"});
    if (m.has_name() && !m.name().empty() && !names.insert(m.name()).second)
      out.push_back({path + "/name", "is used twice"});
    for (int j = 0; j < m.network_names_size(); ++j)
      if (std::find(networks.begin(), networks.end(), m.network_names(j))
          == networks.end())
        out.push_back({fmt::format("{}/networkNames({})", path, j),
                       "names no container network of the app"});
  }
}

// A local persistent volume's rules, as Marathon's.
void validate_persistent_volume(const ContainerVolume& v,
                                const std::string& path,
                                std::vector<violation>& out) {
  const auto& cp = v.container_path();
  if (cp.empty() || cp == "." || cp == "..")
    out.push_back({path + "/containerPath",
                   "must be a directory name in the sandbox"});
  else if (cp.find('/') != std::string::npos)
    out.push_back({path + "/containerPath", "value must not contain \"/\""});
  if (!v.host_path().empty())
    out.push_back({path + "/hostPath",
                   "a persistent volume has no hostPath"});
  if (v.mode() != "RW")
    out.push_back({path + "/mode", "a persistent volume's mode must be RW"});
  const auto& p = v.persistent();
  auto at = path + "/persistent";
  if (p.type() != "root" && p.type() != "path" && p.type() != "mount")
    out.push_back({at + "/type", "must be root, path or mount"});
  if (p.size() <= 0)
    out.push_back({at + "/size", "must be greater than 0"});
  if (p.has_max_size()) {
    if (p.type() != "mount")
      out.push_back({at + "/maxSize", "Only mount volumes can have maxSize"});
    else if (p.max_size() <= p.size())
      out.push_back({at + "/maxSize", "Max size must be larger than size"});
  }
  if (!p.profile_name().empty())
    out.push_back({at + "/profileName",
                   "volume profiles are not supported by this Marathon"});
  if (p.constraints_size() > 0 && p.type() == "root")
    out.push_back({at + "/constraints",
                   "Constraints on root volumes are not supported"});
  for (int i = 0; i < p.constraints_size(); ++i) {
    auto where = fmt::format("{}/constraints({})", at, i);
    const auto& c = p.constraints(i).values();
    if (c.size() != 3 || !c[0].has_string_value() || !c[1].has_string_value()
        || !c[2].has_string_value() || c[0].string_value() != "path") {
      out.push_back({where, "must be [\"path\", \"LIKE\"|\"UNLIKE\", "
                            "regex]"});
      continue;
    }
    if (c[1].string_value() != "LIKE" && c[1].string_value() != "UNLIKE") {
      out.push_back({where, "Operator must be one of LIKE, UNLIKE"});
      continue;
    }
    try {
      std::regex{c[2].string_value()};
    } catch (const std::regex_error&) {
      out.push_back({where, "Invalid regular expression"});
    }
  }
}

void validate_volumes(const App& app, std::vector<violation>& out) {
  const auto& volumes = app.container().volumes();
  for (int i = 0; i < volumes.size(); ++i) {
    const auto& v = volumes[i];
    auto path = fmt::format("/container/volumes({})", i);
    if (v.has_external() && !is_empty_value(v.external())) {
      out.push_back({path + "/external",
                     "external volumes are not supported by this Marathon "
                     "yet"});
      continue;
    }
    if (v.has_persistent()) {
      validate_persistent_volume(v, path, out);
      continue;
    }
    if (v.container_path().empty())
      out.push_back({path + "/containerPath", "is required"});
    if (v.host_path().empty())
      out.push_back({path + "/hostPath", "is required for a host volume"});
    if (v.mode() != "RW" && v.mode() != "RO")
      out.push_back({path + "/mode", "must be RW or RO"});
  }
}

} // namespace

void upgrade_legacy_networking(App* app, std::vector<violation>* out) {
  if (!app->has_container())
    return;
  auto* docker = app->mutable_container()->mutable_docker();
  if (docker->port_mappings_size() > 0) {
    if (app->container().port_mappings_size() > 0) {
      out->push_back({"/container/docker/portMappings",
                      "give port mappings in container.portMappings only"});
      return;
    }
    *app->mutable_container()->mutable_port_mappings()
      = std::move(*docker->mutable_port_mappings());
    docker->clear_port_mappings();
  }
  if (!docker->has_network())
    return;
  if (app->networks_size() > 0) {
    out->push_back({"/container/docker/network",
                    "give the network in networks only"});
    return;
  }
  const auto& legacy = docker->network();
  if (legacy == "HOST") {
    app->add_networks()->set_mode("host");
  } else if (legacy == "BRIDGE") {
    app->add_networks()->set_mode("container/bridge");
  } else {
    out->push_back({"/container/docker/network",
                    "use networks: [{\"mode\": \"container\", \"name\": "
                    "...}] instead of " + legacy});
    return;
  }
  docker->clear_network();
}

void apply_container_defaults(App* app) {
  if (app->networks_size() == 0)
    app->add_networks()->set_mode("host");
  for (auto& n : *app->mutable_networks())
    if (!n.has_mode())
      n.set_mode("container");
  if (!app->has_container())
    return;
  auto* container = app->mutable_container();
  if (!container->has_type())
    container->set_type("DOCKER");
  if (container->has_docker()) {
    auto* docker = container->mutable_docker();
    if (!docker->has_force_pull_image())
      docker->set_force_pull_image(false);
    if (!docker->has_privileged())
      docker->set_privileged(false);
  }
  for (auto& v : *container->mutable_volumes()) {
    // `"persistent": {}` (older definitions had it on host volumes) says
    // nothing: a host volume.
    const auto& p = v.persistent();
    if (v.has_persistent() && !p.has_type() && !p.has_size()
        && !p.has_max_size() && p.constraints_size() == 0
        && !p.has_profile_name())
      v.clear_persistent();
    if (!v.has_persistent())
      continue;
    if (!v.has_mode())
      v.set_mode("RW");
    if (!v.persistent().has_type())
      v.mutable_persistent()->set_type("root");
  }
  bool on_bridge = bridge(*app);
  for (auto& m : *container->mutable_port_mappings()) {
    if (!m.has_container_port())
      m.set_container_port(0);
    if (!m.has_host_port() && on_bridge)
      m.set_host_port(0);
    if (!m.has_service_port())
      m.set_service_port(0);
    if (!m.has_protocol())
      m.set_protocol("tcp");
  }
}

bool host_networking(const App& app) {
  return app.networks_size() == 0
         || (app.networks_size() == 1 && app.networks(0).mode() == "host");
}

int declared_ports(const App& app) {
  return host_networking(app) ? app.port_definitions_size()
                              : app.container().port_mappings_size();
}

void validate_container(const App& app, std::vector<violation>& out) {
  validate_networks(app, out);
  validate_port_mappings(app, out);
  if (!app.has_container())
    return;
  const auto& c = app.container();
  if (c.type() != "DOCKER" && c.type() != "MESOS")
    out.push_back({"/container/type", "must be DOCKER or MESOS"});
  const auto& docker = c.docker();
  if (c.type() == "DOCKER" && docker.image().empty())
    out.push_back({"/container/docker/image",
                   "a DOCKER container needs an image"});
  if (docker.privileged())
    out.push_back({"/container/docker/privileged",
                   "privileged containers are not supported by this "
                   "Marathon"});
  if (docker.parameters_size() > 0)
    out.push_back({"/container/docker/parameters",
                   "Docker daemon parameters are not supported: the image "
                   "runs in the agent's Linux containerizer"});
  if (docker.has_pull_config() && !is_empty_value(docker.pull_config()))
    out.push_back({"/container/docker/pullConfig",
                   "is not supported by this Marathon yet: images come from "
                   "the agent's image store"});
  if (docker.has_credential() && !is_empty_value(docker.credential()))
    out.push_back({"/container/docker/credential",
                   "is not supported by this Marathon yet: images come from "
                   "the agent's image store"});
  validate_volumes(app, out);
}

std::vector<task_port> task_ports(const App& app) {
  std::vector<task_port> out;
  if (host_networking(app)) {
    for (const auto& def : app.port_definitions()) {
      task_port p;
      p.fixed_host_port = app.require_ports() ? def.port() : 0;
      p.fixed_by = "requirePorts";
      p.name = def.name();
      p.protocol = def.protocol();
      p.labels = &def.labels();
      out.push_back(std::move(p));
    }
    return out;
  }
  auto networks = container_networks(app);
  for (const auto& m : app.container().port_mappings()) {
    task_port p;
    p.wants_host_port = m.has_host_port();
    p.fixed_host_port = m.host_port();
    p.fixed_by = "hostPort";
    p.container_port = m.container_port();
    p.name = m.name();
    p.protocol = m.protocol();
    p.labels = &m.labels();
    if (m.network_names_size() > 0)
      p.network_names.assign(m.network_names().begin(),
                             m.network_names().end());
    else
      p.network_names = networks;
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<v1::ContainerInfo>
container_info(const App& app, const std::vector<placed_port>& ports) {
  if (!app.has_container() && host_networking(app))
    return std::nullopt;
  v1::ContainerInfo info;
  info.set_type(v1::ContainerInfo::MESOS);
  const auto& docker = app.container().docker();
  if (!docker.image().empty()) {
    auto* image = info.mutable_mesos()->mutable_image();
    image->set_type(v1::Image::DOCKER);
    image->mutable_docker()->set_name(docker.image());
    image->set_cached(!docker.force_pull_image());
  }
  for (const auto& v : app.container().volumes()) {
    if (v.has_persistent())
      continue; // the agent mounts it from the task's resources
    auto* volume = info.add_volumes();
    volume->set_container_path(v.container_path());
    volume->set_host_path(v.host_path());
    volume->set_mode(v.mode() == "RO" ? v1::Volume::RO : v1::Volume::RW);
  }
  for (const auto& name : container_networks(app)) {
    auto* network = info.add_network_infos();
    network->set_name(name);
    for (const auto& n : app.networks())
      if (n.name() == name)
        for (const auto& [key, value] : n.labels())
          add_label(network->mutable_labels(), key, value);
    for (const auto& p : ports) {
      if (p.host_port == 0
          || std::find(p.spec.network_names.begin(),
                       p.spec.network_names.end(), name)
               == p.spec.network_names.end())
        continue;
      for (const auto& protocol : protocols(p.spec.protocol)) {
        auto* mapping = network->add_port_mappings();
        mapping->set_host_port(static_cast<uint32_t>(p.host_port));
        mapping->set_container_port(static_cast<uint32_t>(p.effective()));
        mapping->set_protocol(protocol);
      }
    }
  }
  return info;
}

v1::DiscoveryInfo discovery_info(const App& app, const std::string& name,
                                 const std::vector<placed_port>& ports) {
  v1::DiscoveryInfo info;
  info.set_visibility(v1::DiscoveryInfo::FRAMEWORK);
  info.set_name(name);
  bool on_container_network = !host_networking(app) && !bridge(app);
  auto add = [&](const placed_port& p, int number, const char* scope) {
    for (const auto& protocol : protocols(p.spec.protocol)) {
      auto* port = info.mutable_ports()->add_ports();
      port->set_number(static_cast<uint32_t>(number));
      if (!p.spec.name.empty())
        port->set_name(p.spec.name);
      port->set_protocol(protocol);
      if (p.spec.labels)
        for (const auto& [key, value] : *p.spec.labels)
          add_label(port->mutable_labels(), key, value);
      if (scope)
        add_label(port->mutable_labels(), "network-scope", scope);
    }
  };
  for (const auto& p : ports) {
    if (!on_container_network) {
      add(p, p.host_port, nullptr);
      continue;
    }
    add(p, p.effective(), "container");
    if (p.host_port != 0)
      add(p, p.host_port, "host");
  }
  return info;
}

} // namespace dcos::marathon
