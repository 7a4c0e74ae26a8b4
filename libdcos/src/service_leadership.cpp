#include <dcos/service_leadership.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <random>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/candidacy.hpp>
#include <dcos/election_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/logging.hpp>
#include <dcos/signals.hpp>

namespace dcos {

namespace {

zk_url below(zk_url url, const char* child) {
  url.path += child;
  return url;
}

// What the hooks share; they run in the candidacy's turns only.
struct leadership_context {
  service_leadership_config cfg;
  leader_proxy* proxy = nullptr;
  store_actor store; // the fenced state, once elected
  std::shared_ptr<spdlog::logger> log;

  ~leadership_context() {
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
};

// Nothing this process does may count once leadership is in doubt.
[[noreturn]] void exit_now(const leadership_context& ctx,
                           const std::string& why) {
  ctx.log->critical("{}; exiting (a supervisor restarts this {} as a "
                    "standby)",
                    why, ctx.cfg.service);
  ctx.log->flush();
  std::_Exit(1);
}

caf::actor lead(caf::event_based_actor* self,
                std::shared_ptr<leadership_context> ctx, int64_t member) {
  ctx->log->info("elected: this instance leads (member {})", member);
  // Until the state is loaded nobody serves: not the old leader either.
  ctx->proxy->follow("");
  ctx->store = spawn_zk_store(self->system(), below(ctx->cfg.zk, "/state"),
                              zk_member_path(below(ctx->cfg.zk, "/leader"),
                                             member),
                              ctx->cfg.session_timeout);
  return ctx->cfg.start(self->system(), ctx->store,
                        [ctx](caf::expected<http_handler> routes) {
                          // A service that could not load has ended, which
                          // ends the leadership: the candidacy says why.
                          if (!routes)
                            return;
                          ctx->proxy->lead(std::move(*routes));
                          ctx->log->info("serving as the leader");
                        });
}

} // namespace

caf::actor spawn_service_leadership(caf::actor_system& sys,
                                    service_leadership_config cfg,
                                    leader_proxy& proxy) {
  auto ctx = std::make_shared<leadership_context>();
  ctx->cfg = std::move(cfg);
  ctx->proxy = &proxy;
  ctx->log = logging::get(ctx->cfg.service);
  auto election_url = below(ctx->cfg.zk, "/leader");
  auto election = spawn_zk_election(sys, election_url,
                                    ctx->cfg.session_timeout);
  candidacy_hooks hooks;
  hooks.elected = [ctx](caf::event_based_actor* self, int64_t member) {
    return lead(self, ctx, member);
  };
  hooks.standby = [ctx](caf::event_based_actor*, const std::string& leader) {
    ctx->log->info("standing by; the leader is {}",
                   leader.empty() ? "unknown" : leader);
    ctx->proxy->follow(leader);
  };
  hooks.lost = [ctx](caf::event_based_actor*, const std::string& why) {
    exit_now(*ctx, why);
  };
  ctx->log->info("contending for leadership at {}", election_url.to_string());
  return spawn_candidacy(sys, std::move(election), ctx->proxy->self_address(),
                         std::move(hooks));
}

namespace {

// Starts the service alone on `store` and blocks until it has loaded its
// state; `on_failure` runs if it later ends other than by user_shutdown.
caf::expected<caf::actor> run_service_alone(caf::actor_system& sys,
                                            const service_start& start,
                                            store_actor store,
                                            leader_proxy& proxy,
                                            std::function<void()> on_failure) {
  std::promise<caf::expected<http_handler>> loaded;
  auto service = start(sys, std::move(store),
                       [&loaded](caf::expected<http_handler> routes) {
                         loaded.set_value(std::move(routes));
                       });
  service->attach_functor([on_failure](const caf::error& reason) {
    if (reason != caf::exit_reason::user_shutdown)
      on_failure();
  });
  auto routes = loaded.get_future().get();
  if (!routes)
    return routes.error();
  proxy.lead(std::move(*routes));
  return service;
}

} // namespace

void service_state_flags::add_to(flags& f, const std::string& title,
                                 const std::string& contents) {
  f.add(&work_dir, "work_dir",
        fmt::format("directory for {}'s state ({}); required unless --zk "
                    "is given",
                    title, contents));
  add_zk_flag(f, "zk",
              fmt::format("zk://HOST:PORT,.../PATH: keep the state in "
                          "ZooKeeper and elect the leader among several "
                          "{}s there",
                          title),
              &zk);
  f.add(&zk_session_timeout_ms, "zk_session_timeout",
        fmt::format("ZooKeeper session timeout in milliseconds, as {}'s; a "
                    "leader cut off for this long steps down",
                    title));
}

framework_flags::framework_flags(double default_failover_timeout_s)
  : failover_timeout_s(default_failover_timeout_s),
    seed(std::random_device{}()) {
}

void framework_flags::add_to(flags& f, const std::string& title) {
  f.add(&master, "master",
        "HOST:PORT of the master, or zk://HOSTS/PATH of the masters");
  f.add(&failover_timeout_s, "failover_timeout",
        fmt::format("seconds the master keeps {0}'s tasks while no {0} is "
                    "connected",
                    title));
  f.add(&seed, "seed", fmt::format("seed of the ids {} makes", title));
}

std::optional<std::string> framework_flags::check() {
  if (failover_timeout_s < 0)
    return "--failover_timeout: must not be negative";
  auto parsed = parse_master_location(master);
  if (!parsed)
    return describe_reason(parsed.error());
  where = std::move(*parsed);
  return std::nullopt;
}

std::optional<std::string> service_state_flags::check() const {
  if (work_dir.empty() && !zk)
    return "--work_dir: required unless --zk is given";
  if (!work_dir.empty() && zk)
    return "--work_dir: not with --zk (the state is in ZooKeeper)";
  if (zk_session_timeout_ms == 0)
    return "--zk_session_timeout: must be positive";
  return std::nullopt;
}

int run_service_daemon(daemon_runtime& d, caf::actor_system& sys,
                       leader_proxy& proxy, service_daemon_config cfg) {
  static std::atomic<bool> failed{false};
  caf::actor leadership;
  caf::actor service;
  if (cfg.state.zk) {
    service_leadership_config lcfg;
    lcfg.service = cfg.service;
    lcfg.zk = *cfg.state.zk;
    lcfg.session_timeout
      = std::chrono::milliseconds(cfg.state.zk_session_timeout_ms);
    lcfg.start = cfg.start;
    leadership = spawn_service_leadership(sys, std::move(lcfg), proxy);
  } else {
    auto alone = run_service_alone(sys, cfg.start,
                                   spawn_file_store(sys, cfg.state.work_dir), proxy,
                                   [] {
                                     failed = true;
                                     ::kill(::getpid(), SIGTERM);
                                   });
    if (!alone)
      return d.startup_error(fmt::format("cannot load {}'s state", cfg.title),
                             alone.error());
    service = *alone;
  }
  auto http = d.serve(proxy.routes(), cfg.port);
  if (!http)
    return d.startup_error("cannot serve HTTP", http.error());
  if (cfg.state.zk)
    d.announce((*http)->port(),
               fmt::format("contending at {}", cfg.state.zk->to_string()));
  else
    d.announce((*http)->port());
  auto sig = wait_for_termination_signal();
  if (failed)
    d.log()->critical("{} stopped; see the messages above", cfg.title);
  else
    d.log()->info("stopping on signal {}", sig);
  (*http)->stop();
  if (leadership)
    caf::anon_send_exit(leadership, caf::exit_reason::user_shutdown);
  if (service)
    caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
  return failed ? 1 : 0;
}

} // namespace dcos
