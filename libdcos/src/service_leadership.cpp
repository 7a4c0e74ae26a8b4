#include <dcos/service_leadership.hpp>

#include <cstdlib>
#include <future>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/candidacy.hpp>
#include <dcos/election_actor.hpp>
#include <dcos/logging.hpp>

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

} // namespace dcos
