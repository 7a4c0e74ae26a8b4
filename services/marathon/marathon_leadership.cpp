#include "marathon_leadership.hpp"

#include <cstdlib>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/candidacy.hpp>
#include <dcos/election_actor.hpp>
#include <dcos/logging.hpp>
#include <dcos/store_actor.hpp>

namespace dcos::marathon {

namespace {

zk_url below(zk_url url, const char* child) {
  url.path += child;
  return url;
}

// What the hooks share; they run in the candidacy's turns only.
struct leadership_context {
  marathon_leadership_config cfg;
  marathon_edge* edge = nullptr;
  store_actor store; // the fenced state, once elected
  std::shared_ptr<spdlog::logger> log = logging::get("marathon");

  ~leadership_context() {
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
};

// Nothing this process does may count once leadership is in doubt.
[[noreturn]] void exit_now(const leadership_context& ctx,
                           const std::string& why) {
  ctx.log->critical("{}; exiting (a supervisor restarts this Marathon as a "
                    "standby)",
                    why);
  ctx.log->flush();
  std::_Exit(1);
}

caf::actor lead(caf::event_based_actor* self,
                std::shared_ptr<leadership_context> ctx, int64_t member) {
  ctx->log->info("elected: this Marathon leads (member {})", member);
  // Until the state is loaded nobody serves: not the old leader either.
  ctx->edge->follow("");
  ctx->store = spawn_zk_store(self->system(), below(ctx->cfg.zk, "/state"),
                              zk_member_path(below(ctx->cfg.zk, "/leader"),
                                             member),
                              ctx->cfg.session_timeout);
  auto cfg = ctx->cfg.marathon;
  cfg.store = ctx->store;
  auto marathon = spawn_marathon(self->system(), cfg);
  when_loaded(self->system(), marathon,
              [ctx, marathon](const caf::error& err) {
                // A Marathon that could not load has ended, which ends the
                // leadership: the candidacy says why.
                if (err)
                  return;
                ctx->edge->lead(ctx->cfg.routes(marathon));
                ctx->log->info("serving as the leader");
              });
  return caf::actor_cast<caf::actor>(marathon);
}

} // namespace

caf::actor spawn_marathon_leadership(caf::actor_system& sys,
                                     marathon_leadership_config cfg,
                                     marathon_edge& edge) {
  auto ctx = std::make_shared<leadership_context>();
  ctx->cfg = std::move(cfg);
  ctx->edge = &edge;
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
    ctx->edge->follow(leader);
  };
  hooks.lost = [ctx](caf::event_based_actor*, const std::string& why) {
    exit_now(*ctx, why);
  };
  ctx->log->info("contending for leadership at {}", election_url.to_string());
  return spawn_candidacy(sys, std::move(election), ctx->edge->self_address(),
                         std::move(hooks));
}

} // namespace dcos::marathon
