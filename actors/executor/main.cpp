// dcos-executor: the command executor and the default executor. Started by
// the agent inside a container, configured through the environment the agent
// writes (dcos/executor_environment.hpp: DCOS_AGENT_ENDPOINT, DCOS_*_ID,
// DCOS_EXECUTOR_MODE, DCOS_EXECUTOR_LOG_LEVEL, ...) and, when the agent
// isolates containers, linux_isolation_config's variables. It logs to the
// sandbox's stderr.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "dcos/actor_system_setup.hpp"
#include "dcos/error.hpp"
#include "dcos/executor.hpp"
#include "dcos/executor_environment.hpp"
#include "dcos/flags.hpp"
#include "dcos/http_client.hpp"
#include "dcos/logging.hpp"
#include "dcos/signals.hpp"
#include "dcos/type_bridge.hpp"

using namespace dcos;

namespace {

// Connects to the agent over the network, without blocking (each detect
// answers once a connection exists, or with an error).
agent_locator::behavior_type network_locator(agent_locator::pointer self,
                                             std::string host, uint16_t port) {
  return {
    [self, host, port](detect_atom) -> caf::result<agent_executor_actor> {
      auto rp = self->make_response_promise<agent_executor_actor>();
      auto mm = self->system().middleman().actor_handle();
      self->request(mm, std::chrono::seconds(5), caf::connect_atom::value,
                    host, port)
        .then(
          [self, rp](const caf::node_id&, caf::strong_actor_ptr& ptr,
                     const std::set<std::string>& ifs) mutable {
            auto expected = self->system().message_types(
              caf::detail::type_list<agent_executor_actor>{});
            if (!ptr || ifs != expected) {
              rp.deliver(make_error(errc::unavailable,
                                    "the peer is not a libdcos agent"));
              return;
            }
            rp.deliver(caf::actor_cast<agent_executor_actor>(std::move(ptr)));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace

int main() {
  block_termination_signals();
  // SIGUSR1 tells the main thread the executor actor ended (see below);
  // blocked before any thread starts, so only sigwaitinfo takes it.
  sigset_t ended;
  sigemptyset(&ended);
  sigaddset(&ended, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &ended, nullptr);
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "dcos-executor: %s\n", message.c_str());
    return 2;
  };
  auto env = executor_environment::from_process_env();
  if (!env)
    return fail(describe_reason(env.error()));
  spdlog::level::level_enum level{};
  logging::parse_level(env->log_level, level); // from_env checked it
  logging::init(level);
  auto endpoint = parse_host_port(env->agent_endpoint, 0);
  if (!endpoint || endpoint->second == 0)
    return fail("DCOS_AGENT_ENDPOINT: '" + env->agent_endpoint
                + "' is not host:port");
  if (env->program == executor_program::custom)
    return fail("DCOS_EXECUTOR_MODE: missing (command or default)");
  executor_config cfg;
  cfg.framework_id = env->framework_id;
  cfg.executor_id = env->executor_id;
  cfg.container_id = env->container_id;
  cfg.sandbox = env->sandbox.empty() ? "." : env->sandbox;
  cfg.command_mode = env->program == executor_program::command_executor;
  cfg.recovery_timeout = env->recovery_timeout;
  cfg.seed = std::random_device{}();
  cfg.start_time = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  caf::actor_system_config sys_cfg;
  // One worker is plenty for an executor, and keeps its footprint small: an
  // agent runs a thousand of them.
  configure_actor_system(sys_cfg, 1);
  caf::actor_system sys{sys_cfg};
  posix_containerizer_config ccfg;
  ccfg.helper = env->containerizer.empty() ? "dcos-containerizer"
                                           : env->containerizer;
  ccfg.fetcher = env->fetcher.empty() ? "dcos-fetcher" : env->fetcher;
  ccfg.fetch_cache_dir = env->fetch_cache;
  // The agent passes its isolation on: tasks are isolated as it would.
  auto isolation = linux_isolation_config::from_env();
  if (!isolation)
    return fail(describe_reason(isolation.error()));
  if (isolation->isolates()) {
    auto containerizer = spawn_linux_containerizer(sys, ccfg, *isolation);
    if (!containerizer)
      return fail(describe_reason(containerizer.error()));
    cfg.containerizer = *containerizer;
  } else {
    cfg.containerizer = spawn_posix_containerizer(sys, ccfg);
  }
  cfg.locator = sys.spawn(network_locator, endpoint->first, endpoint->second);
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto executor = spawn_executor(sys, cfg);
  // The main thread sleeps in sigwaitinfo until a signal comes: no polling
  // tick, which a thousand executors on one agent would all pay.
  caf::actor_cast<caf::abstract_actor*>(executor)->attach_functor(
    [done, failed](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::normal)
        *failed = true;
      *done = true;
      ::kill(::getpid(), SIGUSR1);
    });
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  bool asked = false;
  while (!*done) {
    int sig = sigwaitinfo(&set, nullptr);
    if (sig > 0 && sig != SIGUSR1 && !asked) {
      asked = true; // SIGTERM: end the tasks gracefully, then ourselves
      caf::anon_send(executor, shutdown_atom::value,
                     std::string{"the executor got SIGTERM"});
    }
  }
  caf::anon_send_exit(cfg.containerizer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(cfg.locator, caf::exit_reason::user_shutdown);
  // The actor system waits for detached actors to be destroyed: no handle
  // to them may outlive it.
  cfg = executor_config{};
  executor = executor_actor{};
  return *failed ? 1 : 0;
}
