// container_launch_bench: sequential launches of /bin/true in the busybox
// image, through the Linux containerizer and through `crun run` of the same
// root filesystem, side by side in one run (issue #6).
//
//   container_launch_bench [--runs=100]
//
// Needs root, crun, and the image script (DCOS_MAKE_IMAGE, set by meson).
// Both sides get new pid, mount, uts and ipc namespaces, cgroups (cpu,
// memory, pids), Docker's capability set and the image's root; each
// launch is timed from the request to the process' end as its parent sees
// it, and our side also until its cgroups and root are cleaned up (which
// happens after the exit is reported; crun run deletes before it returns).
// Then the same with a network: crun gets a bare new network namespace, we
// attach the container to a virtual network (namespace, veth, address,
// route), which is what a task asking for a network gets.
//
// Prints one JSON line per shape. Do not run it beside an agent that uses
// network/bridge: its network (10.233.0.0/16, bridge dcosbench0) replaces
// the agent's in the host's DCOS-* iptables chains, which stay behind.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/containerizer_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/subprocess.hpp"
#include "dcos/type_bridge.hpp"
#include "linux/cgroups.hpp"
#include "linux/image_store.hpp"

using namespace dcos;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using bench_clock = std::chrono::steady_clock;

namespace {

std::string sibling(const std::string& relative) {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  return (self / relative).lexically_normal().string();
}

int run(std::vector<std::string> argv, const std::string& out = "/dev/null") {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.stdout_path = out;
  opts.stderr_path = out == "/dev/null" ? out : out + ".err";
  auto p = subprocess::spawn(opts);
  return p ? p->wait() : -1;
}

// The OCI runtime spec of the crun side: what our containerizer sets up.
std::string oci_config(bool network) {
  return fmt::format(R"({{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false, "user": {{"uid": 0, "gid": 0}},
    "args": ["/bin/true"], "cwd": "/",
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    "capabilities": {{
      "bounding": {caps}, "effective": {caps}, "permitted": {caps}
    }},
    "noNewPrivileges": true
  }},
  "root": {{"path": "rootfs", "readonly": false}},
  "hostname": "bench",
  "mounts": [
    {{"destination": "/proc", "type": "proc", "source": "proc"}},
    {{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}},
    {{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}},
    {{"destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": ["nosuid", "noexec", "nodev", "ro"]}}
  ],
  "linux": {{
    "cgroupsPath": "/dcosbench/crun",
    "resources": {{
      "memory": {{"limit": 67108864}},
      "cpu": {{"shares": 512, "quota": 50000, "period": 100000}},
      "pids": {{"limit": 4096}}
    }},
    "namespaces": [
      {{"type": "pid"}}, {{"type": "mount"}}, {{"type": "ipc"}},
      {{"type": "uts"}}{net}
    ]
  }}
}})",
                     fmt::arg("caps",
                              R"(["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID",
      "CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID",
      "CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT",
      "CAP_KILL","CAP_AUDIT_WRITE"])"),
                     fmt::arg("net", network ? R"(, {"type": "network"})"
                                             : ""));
}

struct stats {
  double total_ms = 0;
  double median_ms = 0;
  double p99_ms = 0;
};

stats summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  stats s;
  for (double m : ms)
    s.total_ms += m;
  s.median_ms = ms[ms.size() / 2];
  s.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  return s;
}

double ms_since(bench_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(bench_clock::now() - start)
    .count();
}

struct ours {
  caf::actor_system& sys;
  containerizer_actor containerizer;
  const isolation::cgroups& cgroups; // where the containers' cgroups are
  std::string dir;
  bool network;
  static inline int next = 0; // ids stay unique across shapes

  // Launches /bin/true; returns {to exit, to exit and cleanup}.
  std::pair<double, double> launch_once() {
    container_launch req;
    req.container_id = fmt::format("bench-{}-{}", ::getpid(), next++);
    req.sandbox = dir + "/sandboxes/" + req.container_id;
    req.command.argv = {"/bin/true"};
    req.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    req.limits = *resources::parse("cpus:0.5;mem:64");
    req.container.set_type(v1::ContainerInfo::MESOS);
    auto* image = req.container.mutable_mesos()->mutable_image();
    image->set_type(v1::Image::DOCKER);
    image->mutable_docker()->set_name("busybox");
    if (network)
      req.container.add_network_infos()->set_name("bench");
    caf::scoped_actor self{sys};
    auto start = bench_clock::now();
    bool ok = false;
    self->request(containerizer, 30s, launch_atom::value, req)
      .receive([&](uint32_t) { ok = true; },
               [&](caf::error& err) {
                 std::fprintf(stderr, "launch: %s\n", describe(err).c_str());
               });
    if (!ok)
      std::exit(1);
    self->request(containerizer, 30s, wait_atom::value, req.container_id)
      .receive([&](container_termination& t) { ok = t.status == 0; },
               [&](caf::error&) { ok = false; });
    double exited = ms_since(start);
    if (!ok) {
      std::fprintf(stderr, "container failed: see %s/stderr\n",
                   req.sandbox.c_str());
      std::exit(1);
    }
    auto cgroup = cgroups.path("memory", req.container_id);
    while (fs::exists(cgroup))
      std::this_thread::sleep_for(50us);
    return {exited, ms_since(start)};
  }
};

} // namespace

int main(int argc, char** argv) {
  int runs = 100;
  flags f{"container_launch_bench [--runs=N]",
          "Launches /bin/true N times through dcos and through crun."};
  f.add(&runs, "runs", "launches per side and shape");
  parse_or_exit(f, argc, argv);
  if (::geteuid() != 0 || run({"crun", "--version"}) != 0) {
    std::fprintf(stderr, "container_launch_bench: needs root and crun\n");
    return 2;
  }
  // crun refuses a "hybrid" host (v1 controllers, and a v2 mount holding
  // some): this run, both sides, sees the v1 hierarchies only.
  if (::unshare(CLONE_NEWNS) != 0
      || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::perror("container_launch_bench: mount namespace");
    return 2;
  }
  ::umount2("/sys/fs/cgroup/unified", MNT_DETACH);
  const char* script = std::getenv("DCOS_MAKE_IMAGE");
  if (script == nullptr) {
    std::fprintf(stderr, "container_launch_bench: DCOS_MAKE_IMAGE unset\n");
    return 2;
  }
  char tmpl[] = "/tmp/dcos-launch-bench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  run({"sh", script, dir + "/store"});

  // The crun bundle: the same image, its layers copied into one root.
  isolation::image_store store{dir + "/store", dir + "/images"};
  auto image = store.provision("busybox");
  if (!image) {
    std::fprintf(stderr, "%s\n", describe(image.error()).c_str());
    return 1;
  }
  fs::create_directories(dir + "/bundle/rootfs");
  for (const auto& layer : image->layers)
    run({"cp", "-a", layer + "/.", dir + "/bundle/rootfs/"});

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  posix_containerizer_config pcfg;
  pcfg.helper = sibling("../containers/dcos-containerizer");
  pcfg.fetcher = sibling("../dcos-fetcher");
  linux_isolation_config iso;
  iso.isolators = {"cgroups/cpu",      "cgroups/mem",       "cgroups/pids",
                   "namespaces/pid",   "filesystem/linux",  "linux/capabilities",
                   "network/bridge"};
  iso.runtime_dir = dir + "/runtime";
  iso.image_store_dir = dir + "/store";
  iso.image_cache_dir = dir + "/images";
  iso.networks = R"([{"name":"bench","subnet":"10.233.0.0/16",
                      "bridge":"dcosbench0"}])";
  iso.network_state_dir = dir + "/networks";
  // The hierarchies of this mount namespace, v1 or v2, as the
  // containerizer sees them.
  auto cgroups = isolation::cgroups::detect({"memory"});
  if (!cgroups) {
    std::fprintf(stderr, "%s\n", describe(cgroups.error()).c_str());
    return 1;
  }
  auto containerizer = spawn_linux_containerizer(sys, pcfg, iso);
  if (!containerizer) {
    std::fprintf(stderr, "%s\n", describe(containerizer.error()).c_str());
    return 1;
  }

  for (bool network : {false, true}) {
    std::ofstream{dir + "/bundle/config.json"} << oci_config(network);
    ours dcos{sys, *containerizer, *cgroups, dir, network};
    dcos.launch_once(); // warm: the layers are unpacked once
    run({"crun", "run", "--bundle", dir + "/bundle", "bench-crun"});
    std::vector<double> exit_ms, clean_ms, crun_ms;
    for (int i = 0; i < runs; ++i) {
      auto [exited, cleaned] = dcos.launch_once();
      exit_ms.push_back(exited);
      clean_ms.push_back(cleaned);
      auto start = bench_clock::now();
      int rc = run({"crun", "run", "--bundle", dir + "/bundle", "bench-crun"},
                   dir + "/crun.out");
      crun_ms.push_back(ms_since(start));
      if (rc != 0) {
        std::fprintf(stderr, "crun run failed (%d): see %s/crun.out.err\n",
                     rc, dir.c_str());
        return 1;
      }
    }
    auto ours_exit = summarize(exit_ms);
    auto ours_clean = summarize(clean_ms);
    auto theirs = summarize(crun_ms);
    std::printf(
      "{\"bench\":\"container_launch\",\"shape\":\"%s\",\"runs\":%d,"
      "\"dcos_total_ms\":%.1f,\"dcos_median_ms\":%.2f,\"dcos_p99_ms\":%.2f,"
      "\"dcos_with_cleanup_total_ms\":%.1f,"
      "\"crun_total_ms\":%.1f,\"crun_median_ms\":%.2f,\"crun_p99_ms\":%.2f,"
      "\"ratio\":%.2f,\"ratio_with_cleanup\":%.2f}\n",
      network ? "pid+mount+net, cgroups (dcos: virtual network)"
              : "pid+mount, cgroups",
      runs, ours_exit.total_ms, ours_exit.median_ms, ours_exit.p99_ms,
      ours_clean.total_ms, theirs.total_ms, theirs.median_ms, theirs.p99_ms,
      ours_exit.total_ms / theirs.total_ms,
      ours_clean.total_ms / theirs.total_ms);
    std::fflush(stdout);
  }
  caf::anon_send_exit(*containerizer, caf::exit_reason::user_shutdown);
  run({"ip", "link", "del", "dcosbench0"});
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
