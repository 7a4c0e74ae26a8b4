// dcos-metronome: Metronome, the cluster's job scheduler (one-off and cron
// jobs), as a libdcos framework.
//
//   dcos-metronome --master=127.0.0.1:5050 [--http_port=9000]
//                  (--work_dir=/var/lib/metronome |
//                   --zk=zk://HOST:2181/metronome)
//
// With --work_dir, one Metronome keeps its jobs, active runs, history, the
// last tick of each schedule and its framework id in a store there, so that
// a restarted Metronome fails over to its framework and runs every tick
// once. With --zk, several Metronomes share the state in ZooKeeper and elect
// the one that runs; the others forward requests to it
// (dcos/service_leadership.hpp). Runs until SIGTERM/SIGINT; exits 1 if the
// master refuses it, its state cannot be read, or (with --zk) it loses
// leadership.
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/leader_proxy.hpp>
#include <dcos/service_leadership.hpp>
#include <dcos/signals.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/version.hpp>

#include "cron_spec.hpp"
#include "metronome_actor.hpp"
#include "metronome_http.hpp"

using namespace dcos;
using namespace dcos::metronome;

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-metronome", "dcos-metronome [flags]",
                   "Metronome: runs jobs on the cluster, now or on cron "
                   "schedules, once per tick.",
                   9000};
  framework_flags fw{604800}; // one week, as Metronome
  std::string framework_name = "metronome";
  std::string role = "*";
  std::string user = "root";
  std::string hostname = local_hostname();
  uint64_t history_count = 1000;
  uint16_t http_port = 0;
  auto& f = d.flags();
  f.add(&http_port, "http_port", "Metronome's name for --port");
  fw.add_to(f, "Metronome");
  service_daemon_config run;
  run.state.add_to(f, "Metronome", "jobs, runs, history, framework id");
  f.add(&framework_name, "framework_name", "the framework's name");
  f.add(&role, "mesos_role", "the role the jobs' tasks run in");
  f.add(&user, "mesos_user", "the user the jobs' tasks run as by default");
  f.add(&hostname, "hostname", "hostname to advertise");
  f.add(&history_count, "history_count",
        "finished runs kept per job and outcome, as Metronome's "
        "METRONOME_HISTORY_COUNT");
  d.parse_or_exit(argc, argv);
  if (auto bad = run.state.check())
    return d.usage_error(*bad);
  if (auto bad = fw.check())
    return d.usage_error(*bad);
  if (history_count == 0)
    return d.usage_error("--history_count: must be positive");
  // Before any actor: no actor reads the time-zone files later.
  if (auto err = load_time_zones())
    return d.startup_error("cannot load the time zones", err);

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};

  metronome_config mcfg;
  mcfg.framework.set_name(framework_name);
  mcfg.framework.set_user(user);
  mcfg.framework.add_roles(role);
  mcfg.framework.set_hostname(hostname);
  mcfg.framework.set_failover_timeout(fw.failover_timeout_s);
  // Partition-aware, as Marathon (whose launch machinery Metronome shares):
  // a task on an agent cut off is TASK_UNREACHABLE, and waited for.
  for (auto capability : {v1::FrameworkInfo::Capability::PARTITION_AWARE,
                          v1::FrameworkInfo::Capability::MULTI_ROLE})
    mcfg.framework.add_capabilities()->set_type(capability);
  mcfg.detector = spawn_detector(sys, fw.where);
  mcfg.seed = fw.seed;
  mcfg.history_count = history_count;
  mcfg.start_time = std::chrono::duration<double>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();

  auto port = http_port ? http_port : d.common().port;
  metronome_http_info info;
  info.name = framework_name;
  info.master = fw.master;
  info.leader = fmt::format("{}:{}", hostname, port);
  info.version = dcos::version;
  info.history_count = history_count;
  leader_proxy proxy{info.leader, metronome_proxy_dialect()};
  proxy.serve_locally(metronome_standby_handler());
  service_start start = [mcfg, info](caf::actor_system& sys,
                                     store_actor store, service_ready ready) {
    auto cfg = mcfg;
    cfg.store = std::move(store);
    auto metronome = spawn_metronome(sys, cfg);
    when_loaded(sys, metronome,
                [&sys, metronome, info, ready](const caf::error& err) {
                  if (err)
                    return ready(err);
                  ready(metronome_routes(sys, metronome, info).handler());
                });
    return caf::actor_cast<caf::actor>(metronome);
  };
  run.title = "Metronome";
  run.service = "metronome";
  run.port = port;
  run.start = start;
  auto code = run_service_daemon(d, sys, proxy, std::move(run));
  caf::anon_send_exit(mcfg.detector, caf::exit_reason::user_shutdown);
  return code;
}
