// dcos-marathon: Marathon, the cluster's init system, as a libdcos
// framework.
//
//   dcos-marathon --master=127.0.0.1:5050 [--http_port=8080]
//                 (--work_dir=/var/lib/marathon | --zk=zk://HOST:2181/marathon)
//
// With --work_dir, one Marathon keeps its apps, tasks, deployments and
// framework id in a store there, so that a restarted Marathon fails over to
// its framework and resumes where it stopped. With --zk, several Marathons
// share the state in ZooKeeper and elect the one that runs; the others
// forward requests to it (dcos/service_leadership.hpp). Runs until
// SIGTERM/SIGINT or DELETE /v2/leader; exits 1 if the master refuses it,
// its state cannot be read, or (with --zk) it loses leadership.
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

#include "marathon_actor.hpp"
#include "marathon_http.hpp"

using namespace dcos;
using namespace dcos::marathon;

namespace {

// Stops this process as SIGTERM would, after `delay`, so that the answer
// that asked for it goes out first.
void shut_down_after(caf::actor_system& sys, caf::timespan delay) {
  sys.spawn([delay](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, delay, ok_atom::value);
    return {[self](ok_atom) {
      ::kill(::getpid(), SIGTERM);
      self->quit();
    }};
  });
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-marathon", "dcos-marathon [flags]",
                   "Marathon: runs long-lived apps on the cluster and keeps "
                   "them running.",
                   8080};
  framework_flags fw{604800}; // one week, as Marathon
  std::string framework_name = "marathon";
  std::string role = "*";
  std::string user = "root";
  std::string principal;
  std::string hostname = local_hostname();
  uint16_t http_port = 0;
  auto& f = d.flags();
  f.add(&http_port, "http_port", "Marathon's name for --port");
  fw.add_to(f, "Marathon");
  service_daemon_config run;
  run.state.add_to(f, "Marathon", "apps, tasks, deployments, framework id");
  f.add(&framework_name, "framework_name", "the framework's name");
  f.add(&role, "mesos_role", "the role Marathon's tasks run in");
  f.add(&user, "mesos_user", "the user Marathon's tasks run as");
  f.add(&principal, "mesos_authentication_principal",
        "the framework's principal, also that of its reservations and "
        "volumes (default: none; they are reserved as the framework's "
        "name)");
  f.add(&hostname, "hostname", "hostname to advertise");
  d.parse_or_exit(argc, argv);
  if (auto bad = run.state.check())
    return d.usage_error(*bad);
  if (auto bad = fw.check())
    return d.usage_error(*bad);

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};

  marathon_config mcfg;
  mcfg.framework.set_name(framework_name);
  mcfg.framework.set_user(user);
  if (!principal.empty())
    mcfg.framework.set_principal(principal);
  mcfg.framework.add_roles(role);
  mcfg.framework.set_hostname(hostname);
  mcfg.framework.set_failover_timeout(fw.failover_timeout_s);
  for (auto capability : {v1::FrameworkInfo::Capability::PARTITION_AWARE,
                          v1::FrameworkInfo::Capability::MULTI_ROLE})
    mcfg.framework.add_capabilities()->set_type(capability);
  mcfg.detector = spawn_detector(sys, fw.where);
  mcfg.seed = fw.seed;
  mcfg.prober = spawn_http_prober(sys);
  mcfg.start_time = std::chrono::duration<double>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();

  auto port = http_port ? http_port : d.common().port;
  marathon_http_info info;
  info.name = framework_name;
  info.master = fw.master;
  info.version = dcos::version;
  info.leader = fmt::format("{}:{}", hostname, port);
  if (run.state.zk)
    info.zk = run.state.zk->to_string();
  info.abdicate = [&sys, &d] {
    d.log()->warn("abdicating: this Marathon stops, another one leads");
    shut_down_after(sys, std::chrono::milliseconds(200));
  };
  leader_proxy proxy{info.leader, marathon_proxy_dialect()};
  service_start start = [mcfg, info](caf::actor_system& sys,
                                     store_actor store, service_ready ready) {
    auto cfg = mcfg;
    cfg.store = std::move(store);
    auto marathon = spawn_marathon(sys, cfg);
    when_loaded(sys, marathon,
                [&sys, marathon, info, ready](const caf::error& err) {
                  if (err)
                    return ready(err);
                  ready(marathon_routes(sys, marathon, info).handler());
                });
    return caf::actor_cast<caf::actor>(marathon);
  };
  run.title = "Marathon";
  run.service = "marathon";
  run.port = port;
  run.start = start;
  auto code = run_service_daemon(d, sys, proxy, std::move(run));
  caf::anon_send_exit(mcfg.detector, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mcfg.prober, caf::exit_reason::user_shutdown);
  return code;
}
