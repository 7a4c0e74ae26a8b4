// dcos-agent: the agent daemon.
//
//   dcos-agent --master=HOST:5050|zk://HOSTS/PATH --work_dir=DIR [--port=5051] ...
//
// SIGTERM or SIGINT stop the agent and leave its executors running (a new
// agent with the same --work_dir recovers them); SIGUSR1 shuts it down for
// good: executors are killed and the agent leaves the cluster.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "agent/agent_http.hpp"
#include "agent/detection.hpp"
#include "agent/session_pump.hpp"
#include "dcos/accept_spread.hpp"
#include "dcos/agent.hpp"
#include "dcos/daemon_runtime.hpp"
#include "dcos/error.hpp"
#include "dcos/executor_actor.hpp"
#include "dcos/http_client.hpp"
#include "dcos/logging.hpp"
#include "dcos/signals.hpp"

namespace fs = std::filesystem;
using namespace dcos;

namespace {

// A port no one listens on now (0 if none could be found).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0)
    ::close(fd);
  return port;
}

// A free port for the actor protocol, kept across restarts (executors of
// the previous run find the agent there again).
uint16_t stable_actor_port(const std::string& work_dir, uint16_t wanted) {
  auto file = fs::path(work_dir) / "meta" / "actor_port";
  if (wanted == 0) {
    std::ifstream in{file};
    int port = 0;
    if (in >> port && port > 0 && port < 65536)
      return static_cast<uint16_t>(port);
    wanted = free_port();
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream{file} << wanted;
  return wanted;
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);

  daemon_runtime d{"dcos-agent", "dcos-agent --master=HOST:PORT [flags]",
                   "The libdcos agent daemon.", 5051};
  agent_config cfg;
  cfg.hostname = local_hostname();
  std::string master = "127.0.0.1:5050";
  std::string resources_text;
  std::string attributes_text;
  std::string region;
  std::string zone;
  std::string recover = "reconnect";
  uint16_t actor_port = 0;
  cfg.work_dir = "/var/lib/dcos-agent";
  linux_isolation_config isolation;
  std::string isolation_text = "posix/cpu,posix/mem";
  std::string allowed_capabilities;
  std::string networks_file;
  auto& f = d.flags();
  f.add(&master, "master", "HOST:PORT of the master's HTTP endpoint, or zk://HOSTS/PATH "
        "of the masters' election");
  f.add(&actor_port, "actor_port",
        "port executors connect to; 0 picks one and keeps it in work_dir");
  f.add(&cfg.hostname, "hostname", "hostname to advertise");
  f.add(&cfg.work_dir, "work_dir", "sandboxes and the checkpoint live here");
  f.add(&resources_text, "resources",
        "resources to offer (Mesos text or JSON); unnamed kinds are "
        "detected");
  f.add(&attributes_text, "attributes", "attributes, as rack:r1;zone:a");
  f.add(&region, "fault_domain_region", "fault domain region");
  f.add(&zone, "fault_domain_zone", "fault domain zone");
  f.add(&recover, "recover",
        "reconnect (to live executors) or cleanup (kill them and exit)");
  f.add(&cfg.registration_backoff, "registration_backoff",
        "first wait before retrying registration");
  f.add(&cfg.status_update_retry_min, "status_update_retry_min",
        "first wait before resending an unacknowledged status update");
  f.add(&cfg.status_update_retry_max, "status_update_retry_max",
        "longest wait between resends");
  f.add(&cfg.executor_registration_timeout, "executor_registration_timeout",
        "time an executor has to register");
  f.add(&cfg.executor_reregistration_timeout,
        "executor_reregistration_timeout",
        "time executors have to re-register after an agent restart");
  f.add(&cfg.executor_shutdown_grace_period, "executor_shutdown_grace_period",
        "time an executor has to end its tasks when shut down");
  f.add(&cfg.master_ping_timeout, "master_ping_timeout",
        "without a ping from the master for this long, look for it again");
  f.add(&cfg.executor_log_level, "executor_log_level",
        "log level of the executors, in their sandbox's stderr");
  f.add(&isolation_text, "isolation",
        "isolators, comma-separated: posix/cpu, posix/mem, cgroups/cpu, "
        "cgroups/mem, cgroups/pids, namespaces/pid, filesystem/linux, "
        "linux/seccomp, linux/capabilities, posix/rlimits, network/bridge");
  f.add(&isolation.image_store_dir, "image_store_dir",
        "local images: OCI layouts and docker-save tarballs");
  f.add(&isolation.image_backend, "image_provisioner_backend",
        "overlay or copy: how image layers become a root filesystem; "
        "default overlay where the kernel has overlayfs");
  f.add(&isolation.seccomp_config_dir, "seccomp_config_dir",
        "Docker-format seccomp profiles, one NAME.json each");
  f.add(&isolation.seccomp_profile, "seccomp_profile",
        "the profile containers get by default; empty: the built-in one");
  f.add(&allowed_capabilities, "allowed_capabilities",
        "capabilities tasks may ask for beyond the default set, e.g. "
        "NET_ADMIN,SYS_PTRACE");
  f.add(&networks_file, "networks",
        "a JSON file of virtual networks: [{\"name\":\"blue\","
        "\"subnet\":\"10.210.1.0/24\"}]");
  std::string container_dns;
  f.add(&container_dns, "default_container_dns",
        "DNS servers for containers' /etc/resolv.conf, as Mesos takes them "
        "(JSON, or a file of it as /path or file:///path): "
        "{\"mesos\":[{\"network_mode\":\"CNI\",\"network_name\":"
        "\"blue\",\"dns\":{\"nameservers\":[\"10.210.1.1\"]}}]}");
  f.add(&isolation.pids_limit, "container_pids_limit",
        "most processes one container may have (cgroups/pids)");
  f.add_custom("executor", "the dcos-executor program", "next to dcos-agent",
               [&cfg](std::string_view p) {
                 cfg.executor.assign(p);
                 return caf::error{};
               });
  d.parse_or_exit(argc, argv);
  cfg.ip = d.common().ip;
  cfg.port = d.common().port;
  auto fail = [&d](const std::string& message) {
    return d.usage_error(message);
  };
  if (spdlog::level::level_enum executor_level{};
      auto err = logging::parse_level(cfg.executor_log_level, executor_level))
    return fail("--executor_log_level: " + describe_reason(err));
  if (recover != "reconnect" && recover != "cleanup")
    return fail("--recover: must be reconnect or cleanup");
  cfg.reconnect = recover == "reconnect";
  auto master_location = parse_master_location(master);
  if (!master_location)
    return fail(describe_reason(master_location.error()));
  auto given = resources::parse(resources_text);
  if (!given)
    return fail("--resources: " + describe_reason(given.error()));
  auto attributes = kernel::parse_attributes(attributes_text);
  if (!attributes)
    return fail("--attributes: " + describe_reason(attributes.error()));
  cfg.attributes = std::move(*attributes);
  if (!region.empty() || !zone.empty()) {
    auto* fd = cfg.domain.mutable_fault_domain();
    fd->mutable_region()->set_name(region);
    fd->mutable_zone()->set_name(zone);
  }
  std::error_code ec;
  fs::create_directories(cfg.work_dir, ec);
  if (ec)
    return fail("--work_dir: " + ec.message());
  cfg.work_dir = fs::canonical(cfg.work_dir).string();
  cfg.total = kernel::detect_resources(*given, cfg.work_dir);
  if (cfg.executor == "dcos-executor")
    cfg.executor = sibling_program("dcos-executor");
  cfg.containerizer_helper = sibling_program("dcos-containerizer");
  cfg.fetcher = sibling_program("dcos-fetcher");
  isolation.isolators = split_list(isolation_text);
  isolation.allowed_capabilities = split_list(allowed_capabilities);
  if (!networks_file.empty()) {
    std::ifstream in{networks_file};
    if (!in)
      return fail("--networks: cannot read '" + networks_file + "'");
    isolation.networks.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (!container_dns.empty() && container_dns.front() != '{') {
    auto path = container_dns.rfind("file://", 0) == 0 ? container_dns.substr(7)
                                                       : container_dns;
    std::ifstream in{path};
    if (!in)
      return fail("--default_container_dns: cannot read '" + path + "'");
    container_dns.assign(std::istreambuf_iterator<char>(in), {});
  }
  isolation.container_dns = container_dns;
  isolation.runtime_dir = cfg.work_dir + "/containers";
  isolation.image_cache_dir = cfg.work_dir + "/images";
  isolation.network_state_dir = cfg.work_dir + "/networks";
  cfg.seed = std::random_device{}();
  cfg.start_time = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  const auto& log = d.log();

  caf::actor_system_config sys_cfg;
  d.configure(sys_cfg);
  log->debug("{}", enable_accept_spread());
  caf::actor_system sys{sys_cfg};
  cfg.store = spawn_file_store(sys, cfg.work_dir + "/meta");
  cfg.detector = spawn_detector(sys, *master_location);
  posix_containerizer_config ccfg{cfg.containerizer_helper, cfg.fetcher,
                                  cfg.work_dir + "/fetch_cache"};
  if (isolation.isolates()) {
    auto containerizer = spawn_linux_containerizer(sys, ccfg, isolation);
    if (!containerizer) {
      // One line naming what the host lacks; nothing was started.
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cfg.store),
                          caf::exit_reason::user_shutdown);
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cfg.detector),
                          caf::exit_reason::user_shutdown);
      cfg = agent_config{};
      return fail(describe_reason(containerizer.error()));
    }
    cfg.containerizer = *containerizer;
    cfg.isolation_env = isolation.to_env();
  } else {
    cfg.containerizer = spawn_posix_containerizer(sys, ccfg);
  }
  cfg.actor_port = stable_actor_port(cfg.work_dir, actor_port);
  // The agent advertises its HTTP port (its sandboxes are read there), so
  // --port=0 picks one before the agent starts, not when HTTP binds.
  if (cfg.port == 0)
    cfg.port = free_port();
  auto agent = spawn_agent(sys, cfg);
  // The actor system waits for detached actors (store, containerizer) to be
  // destroyed, so no handle to them may outlive it.
  auto cleanup = [&] {
    for (auto a : {caf::actor_cast<caf::actor>(cfg.store),
                   caf::actor_cast<caf::actor>(cfg.detector),
                   caf::actor_cast<caf::actor>(cfg.containerizer),
                   caf::actor_cast<caf::actor>(agent)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    cfg = agent_config{};
    agent = agent_actor{};
  };
  auto published = sys.middleman().publish(
    caf::actor_cast<agent_executor_actor>(agent), cfg.actor_port,
    cfg.ip.c_str(), true);
  if (!published) {
    cleanup();
    return d.startup_error(fmt::format("cannot open the actor port {}",
                                       cfg.actor_port),
                           published.error());
  }
  auto pump = kernel::session_pump::start();
  if (!pump) {
    cleanup();
    return d.startup_error("cannot start the debug sessions' pump",
                           pump.error());
  }
  std::shared_ptr<kernel::session_pump> sessions{std::move(*pump)};
  auto http = d.serve(kernel::agent_routes(
                        sys, caf::actor_cast<kernel::agent_edge_actor>(agent),
                        cfg.work_dir, d.flags().values(), sessions),
                      cfg.port);
  if (!http) {
    cleanup();
    return d.startup_error(fmt::format("cannot serve HTTP on {}:{}", cfg.ip,
                                       cfg.port),
                           http.error());
  }
  d.announce((*http)->port(),
             fmt::format("executors on port {}", cfg.actor_port));

  // Wait for a signal, or for the agent to end (refused, cleanup done).
  auto ended = std::make_shared<std::atomic<bool>>(false);
  caf::actor_cast<caf::abstract_actor*>(agent)->attach_functor(
    [ended](const caf::error&) { *ended = true; });
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1})
    sigaddset(&set, s);
  timespec tick{0, 100'000'000};
  bool shutting_down = false;
  while (!*ended) {
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGUSR1 && !shutting_down) {
      log->info("shutting down for good: killing executors");
      shutting_down = true;
      caf::anon_send(agent, shutdown_atom::value,
                     std::string{"the operator shut the agent down"});
    } else if (sig > 0 && shutting_down) {
      // Leaving now would orphan the executors still being killed.
      log->info("signal {} ignored: still killing executors", sig);
    } else if (sig > 0) {
      log->info("stopping on signal {}; executors keep running", sig);
      break;
    }
  }
  (*http)->stop();
  sessions->stop(); // while the server's handlers still hold it
  cleanup();
  return 0;
}
