// dcos-marathon: Marathon, the cluster's init system, as a libdcos
// framework.
//
//   dcos-marathon --master=127.0.0.1:5050 [--http_port=8080]
//                 [--work_dir=/var/lib/marathon] ...
//
// Keeps its apps, tasks, deployments and framework id in a store under
// --work_dir, so that a restarted Marathon fails over to its framework and
// resumes where it stopped. Runs until SIGTERM/SIGINT; exits 1 if the
// master refuses it or its state cannot be read.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/signals.hpp>
#include <dcos/store_actor.hpp>
#include <dcos/version.hpp>

#include "marathon_actor.hpp"
#include "marathon_http.hpp"

using namespace dcos;
using namespace dcos::marathon;

namespace {

// Asks for the apps until Marathon no longer answers that it is loading.
caf::error wait_until_loaded(caf::actor_system& sys,
                             const dcos::marathon::marathon_actor& marathon) {
  caf::scoped_actor self{sys};
  for (;;) {
    caf::error failure;
    bool loading = false;
    self
      ->request(marathon, std::chrono::seconds(30), dcos::get_atom::value,
                dcos::marathon::apps_atom::value)
      .receive([](const std::vector<dcos::marathon::App>&) {},
               [&](caf::error& err) {
                 loading = dcos::code_of(err) == dcos::errc::unavailable;
                 if (!loading)
                   failure = std::move(err);
               });
    if (!loading)
      return failure;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-marathon", "dcos-marathon [flags]",
                   "Marathon: runs long-lived apps on the cluster and keeps "
                   "them running.",
                   8080};
  std::string master = "127.0.0.1:5050";
  std::string work_dir;
  std::string framework_name = "marathon";
  std::string role = "*";
  std::string user = "root";
  std::string hostname = local_hostname();
  double failover_timeout = 604800; // one week, as Marathon
  uint64_t seed = std::random_device{}();
  uint16_t http_port = 0;
  auto& f = d.flags();
  f.add(&http_port, "http_port", "Marathon's name for --port");
  f.add(&master, "master",
        "HOST:PORT of the master, or zk://HOSTS/PATH of the masters");
  f.add(&work_dir, "work_dir",
        "directory for Marathon's state (apps, tasks, deployments, framework "
        "id); required");
  f.add(&framework_name, "framework_name", "the framework's name");
  f.add(&role, "mesos_role", "the role Marathon's tasks run in");
  f.add(&user, "mesos_user", "the user Marathon's tasks run as");
  f.add(&hostname, "hostname", "hostname to advertise");
  f.add(&failover_timeout, "failover_timeout",
        "seconds the master keeps Marathon's tasks while no Marathon is "
        "connected");
  f.add(&seed, "seed", "seed of the ids Marathon makes");
  d.parse_or_exit(argc, argv);
  if (work_dir.empty())
    return d.usage_error("--work_dir: required");
  if (failover_timeout < 0)
    return d.usage_error("--failover_timeout: must not be negative");
  auto where = parse_master_location(master);
  if (!where)
    return d.usage_error(describe_reason(where.error()));

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};

  marathon_config mcfg;
  mcfg.framework.set_name(framework_name);
  mcfg.framework.set_user(user);
  mcfg.framework.add_roles(role);
  mcfg.framework.set_hostname(hostname);
  mcfg.framework.set_failover_timeout(failover_timeout);
  for (auto capability : {v1::FrameworkInfo::Capability::PARTITION_AWARE,
                          v1::FrameworkInfo::Capability::MULTI_ROLE})
    mcfg.framework.add_capabilities()->set_type(capability);
  mcfg.detector = spawn_detector(sys, *where);
  mcfg.store = spawn_file_store(sys, work_dir);
  mcfg.seed = seed;
  mcfg.prober = spawn_http_prober(sys);
  mcfg.start_time = std::chrono::duration<double>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  auto marathon = spawn_marathon(sys, mcfg);
  // A Marathon that ends on its own (the master refused it, its state is
  // unreadable) ends the daemon, so that a supervisor sees it.
  static std::atomic<bool> failed{false};
  caf::actor_cast<caf::abstract_actor*>(marathon)->attach_functor(
    [](const caf::error& reason) {
      if (reason != caf::exit_reason::user_shutdown) {
        failed = true;
        ::kill(::getpid(), SIGTERM);
      }
    });

  // Serve once the state is loaded, so that the first request (a script
  // that posts an app as soon as `dcos up` says ready) finds it.
  if (auto err = wait_until_loaded(sys, marathon))
    return d.startup_error("cannot load Marathon's state", err);

  marathon_http_info info;
  info.name = framework_name;
  info.master = master;
  info.version = dcos::version;
  auto port = http_port ? http_port : d.common().port;
  info.leader = fmt::format("{}:{}", hostname, port);
  auto http = d.serve(marathon_routes(sys, marathon, info), port);
  if (!http)
    return d.startup_error("cannot serve HTTP", http.error());
  d.announce((*http)->port());
  auto sig = wait_for_termination_signal();
  if (failed)
    d.log()->critical("Marathon stopped; see the messages above");
  else
    d.log()->info("stopping on signal {}", sig);
  (*http)->stop();
  caf::anon_send_exit(marathon, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mcfg.detector, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mcfg.prober, caf::exit_reason::user_shutdown);
  return failed ? 1 : 0;
}
