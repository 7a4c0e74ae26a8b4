// dcos-executor: the command executor and the default executor. Started by
// the agent inside a container, configured through the environment:
//   DCOS_AGENT_ENDPOINT  host:port of the agent's actor protocol
//   DCOS_FRAMEWORK_ID, DCOS_EXECUTOR_ID, DCOS_CONTAINER_ID, DCOS_SANDBOX
//   DCOS_EXECUTOR_MODE   command | default
//   DCOS_CONTAINERIZER, DCOS_FETCHER, DCOS_FETCH_CACHE  to run tasks
//   DCOS_RECOVERY_TIMEOUT  how long to wait for a restarted agent (15mins)
// It logs to the sandbox's stderr (warnings by default; set
// DCOS_EXECUTOR_LOG_LEVEL for more).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "dcos/error.hpp"
#include "dcos/executor.hpp"
#include "dcos/flags.hpp"
#include "dcos/http_client.hpp"
#include "dcos/logging.hpp"
#include "dcos/signals.hpp"
#include "dcos/type_bridge.hpp"

using namespace dcos;

namespace {

std::string env(const char* name, const char* fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

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
  spdlog::level::level_enum level = spdlog::level::warn;
  if (auto text = env("DCOS_EXECUTOR_LOG_LEVEL"); !text.empty())
    logging::parse_level(text, level);
  logging::init(level);
  auto log = logging::get("executor");
  auto endpoint = parse_host_port(env("DCOS_AGENT_ENDPOINT"), 0);
  if (!endpoint || endpoint->second == 0) {
    std::fprintf(stderr, "dcos-executor: DCOS_AGENT_ENDPOINT must be "
                         "host:port\n");
    return 2;
  }
  executor_config cfg;
  cfg.framework_id = env("DCOS_FRAMEWORK_ID");
  cfg.executor_id = env("DCOS_EXECUTOR_ID");
  cfg.container_id = env("DCOS_CONTAINER_ID");
  cfg.sandbox = env("DCOS_SANDBOX", ".");
  cfg.command_mode = env("DCOS_EXECUTOR_MODE", "command") == "command";
  cfg.seed = std::random_device{}();
  cfg.start_time = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  if (auto text = env("DCOS_RECOVERY_TIMEOUT"); !text.empty()) {
    if (auto err = parse_flag_value(text, cfg.recovery_timeout)) {
      std::fprintf(stderr, "dcos-executor: DCOS_RECOVERY_TIMEOUT: %s\n",
                   describe_reason(err).c_str());
      return 2;
    }
  }
  if (cfg.framework_id.empty() || cfg.executor_id.empty()
      || cfg.container_id.empty()) {
    std::fprintf(stderr, "dcos-executor: DCOS_FRAMEWORK_ID, DCOS_EXECUTOR_ID "
                         "and DCOS_CONTAINER_ID must be set\n");
    return 2;
  }
  caf::actor_system_config sys_cfg;
  register_types(sys_cfg);
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("logger.verbosity", caf::atom("quiet"));
  // One worker is plenty for an executor, and keeps its footprint small.
  sys_cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{sys_cfg};
  posix_containerizer_config ccfg;
  ccfg.helper = env("DCOS_CONTAINERIZER", "dcos-containerizer");
  ccfg.fetcher = env("DCOS_FETCHER", "dcos-fetcher");
  ccfg.fetch_cache_dir = env("DCOS_FETCH_CACHE");
  // The agent passes its isolation on: tasks are isolated as it would.
  auto isolation = linux_isolation_config::from_env();
  if (!isolation) {
    std::fprintf(stderr, "dcos-executor: %s\n",
                 describe_reason(isolation.error()).c_str());
    return 2;
  }
  if (isolation->isolates()) {
    auto containerizer = spawn_linux_containerizer(sys, ccfg, *isolation);
    if (!containerizer) {
      std::fprintf(stderr, "dcos-executor: %s\n",
                   describe_reason(containerizer.error()).c_str());
      return 2;
    }
    cfg.containerizer = *containerizer;
  } else {
    cfg.containerizer = spawn_posix_containerizer(sys, ccfg);
  }
  cfg.locator = sys.spawn(network_locator, endpoint->first, endpoint->second);
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto failed = std::make_shared<std::atomic<bool>>(false);
  auto executor = spawn_executor(sys, cfg);
  caf::actor_cast<caf::abstract_actor*>(executor)->attach_functor(
    [done, failed](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::normal)
        *failed = true;
      *done = true;
    });
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  timespec tick{0, 50'000'000};
  bool asked = false;
  while (!*done) {
    if (sigtimedwait(&set, nullptr, &tick) > 0 && !asked) {
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
