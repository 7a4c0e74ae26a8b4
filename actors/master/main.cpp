// dcos-master: the master daemon.
//
//   dcos-master [--ip=127.0.0.1] [--port=5050] [--work_dir=DIR] ...
//
// Serves HTTP on --port (operators and detectors only ever need that port)
// and the actor protocol on --actor_port, announced at
// GET /master/actor_endpoint. Runs in the foreground until SIGTERM/SIGINT.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "daemon/accept_spread.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/role.hpp"
#include "dcos/signals.hpp"
#include "dcos/type_bridge.hpp"
#include "master_http.hpp"

using namespace dcos;

namespace {

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0)
    return "localhost";
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  master_config cfg;
  cfg.hostname = local_hostname();
  uint16_t actor_port = 0;
  std::string work_dir;
  std::string log_level = "info";
  uint32_t http_threads = 2;
  uint64_t seed = std::random_device{}();
  flags f{"dcos-master [flags]", "The libdcos master daemon."};
  f.add(&cfg.ip, "ip", "IP address to listen on (HTTP and actors)");
  f.add(&cfg.port, "port", "HTTP port; 0 picks a free one");
  f.add(&actor_port, "actor_port",
        "port of the actor protocol; 0 picks a free one (announced at "
        "/master/actor_endpoint)");
  f.add(&cfg.hostname, "hostname", "hostname to advertise");
  f.add(&work_dir, "work_dir",
        "directory for the registry; empty keeps it in memory only");
  f.add(&cfg.allocation_interval, "allocation_interval",
        "period of the full allocation pass");
  f.add(&cfg.agent_ping_timeout, "agent_ping_timeout",
        "time to wait for an agent's answer to a ping");
  f.add(&cfg.max_agent_ping_timeouts, "max_agent_ping_timeouts",
        "missed pings after which an agent is unreachable");
  f.add(&cfg.agent_reregister_timeout, "agent_reregister_timeout",
        "after a restart, how long admitted agents have to re-register");
  f.add(&cfg.framework_heartbeat_interval, "framework_heartbeat_interval",
        "period of heartbeats to schedulers");
  f.add(&cfg.max_completed_frameworks, "max_completed_frameworks",
        "completed frameworks kept for the state endpoints");
  f.add(&cfg.max_completed_tasks_per_framework,
        "max_completed_tasks_per_framework",
        "completed tasks kept per framework");
  f.add_custom("weights", "role weights, as role1=2,role2=0.5", "",
               [&cfg](std::string_view text) -> caf::error {
                 for (const auto& item : split_list(text)) {
                   auto eq = item.find('=');
                   double weight = 0;
                   if (eq == std::string::npos
                       || parse_flag_value(item.substr(eq + 1), weight)
                       || weight <= 0)
                     return make_error(errc::invalid_argument,
                                       fmt::format("'{}' is not role=weight "
                                                   "with a positive weight",
                                                   item));
                   auto role = item.substr(0, eq);
                   if (auto err = validate_role(role))
                     return err;
                   cfg.weights.emplace_back(role, weight);
                 }
                 return {};
               });
  f.add_custom("roles", "if set, the only roles frameworks may use "
                        "(comma-separated)",
               "", [&cfg](std::string_view text) -> caf::error {
                 for (const auto& role : split_list(text)) {
                   if (auto err = validate_role(role))
                     return err;
                   cfg.roles.push_back(role);
                 }
                 return {};
               });
  f.add(&log_level, "log_level", "trace, debug, info, warning or error");
  f.add(&http_threads, "http_threads", "threads serving HTTP");
  f.add(&seed, "seed", "seed for ids and the allocator's shuffle");
  parse_or_exit(f, argc, argv);
  spdlog::level::level_enum level{};
  if (auto err = logging::parse_level(log_level, level)) {
    std::fprintf(stderr, "dcos-master: --log_level: %s\n",
                 describe_reason(err).c_str());
    return 2;
  }
  logging::init(level);
  auto log = logging::get("dcos-master");
  cfg.seed = seed;
  cfg.start_time = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  cfg.flags = {{"ip", cfg.ip},
               {"port", std::to_string(cfg.port)},
               {"work_dir", work_dir},
               {"allocation_interval",
                flag_value_text(cfg.allocation_interval)},
               {"agent_ping_timeout", flag_value_text(cfg.agent_ping_timeout)},
               {"max_agent_ping_timeouts",
                std::to_string(cfg.max_agent_ping_timeouts)}};

  caf::actor_system_config sys_cfg;
  register_types(sys_cfg);
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
  log->debug("{}", daemon::enable_accept_spread());
  caf::actor_system sys{sys_cfg};
  kernel::master_http_config http_cfg;
  http_cfg.ip = cfg.ip;
  http_cfg.port = cfg.port;
  http_cfg.threads = http_threads;
  http_cfg.flags = cfg.flags;
  auto http = kernel::master_http::start(sys, http_cfg);
  if (!http) {
    log->critical("cannot serve HTTP on {}:{}: {}", cfg.ip, cfg.port,
                  describe(http.error()));
    return 1;
  }
  cfg.port = (*http)->port(); // the real one, also with --port=0
  if (!work_dir.empty())
    cfg.store = spawn_file_store(sys, work_dir + "/registry");
  auto master = spawn_master(sys, cfg);
  auto published = sys.middleman().publish(master, actor_port, cfg.ip.c_str(),
                                           true);
  if (!published) {
    log->critical("cannot open the actor port {} on {}: {}", actor_port,
                  cfg.ip, sys.render(published.error()));
    caf::anon_send_exit(master, caf::exit_reason::user_shutdown);
    return 1;
  }
  (*http)->attach(master, *published);
  // The one line tools wait for.
  std::printf("dcos-master listening on http://%s:%u (actors on port %u)\n",
              cfg.ip.c_str(), (*http)->port(), *published);
  std::fflush(stdout);
  int sig = wait_for_termination_signal();
  log->info("stopping on signal {}", sig);
  (*http)->stop();
  caf::anon_send_exit(master, caf::exit_reason::user_shutdown);
  if (cfg.store)
    caf::anon_send_exit(cfg.store, caf::exit_reason::user_shutdown);
  // The actor system waits for the detached store to be destroyed.
  cfg.store = store_actor{};
  return 0;
}
