// dcos-service: runs a stateful service from its YAML spec (svc.yml;
// dcos/service_spec.hpp) with the SDK's scheduler, as a dcos-commons
// scheduler runs one: its plans, pods, volumes and HTTP API.
//
//   dcos-service --spec=svc.yml --master=127.0.0.1:5050 --port=10000
//                (--work_dir=/var/lib/redis | --zk=zk://HOST:2181/redis)
//
// The spec is rendered with this process's environment first, as
// dcos-commons renders svc.yml (`count: {{NODE_COUNT}}`), and its config
// templates are read relative to its file. A spec that does not render or
// parse is refused before anything starts: the message names the YAML path
// and line, and the exit code is 2.
//
// The tasks find the API at SCHEDULER_API_HOSTNAME (--hostname, by default
// --ip) and SCHEDULER_API_PORT (--port, required).
//
// With --work_dir, the scheduler keeps the spec it runs, the plans'
// progress and the pods' reservations in a store there, so that a
// restarted scheduler fails over to its framework and resumes its plans.
// With --zk, several schedulers share that state in ZooKeeper and elect the
// one that runs; the others forward requests to it. Runs until
// SIGTERM/SIGINT; exits 1 if the master refuses it, its state cannot be
// read, or (with --zk) it loses leadership.
#include <unistd.h>

#include <map>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/http_router.hpp>
#include <dcos/leader_proxy.hpp>
#include <dcos/service_http.hpp>
#include <dcos/service_leadership.hpp>
#include <dcos/service_scheduler_actor.hpp>
#include <dcos/service_spec.hpp>
#include <dcos/signals.hpp>
#include <dcos/store_actor.hpp>

extern char** environ;

using namespace dcos;

namespace {

// The process's environment, to render the spec with.
std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string var{*e};
    auto eq = var.find('=');
    if (eq != std::string::npos)
      env.emplace(var.substr(0, eq), var.substr(eq + 1));
  }
  return env;
}

// Standbys (--zk) forward to the leader and say so in these headers.
leader_proxy_dialect service_proxy_dialect(const std::string& name) {
  leader_proxy_dialect d;
  d.service = name;
  d.leader_header = "X-Service-Leader";
  d.leader_prefix = "http://";
  d.via_header = "X-Service-Via";
  d.via_prefix = "1.1 ";
  d.loop_message = "the request came through this scheduler already";
  d.no_leader_message = "no scheduler leads yet";
  return d;
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-service",
                   "dcos-service --spec=svc.yml --port=PORT [flags]",
                   "Runs a stateful service from its YAML spec: its plans, "
                   "pods, volumes and HTTP API.",
                   0};
  std::string spec_path;
  framework_flags fw{1209600}; // two weeks, as dcos-commons
  std::string hostname; // --ip's, unless that is every address
  auto& f = d.flags();
  f.add(&spec_path, "spec",
        "the service's YAML spec (svc.yml), rendered with the environment");
  fw.add_to(f, "dcos-service");
  service_daemon_config run;
  run.state.add_to(f, "scheduler", "spec, plans, pods, framework id");
  f.add(&hostname, "hostname",
        "hostname to advertise (SCHEDULER_API_HOSTNAME for the tasks); "
        "default: --ip, or this machine's name when --ip is 0.0.0.0");
  d.parse_or_exit(argc, argv);
  if (spec_path.empty())
    return d.usage_error("--spec: required (the service's svc.yml)");
  // The tasks are told where the API is before it listens: a port the
  // kernel picks would come too late.
  if (d.common().port == 0)
    return d.usage_error("--port: required (the tasks reach the scheduler's "
                         "API there)");
  if (hostname.empty())
    hostname = d.common().ip == "0.0.0.0" ? local_hostname() : d.common().ip;
  if (auto bad = run.state.check())
    return d.usage_error(*bad);
  if (auto bad = fw.check())
    return d.usage_error(*bad);
  auto spec = load_service_spec(spec_path, environment());
  if (!spec)
    return d.usage_error(
      fmt::format("--spec: {}: {}", spec_path, describe_reason(spec.error())));

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};

  auto port = d.common().port;
  service_config scfg;
  scfg.spec = *spec;
  scfg.detector = spawn_detector(sys, fw.where);
  scfg.seed = fw.seed;
  scfg.failover_timeout_s = fw.failover_timeout_s;
  scfg.api_hostname = hostname;
  scfg.api_port = port;
  leader_proxy proxy{fmt::format("{}:{}", hostname, port),
                     service_proxy_dialect(spec->name())};
  service_start start = [scfg](caf::actor_system& sys, store_actor store,
                               service_ready ready) {
    auto cfg = scfg;
    cfg.store = std::move(store);
    auto service = spawn_service_scheduler(sys, cfg);
    when_loaded(sys, service,
                [&sys, service, spec = cfg.spec, ready](const caf::error& err) {
                  if (err)
                    return ready(err);
                  http_router routes;
                  add_service_routes(routes, sys, service, spec);
                  ready(std::move(routes).handler());
                });
    return caf::actor_cast<caf::actor>(service);
  };
  run.title = spec->name();
  run.service = spec->name();
  run.port = port;
  run.start = start;
  auto code = run_service_daemon(d, sys, proxy, std::move(run));
  caf::anon_send_exit(scfg.detector, caf::exit_reason::user_shutdown);
  return code;
}
