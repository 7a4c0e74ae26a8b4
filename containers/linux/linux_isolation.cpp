// The Linux isolation of the Mesos containerizer: Mesos' isolators, chosen
// by name, carried out by the container helper (namespaces, root filesystem,
// seccomp, capabilities, rlimits) and by this agent-side code (cgroups,
// images, networks, cleanup).
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dcos/containerizer_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dirs.hpp"
#include "linux/cgroups.hpp"
#include "linux/container_dns.hpp"
#include "linux/image_store.hpp"
#include "linux/network.hpp"
#include "linux/seccomp_profile.hpp"
#include "posix/containerizer_impl.hpp"
#include "posix/volume_links.hpp"

namespace fs = std::filesystem;

namespace dcos {

namespace {

using isolation::cgroups;

const std::vector<std::string> known_isolators = {
  "posix/cpu",        "posix/mem",          "cgroups/cpu",
  "cgroups/mem",      "cgroups/pids",       "namespaces/pid",
  "filesystem/linux", "linux/seccomp",      "linux/capabilities",
  "posix/rlimits",    "network/bridge",
};

// Docker's default capability set: what a container keeps unless it asks
// for more (and the operator allows it).
const std::vector<v1::CapabilityInfo::Capability> default_capabilities = {
  v1::CapabilityInfo::CHOWN,          v1::CapabilityInfo::DAC_OVERRIDE,
  v1::CapabilityInfo::FSETID,         v1::CapabilityInfo::FOWNER,
  v1::CapabilityInfo::MKNOD,          v1::CapabilityInfo::NET_RAW,
  v1::CapabilityInfo::SETGID,         v1::CapabilityInfo::SETUID,
  v1::CapabilityInfo::SETFCAP,        v1::CapabilityInfo::SETPCAP,
  v1::CapabilityInfo::NET_BIND_SERVICE, v1::CapabilityInfo::SYS_CHROOT,
  v1::CapabilityInfo::KILL,           v1::CapabilityInfo::AUDIT_WRITE,
};

// The kernel's number of a capability (CapabilityInfo numbers them from
// 1000 in the kernel's order).
int kernel_number(v1::CapabilityInfo::Capability cap) {
  return static_cast<int>(cap) - 1000;
}

// Mesos' RLimit types in the order of the kernel's RLIMIT_* constants.
std::optional<int> kernel_rlimit(v1::RLimitInfo::RLimit::Type type) {
  using t = v1::RLimitInfo::RLimit;
  switch (type) {
    case t::RLMT_AS: return RLIMIT_AS;
    case t::RLMT_CORE: return RLIMIT_CORE;
    case t::RLMT_CPU: return RLIMIT_CPU;
    case t::RLMT_DATA: return RLIMIT_DATA;
    case t::RLMT_FSIZE: return RLIMIT_FSIZE;
    case t::RLMT_LOCKS: return RLIMIT_LOCKS;
    case t::RLMT_MEMLOCK: return RLIMIT_MEMLOCK;
    case t::RLMT_MSGQUEUE: return RLIMIT_MSGQUEUE;
    case t::RLMT_NICE: return RLIMIT_NICE;
    case t::RLMT_NOFILE: return RLIMIT_NOFILE;
    case t::RLMT_NPROC: return RLIMIT_NPROC;
    case t::RLMT_RSS: return RLIMIT_RSS;
    case t::RLMT_RTPRIO: return RLIMIT_RTPRIO;
    case t::RLMT_RTTIME: return RLIMIT_RTTIME;
    case t::RLMT_SIGPENDING: return RLIMIT_SIGPENDING;
    case t::RLMT_STACK: return RLIMIT_STACK;
    default: return std::nullopt;
  }
}

bool has_overlayfs() {
  std::ifstream in{"/proc/filesystems"};
  std::string line;
  while (std::getline(in, line))
    if (line.find("\toverlay") != std::string::npos)
      return true;
  return false;
}

// A whiteout as the image store leaves it for overlayfs: a 0/0 character
// device hides the path below it.
bool is_whiteout(const fs::path& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode)
         && st.st_rdev == 0;
}

bool is_opaque(const fs::path& dir) {
  char value[2] = {};
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", value,
                     sizeof(value))
           == 1
         && value[0] == 'y';
}

// Copies one unpacked layer over `root` with overlayfs' meaning of its
// whiteouts and opaque directories (the copy backend).
caf::error copy_layer(const std::string& layer, const std::string& root) {
  std::error_code ec;
  fs::recursive_directory_iterator it{layer, ec}, end;
  for (; !ec && it != end; it.increment(ec)) {
    // lexically: a symlink is copied as itself, not as what it points to
    auto rel = it->path().lexically_relative(layer);
    auto target = fs::path(root) / rel;
    if (is_whiteout(it->path())) {
      fs::remove_all(target, ec);
      continue;
    }
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (is_opaque(it->path()))
        fs::remove_all(target, ec);
      fs::create_directories(target, ec);
      continue;
    }
    fs::remove(target, ec); // a lower layer's file, or nothing
    ec.clear();
    fs::copy(it->path(), target, fs::copy_options::copy_symlinks, ec);
    if (ec)
      break;
  }
  if (ec)
    return make_error(errc::io_error,
                      fmt::format("cannot copy layer '{}' into '{}': {}",
                                  layer, root, ec.message()));
  return {};
}

bool nested_in(const std::string& id, const std::string& parent) {
  return id == parent
         || (id.size() > parent.size() && id.compare(0, parent.size(), parent)
                                            == 0
             && id[parent.size()] == '.');
}

std::string image_name(const v1::ContainerInfo& c) {
  if (!c.has_mesos() || !c.mesos().has_image())
    return {};
  return c.mesos().image().docker().name();
}

// A hostname the kernel accepts: the container id, cut to 63 characters.
std::string default_hostname(const std::string& container_id) {
  std::string out;
  for (char ch : container_id.substr(0, 63))
    out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
  return out;
}

class linux_isolation final : public container_isolation {
public:
  static caf::expected<std::shared_ptr<linux_isolation>>
  make(const linux_isolation_config& cfg);

  caf::expected<isolated_launch> prepare(container_launch& req,
                                         const std::string& meta) override;
  caf::error isolate(const std::string& id, pid_t pid) override;
  v1::ContainerStatus status(const std::string& id) override;
  caf::expected<container_usage> usage(const std::string& id) override;
  std::optional<v1::TaskStatus::Reason>
  limitation(const std::string& id, std::string* message) override;
  void kill(const std::string& id) override;
  bool cleanup(const std::string& id) override;
  bool settle() override;
  std::vector<std::string>
  recover(const std::vector<std::string>& alive) override;

private:
  bool enabled(const char* isolator) const {
    return isolators_.count(isolator) > 0;
  }
  caf::error add_image(container_launch& req, const std::string& runtime,
                       std::string* spec);
  caf::error add_volumes(const container_launch& req, std::string* spec);
  caf::error add_confinement(const container_launch& req, std::string* spec);
  caf::error add_dns(const container_launch& req, const std::string& network,
                     const std::string& runtime, std::string* spec);
  caf::expected<std::string> seccomp_file(const std::string& profile);
  std::vector<std::string> nested(const std::string& id) const;

  linux_isolation_config cfg_;
  std::set<std::string> isolators_;
  std::optional<cgroups> cgroups_;
  std::optional<isolation::image_store> images_;
  std::optional<isolation::seccomp_profiles> seccomp_;
  std::optional<isolation::network_manager> networks_;
  v1::ContainerDNSInfo dns_;
  std::set<int> allowed_caps_;
  std::map<std::string, std::vector<v1::NetworkInfo>> requested_;
  std::map<std::string, std::vector<v1::NetworkInfo>> attached_;
  std::map<std::string, uint64_t> mem_limits_;
  std::set<std::string> seccomp_written_;
  std::shared_ptr<spdlog::logger> log_ = logging::get("containerizer");
};

caf::expected<std::shared_ptr<linux_isolation>>
linux_isolation::make(const linux_isolation_config& cfg) {
  auto iso = std::make_shared<linux_isolation>();
  iso->cfg_ = cfg;
  for (const auto& name : cfg.isolators) {
    if (std::find(known_isolators.begin(), known_isolators.end(), name)
        == known_isolators.end())
      return make_error(errc::invalid_argument,
                        fmt::format("--isolation: unknown isolator '{}' "
                                    "(known: {})",
                                    name, fmt::join(known_isolators, ",")));
    iso->isolators_.insert(name);
  }
  if (!cfg.container_dns.empty()) {
    auto dns = isolation::parse_container_dns(cfg.container_dns);
    if (!dns)
      return make_error(errc::invalid_argument,
                        "--default_container_dns: "
                          + describe_reason(dns.error()));
    iso->dns_ = std::move(*dns);
  }
  if (!cfg.isolates())
    return iso;
  if (::geteuid() != 0)
    return make_error(errc::invalid_argument,
                      "--isolation: the Linux isolators need root; "
                      "unprivileged agents can use posix/cpu,posix/mem");
  std::vector<std::string> controllers;
  if (iso->enabled("cgroups/cpu"))
    controllers.push_back("cpu");
  if (iso->enabled("cgroups/mem"))
    controllers.push_back("memory");
  if (iso->enabled("cgroups/pids"))
    controllers.push_back("pids");
  if (!controllers.empty()) {
    auto cg = cgroups::detect(controllers);
    if (!cg)
      return make_error(errc::invalid_argument,
                        "--isolation: " + describe_reason(cg.error()));
    iso->cgroups_ = std::move(*cg);
  }
  if (iso->enabled("filesystem/linux")) {
    auto& backend = iso->cfg_.image_backend;
    if (backend.empty())
      backend = has_overlayfs() ? "overlay" : "copy";
    if (backend != "overlay" && backend != "copy")
      return make_error(errc::invalid_argument,
                        fmt::format("--image_provisioner_backend: '{}' is "
                                    "neither overlay nor copy",
                                    backend));
    if (backend == "overlay" && !has_overlayfs())
      return make_error(errc::invalid_argument,
                        "--image_provisioner_backend: overlay needs "
                        "overlayfs, which this kernel lacks (use copy)");
    std::error_code ec;
    if (!cfg.image_store_dir.empty()
        && !fs::is_directory(cfg.image_store_dir, ec))
      return make_error(errc::invalid_argument,
                        fmt::format("--image_store_dir: '{}' is not a "
                                    "directory",
                                    cfg.image_store_dir));
    if (!cfg.image_store_dir.empty())
      iso->images_.emplace(cfg.image_store_dir, cfg.image_cache_dir);
  }
  if (iso->enabled("linux/seccomp")) {
    auto profiles = isolation::seccomp_profiles::load(cfg.seccomp_config_dir);
    if (!profiles)
      return profiles.error();
    iso->seccomp_ = std::move(*profiles);
    if (auto bpf = iso->seccomp_->bpf(cfg.seccomp_profile); !bpf)
      return make_error(errc::invalid_argument,
                        "--seccomp_profile: " + describe_reason(bpf.error()));
  }
  for (const auto& name : cfg.allowed_capabilities) {
    v1::CapabilityInfo::Capability cap{};
    if (!v1::CapabilityInfo::Capability_Parse(name, &cap)
        || cap == v1::CapabilityInfo::UNKNOWN)
      return make_error(errc::invalid_argument,
                        fmt::format("--allowed_capabilities: unknown "
                                    "capability '{}'",
                                    name));
    iso->allowed_caps_.insert(kernel_number(cap));
  }
  if (iso->enabled("network/bridge")) {
    auto nets = isolation::parse_network_configs(
      cfg.networks.empty() ? "[]" : cfg.networks);
    if (!nets)
      return make_error(errc::invalid_argument,
                        "--networks: " + describe_reason(nets.error()));
    iso->networks_.emplace(std::move(*nets), cfg.network_state_dir);
    if (cfg.host_setup)
      if (auto err = iso->networks_->prepare())
        return make_error(errc::invalid_argument,
                          "network/bridge: " + describe_reason(err));
  }
  return iso;
}

caf::error linux_isolation::add_image(container_launch& req,
                                      const std::string& runtime,
                                      std::string* spec) {
  auto name = image_name(req.container);
  if (name.empty())
    return {};
  if (!enabled("filesystem/linux"))
    return make_error(errc::invalid_argument,
                      fmt::format("container.mesos.image: image '{}' needs "
                                  "the filesystem/linux isolator",
                                  name));
  if (!images_)
    return make_error(errc::invalid_argument,
                      fmt::format("container.mesos.image: image '{}' asked "
                                  "for, but the agent has no "
                                  "--image_store_dir",
                                  name));
  auto image = images_->provision(name);
  if (!image)
    return image.error();
  auto root = runtime + "/rootfs";
  for (const char* dir : {"rootfs", "upper", "work"})
    if (auto err = make_directories(runtime + "/" + dir))
      return err;
  if (cfg_.image_backend == "copy") {
    for (const auto& layer : image->layers)
      if (auto err = copy_layer(layer, root))
        return err;
    *spec += fmt::format("rootfs_copy\t{}\n", root);
  } else {
    std::string lower;
    for (auto i = image->layers.rbegin(); i != image->layers.rend(); ++i)
      lower += (lower.empty() ? "" : ":") + *i;
    *spec += fmt::format("rootfs\t{}\t{}/upper\t{}/work\t{}\n", root,
                         runtime, runtime, lower);
  }
  const auto& config = image->config;
  // The image's environment first; the task's own variables win, except a
  // PATH the agent inherited from the host, which means nothing inside.
  std::vector<std::string> env = config.env;
  bool image_path = std::any_of(env.begin(), env.end(), [](auto& kv) {
    return kv.rfind("PATH=", 0) == 0;
  });
  for (const auto& kv : req.env) {
    if (image_path && kv.rfind("PATH=", 0) == 0)
      continue;
    auto key = kv.substr(0, kv.find('=') + 1);
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](auto& e) { return e.rfind(key, 0) == 0; }),
              env.end());
    env.push_back(kv);
  }
  for (auto& kv : env)
    if (kv.rfind("MESOS_SANDBOX=", 0) == 0)
      kv = "MESOS_SANDBOX=/mnt/mesos/sandbox";
  req.env = std::move(env);
  // No command of its own: the image's entrypoint and cmd, as Docker runs it.
  if (req.command.entrypoint) {
    auto& command = req.command;
    auto args = command.argv.empty() ? config.cmd : std::move(command.argv);
    command.argv = config.entrypoint;
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    command.executable.clear(); // argv[0]
    command.entrypoint = false;
  }
  if (!config.working_dir.empty())
    *spec += "workdir\t" + config.working_dir + "\n";
  return {};
}

caf::error linux_isolation::add_volumes(const container_launch& req,
                                        std::string* spec) {
  bool rooted = !image_name(req.container).empty();
  for (int i = 0; i < req.container.volumes_size(); ++i) {
    auto v = check_volume(req, i);
    if (!v)
      return std::move(v.error());
    const auto& path = v->container_path;
    // Relative paths are in the sandbox, as in Mesos.
    std::string target = path[0] == '/' ? path
                         : rooted       ? "/mnt/mesos/sandbox/" + path
                                        : req.sandbox + "/" + path;
    std::error_code ec;
    if (!rooted && path[0] == '/' && !fs::exists(target, ec))
      return make_error(errc::invalid_argument,
                        fmt::format("{}.container_path: '{}' does not exist "
                                    "on the host (a container without an "
                                    "image sees the host's filesystem)",
                                    v->field, target));
    *spec += fmt::format("bind\t{}\t{}\t{}\n", v->source, target,
                         req.container.volumes(i).mode() == v1::Volume::RO
                           ? "ro"
                           : "rw");
  }
  return {};
}

// As Mesos' network/cni isolator: the operator's DNS servers for the
// container's network (or, on the host's network, the HOST entry) cover
// /etc/resolv.conf; without an entry the container keeps what it has (the
// host's file, or its image's).
caf::error linux_isolation::add_dns(const container_launch& req,
                                    const std::string& network,
                                    const std::string& runtime,
                                    std::string* spec) {
  auto dns = isolation::container_dns_for(dns_, network);
  if (!dns)
    return {};
  bool rooted = !image_name(req.container).empty();
  std::error_code ec;
  if (!rooted && !fs::exists("/etc/resolv.conf", ec))
    return make_error(errc::invalid_argument,
                      "--default_container_dns: this host has no "
                      "/etc/resolv.conf for the container's to cover");
  if (auto err = make_directories(runtime))
    return err;
  auto source = runtime + "/resolv.conf";
  std::ofstream out{source, std::ios::trunc};
  out << isolation::resolv_conf(*dns);
  out.close();
  if (!out)
    return make_error(errc::io_error, fmt::format("cannot write '{}'", source));
  *spec += fmt::format("bind\t{}\t/etc/resolv.conf\tro\n", source);
  return {};
}

caf::expected<std::string>
linux_isolation::seccomp_file(const std::string& profile) {
  auto bpf = seccomp_->bpf(profile);
  if (!bpf)
    return bpf.error();
  auto path = fmt::format("{}/seccomp/{}.bpf", cfg_.runtime_dir,
                          profile.empty() ? "default" : profile);
  if (seccomp_written_.insert(path).second) {
    std::error_code ec;
    fs::create_directories(cfg_.runtime_dir + "/seccomp", ec);
    // The agent and its executors share the directory: each writes its own
    // temporary file, and the rename makes the whole file appear at once.
    auto tmp = fmt::format("{}.tmp.{}", path, ::getpid());
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << *bpf;
    out.close();
    fs::rename(tmp, path, ec);
    if (!out || ec) {
      seccomp_written_.erase(path);
      return make_error(errc::io_error,
                        fmt::format("cannot write '{}'", path));
    }
  }
  return path;
}

caf::error linux_isolation::add_confinement(const container_launch& req,
                                            std::string* spec) {
  const auto& info = req.container.linux_info();
  if (enabled("linux/seccomp") && !info.seccomp().unconfined()) {
    auto profile = info.seccomp().has_profile_name()
                     ? info.seccomp().profile_name()
                     : cfg_.seccomp_profile;
    auto file = seccomp_file(profile);
    if (!file)
      return make_error(errc::invalid_argument,
                        "container.linux_info.seccomp.profile_name: "
                          + describe_reason(file.error()));
    *spec += "seccomp\t" + *file + "\n";
  }
  if (enabled("linux/capabilities")) {
    std::set<int> keep;
    for (auto cap : default_capabilities)
      keep.insert(kernel_number(cap));
    auto ask = [&](const v1::CapabilityInfo& caps, const char* field)
      -> caf::error {
      for (int c : caps.capabilities()) {
        auto cap = static_cast<v1::CapabilityInfo::Capability>(c);
        int n = kernel_number(cap);
        if (keep.count(n) > 0)
          continue;
        if (allowed_caps_.count(n) == 0)
          return make_error(errc::invalid_argument,
                            fmt::format("container.linux_info.{}: {} is not "
                                        "in the agent's "
                                        "--allowed_capabilities",
                                        field,
                                        v1::CapabilityInfo::Capability_Name(
                                          cap)));
        keep.insert(n);
      }
      return {};
    };
    if (auto err = ask(info.bounding_capabilities(), "bounding_capabilities"))
      return err;
    if (auto err = ask(info.effective_capabilities(),
                       "effective_capabilities"))
      return err;
    std::string list;
    for (int n : keep)
      list += (list.empty() ? "" : ",") + std::to_string(n);
    *spec += "capabilities\t" + list + "\n";
  }
  if (enabled("posix/rlimits")) {
    int index = 0;
    for (const auto& r : req.container.rlimit_info().rlimits()) {
      auto resource = kernel_rlimit(r.type());
      auto field = fmt::format("container.rlimit_info.rlimits[{}]", index++);
      if (!resource)
        return make_error(errc::invalid_argument, field + ".type: unknown");
      if (r.has_soft() != r.has_hard())
        return make_error(errc::invalid_argument,
                          field + ": soft and hard go together");
      if (r.has_soft() && r.soft() > r.hard())
        return make_error(errc::invalid_argument,
                          field + ".soft: above hard");
      auto num = [&](bool has, uint64_t v) {
        return has ? std::to_string(v) : std::string{"inf"};
      };
      *spec += fmt::format("rlimit\t{}\t{}\t{}\n", *resource,
                           num(r.has_soft(), r.soft()),
                           num(r.has_hard(), r.hard()));
    }
  }
  return {};
}

caf::expected<isolated_launch>
linux_isolation::prepare(container_launch& req, const std::string& meta) {
  isolated_launch plan;
  if (!cfg_.isolates())
    return plan;
  const auto& id = req.container_id;
  std::string spec;
  std::vector<v1::NetworkInfo> networks;
  for (const auto& n : req.container.network_infos())
    if (n.has_name() && !n.name().empty())
      networks.push_back(n);
  if (!networks.empty() && !networks_)
    return make_error(errc::invalid_argument,
                      fmt::format("container.network_infos: network '{}' "
                                  "needs the network/bridge isolator",
                                  networks.front().name()));
  bool own_namespaces = !req.nests_containers
                        && (enabled("namespaces/pid")
                            || enabled("filesystem/linux")
                            || !networks.empty());
  if (own_namespaces)
    spec += std::string{"namespaces\tpid,mount,uts,ipc"}
            + (networks.empty() ? "" : ",net") + "\n";
  auto runtime = fmt::format("{}/{}", cfg_.runtime_dir, id);
  caf::error err;
  if (own_namespaces) {
    spec += "hostname\t"
            + (req.container.has_hostname() ? req.container.hostname()
                                            : default_hostname(id))
            + "\n";
    err = add_image(req, runtime, &spec);
    if (!err)
      err = add_volumes(req, &spec);
    plan.volumes_mounted = true;
    if (!err)
      err = add_dns(req, networks.empty() ? "" : networks.front().name(),
                    runtime, &spec);
  }
  // seccomp, capabilities and rlimits are per process: they need no
  // namespace (but would stop our executor from isolating its tasks).
  if (!err && !req.nests_containers)
    err = add_confinement(req, &spec);
  if (!err && cgroups_) {
    isolation::cgroup_limits limits;
    limits.cpus = req.limits.scalar("cpus");
    if (auto mem = req.limits.scalar("mem"); mem && !req.nests_containers) {
      limits.mem_bytes = static_cast<uint64_t>(*mem * 1024 * 1024);
      mem_limits_[id] = *limits.mem_bytes;
    }
    if (enabled("cgroups/pids"))
      limits.pids = cfg_.pids_limit;
    err = cgroups_->create(id, limits);
  }
  if (!err) {
    auto file = meta + "/isolation";
    std::ofstream out{file, std::ios::trunc};
    out << spec;
    out.close();
    if (!out)
      err = make_error(errc::io_error,
                       fmt::format("cannot write '{}'", file));
    plan.helper_args.push_back("--isolation=" + file);
  }
  if (err) {
    cleanup(id);
    return err;
  }
  requested_[id] = std::move(networks);
  plan.sync = cgroups_.has_value() || !requested_[id].empty();
  return plan;
}

caf::error linux_isolation::isolate(const std::string& id, pid_t pid) {
  if (cgroups_)
    if (auto err = cgroups_->attach(id, pid))
      return err;
  for (const auto& request : requested_[id]) {
    auto attached = networks_->attach(id, request, pid);
    if (!attached)
      return attached.error();
    attached_[id].push_back(std::move(*attached));
  }
  return {};
}

v1::ContainerStatus linux_isolation::status(const std::string& id) {
  v1::ContainerStatus out;
  if (auto i = attached_.find(id); i != attached_.end())
    for (const auto& n : i->second)
      *out.add_network_infos() = n;
  return out;
}

caf::expected<container_usage>
linux_isolation::usage(const std::string& id) {
  if (!cgroups_)
    return make_error(errc::not_found,
                      "no cgroups isolator: usage is not accounted");
  // An executor's usage includes its tasks', which have cgroups of their own.
  auto out = cgroups_->usage(id);
  if (!out)
    return out.error();
  for (const auto& c : nested(id)) {
    if (c == id)
      continue;
    auto u = cgroups_->usage(c);
    if (!u)
      continue; // it ended meanwhile
    out->cpus_user_time_secs += u->cpus_user_time_secs;
    out->cpus_system_time_secs += u->cpus_system_time_secs;
    out->cpus_nr_periods += u->cpus_nr_periods;
    out->cpus_nr_throttled += u->cpus_nr_throttled;
    out->cpus_throttled_time_secs += u->cpus_throttled_time_secs;
    out->mem_rss_bytes += u->mem_rss_bytes;
    out->processes += u->processes;
  }
  return out;
}

std::optional<v1::TaskStatus::Reason>
linux_isolation::limitation(const std::string& id, std::string* message) {
  if (!cgroups_ || !cgroups_->oom_killed(id))
    return std::nullopt;
  auto limit = mem_limits_.count(id) ? mem_limits_[id] / (1024 * 1024) : 0;
  *message = fmt::format("Memory limit exceeded: the kernel's OOM killer "
                         "ended a process of the container (limit {} MB)",
                         limit);
  return v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY;
}

std::vector<std::string> linux_isolation::nested(const std::string& id) const {
  std::vector<std::string> out;
  if (cgroups_)
    for (const auto& c : cgroups_->containers())
      if (nested_in(c, id))
        out.push_back(c);
  if (std::find(out.begin(), out.end(), id) == out.end())
    out.push_back(id);
  return out;
}

void linux_isolation::kill(const std::string& id) {
  if (cgroups_)
    for (const auto& c : nested(id))
      cgroups_->kill_all(c);
}

bool linux_isolation::cleanup(const std::string& id) {
  bool done = true;
  for (const auto& c : nested(id)) {
    if (networks_)
      networks_->detach_ended(c); // its namespace takes its veth along
    if (cgroups_) {
      auto removed = cgroups_->remove(c);
      if (!removed)
        log_->warn("container_id={}: {}", c, describe(removed.error()));
      else if (!*removed)
        done = false;
    }
  }
  if (!done)
    return false;
  // The overlays were mounted in the containers' own mount namespaces,
  // which died with them: only the directories are left. (By name, not by
  // cgroup: an earlier attempt may have removed a nested one's cgroups.)
  std::error_code ec;
  for (fs::directory_iterator it{cfg_.runtime_dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (nested_in(name, id)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
  auto forget = [&id](auto& by_container) {
    for (auto i = by_container.begin(); i != by_container.end();)
      i = nested_in(i->first, id) ? by_container.erase(i) : std::next(i);
  };
  forget(requested_);
  forget(attached_);
  forget(mem_limits_);
  return true;
}

bool linux_isolation::settle() {
  return !networks_ || networks_->release_ended() == 0;
}

std::vector<std::string>
linux_isolation::recover(const std::vector<std::string>& alive) {
  auto kept = [&](const std::string& c) {
    return std::any_of(alive.begin(), alive.end(),
                       [&](auto& a) { return nested_in(c, a); });
  };
  std::vector<std::string> live, orphans;
  if (cgroups_)
    for (const auto& c : cgroups_->containers())
      (kept(c) ? live : orphans).push_back(c);
  live.insert(live.end(), alive.begin(), alive.end());
  if (networks_)
    networks_->cleanup_except(live);
  // Root filesystems of containers that are gone.
  std::error_code ec;
  for (fs::directory_iterator it{cfg_.runtime_dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name != "seccomp" && !kept(name)
        && std::find(orphans.begin(), orphans.end(), name) == orphans.end()) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
  return orphans;
}

} // namespace

bool linux_isolation_config::isolates() const {
  return std::any_of(isolators.begin(), isolators.end(), [](auto& name) {
    return name.rfind("posix/", 0) != 0 || name == "posix/rlimits";
  });
}

std::vector<std::string> linux_isolation_config::to_env() const {
  return {
    "DCOS_ISOLATION=" + fmt::format("{}", fmt::join(isolators, ",")),
    "DCOS_ISOLATION_RUNTIME_DIR=" + runtime_dir,
    "DCOS_IMAGE_STORE_DIR=" + image_store_dir,
    "DCOS_IMAGE_CACHE_DIR=" + image_cache_dir,
    "DCOS_IMAGE_BACKEND=" + image_backend,
    "DCOS_SECCOMP_CONFIG_DIR=" + seccomp_config_dir,
    "DCOS_SECCOMP_PROFILE=" + seccomp_profile,
    "DCOS_ALLOWED_CAPABILITIES="
      + fmt::format("{}", fmt::join(allowed_capabilities, ",")),
    "DCOS_NETWORKS=" + networks,
    "DCOS_NETWORK_STATE_DIR=" + network_state_dir,
    "DCOS_CONTAINER_DNS=" + container_dns,
    "DCOS_PIDS_LIMIT=" + std::to_string(pids_limit),
  };
}

caf::expected<linux_isolation_config> linux_isolation_config::from_env() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string{v ? v : ""};
  };
  linux_isolation_config cfg;
  if (auto list = env("DCOS_ISOLATION"); !list.empty())
    cfg.isolators = split_list(list);
  cfg.runtime_dir = env("DCOS_ISOLATION_RUNTIME_DIR");
  cfg.image_store_dir = env("DCOS_IMAGE_STORE_DIR");
  cfg.image_cache_dir = env("DCOS_IMAGE_CACHE_DIR");
  cfg.image_backend = env("DCOS_IMAGE_BACKEND");
  cfg.seccomp_config_dir = env("DCOS_SECCOMP_CONFIG_DIR");
  cfg.seccomp_profile = env("DCOS_SECCOMP_PROFILE");
  cfg.allowed_capabilities = split_list(env("DCOS_ALLOWED_CAPABILITIES"));
  cfg.networks = env("DCOS_NETWORKS");
  cfg.network_state_dir = env("DCOS_NETWORK_STATE_DIR");
  cfg.container_dns = env("DCOS_CONTAINER_DNS");
  if (auto pids = env("DCOS_PIDS_LIMIT"); !pids.empty()) {
    char* end = nullptr;
    cfg.pids_limit = std::strtoull(pids.c_str(), &end, 10);
    if (*end != '\0' || cfg.pids_limit == 0)
      return make_error(errc::invalid_argument,
                        "DCOS_PIDS_LIMIT: '" + pids + "' is not a number");
  }
  // The agent set the host up; its executors only use it.
  cfg.host_setup = false;
  if (cfg.isolates() && cfg.runtime_dir.empty())
    return make_error(errc::invalid_argument,
                      "DCOS_ISOLATION_RUNTIME_DIR: required with "
                      "DCOS_ISOLATION");
  return cfg;
}

caf::expected<containerizer_actor>
spawn_linux_containerizer(caf::actor_system& sys,
                          posix_containerizer_config cfg,
                          linux_isolation_config isolation) {
  auto iso = linux_isolation::make(isolation);
  if (!iso)
    return iso.error();
  return spawn_containerizer(sys, std::move(cfg), std::move(*iso));
}

} // namespace dcos
