// dcos-master: the master daemon.
//
//   dcos-master [--ip=127.0.0.1] [--port=5050] [--work_dir=DIR] ...
//   dcos-master --zk=zk://HOST:2181,.../mesos ...   (one of several masters)
//
// Serves HTTP on --port (operators and detectors only ever need that port)
// and the actor protocol on --actor_port, announced at
// GET /master/actor_endpoint. Runs in the foreground until SIGTERM/SIGINT.
// With --zk the master contends for leadership (leadership.hpp) and keeps
// its registry in ZooKeeper; standbys redirect to the leader.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "dcos/accept_spread.hpp"
#include "dcos/daemon_runtime.hpp"
#include "dcos/error.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/role.hpp"
#include "dcos/signals.hpp"
#include "dcos/zk_url.hpp"
#include "leadership.hpp"
#include "master_http.hpp"

using namespace dcos;

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-master", "dcos-master [flags]",
                   "The libdcos master daemon.", 5050};
  master_config cfg;
  cfg.hostname = local_hostname();
  uint16_t actor_port = 0;
  std::string work_dir;
  uint64_t seed = std::random_device{}();
  auto& f = d.flags();
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
  f.add(&cfg.max_operator_event_stream_subscribers,
        "max_operator_event_stream_subscribers",
        "operator event stream followers at once; beyond it the oldest is "
        "closed");
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
  f.add(&seed, "seed", "seed for ids and the allocator's shuffle");
  std::optional<zk_url> zk;
  add_zk_flag(f, "zk",
              "zk://HOST:PORT,.../PATH: contend for leadership among "
              "several masters there, with the registry in ZooKeeper",
              &zk);
  caf::timespan zk_session_timeout = default_zk_session_timeout;
  f.add(&zk_session_timeout, "zk_session_timeout",
        "ZooKeeper session timeout; a leader cut off for this long steps "
        "down");
  d.parse_or_exit(argc, argv);
  if (zk && !work_dir.empty())
    return d.usage_error("--work_dir: not with --zk (the registry is in "
                         "ZooKeeper)");
  cfg.ip = d.common().ip;
  cfg.seed = seed;
  cfg.start_time = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  cfg.flags = f.values();

  caf::actor_system_config sys_cfg;
  d.configure(sys_cfg);
  d.log()->debug("{}", enable_accept_spread());
  caf::actor_system sys{sys_cfg};
  kernel::master_http edge{sys, {cfg.ip, cfg.flags}};
  auto http = d.serve(edge.routes());
  if (!http)
    return d.startup_error(fmt::format("cannot serve HTTP on {}:{}", cfg.ip,
                                       d.common().port),
                           http.error());
  cfg.port = (*http)->port(); // the real one, also with --port=0
  if (zk) {
    auto leadership = spawn_leadership(
      sys, {cfg, *zk, zk_session_timeout, actor_port}, edge);
    d.announce(cfg.port, fmt::format("contending at {}", zk->to_string()));
    d.log()->info("stopping on signal {}", wait_for_termination_signal());
    (*http)->stop();
    caf::anon_send_exit(leadership, caf::exit_reason::user_shutdown);
    return 0;
  }
  if (!work_dir.empty())
    cfg.store = spawn_file_store(sys, work_dir + "/registry");
  auto master = spawn_master(sys, cfg);
  auto published = sys.middleman().publish(master, actor_port, cfg.ip.c_str(),
                                           true);
  if (!published) {
    caf::anon_send_exit(master, caf::exit_reason::user_shutdown);
    if (cfg.store)
      caf::anon_send_exit(cfg.store, caf::exit_reason::user_shutdown);
    cfg.store = store_actor{};
    return d.startup_error(fmt::format("cannot open the actor port {} on {}",
                                       actor_port, cfg.ip),
                           published.error());
  }
  edge.attach(master, *published, fmt::format("{}:{}", cfg.ip, cfg.port));
  d.announce(cfg.port, fmt::format("actors on port {}", *published));
  d.log()->info("stopping on signal {}", wait_for_termination_signal());
  (*http)->stop();
  caf::anon_send_exit(master, caf::exit_reason::user_shutdown);
  if (cfg.store)
    caf::anon_send_exit(cfg.store, caf::exit_reason::user_shutdown);
  // The actor system waits for the detached store to be destroyed.
  cfg.store = store_actor{};
  return 0;
}
