#include "leadership.hpp"

#include <cstdlib>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <fmt/format.h>

#include "dcos/candidacy.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/election_actor.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "dcos/store_actor.hpp"
#include "master_id.hpp"

namespace dcos::kernel {

namespace {

// What the hooks share; they run in the candidacy's turns only.
struct leadership_context {
  leadership_config cfg;
  master_http* edge = nullptr;
  store_actor store; // the fenced registry, once elected
  std::shared_ptr<spdlog::logger> log = logging::get("master");

  ~leadership_context() {
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
};

// Nothing this process does may count once leadership is in doubt.
[[noreturn]] void exit_now(const leadership_context& ctx,
                           const std::string& why) {
  ctx.log->critical("{}; exiting (a supervisor restarts this master as a "
                    "standby)",
                    why);
  ctx.log->flush();
  std::_Exit(1);
}

std::string http_address(const master_config& m) {
  return fmt::format("{}:{}", m.ip, m.port);
}

// Starts the master on the registry fenced by our membership, publishes it
// and attaches it to the HTTP edge.
master_actor lead(caf::event_based_actor* self,
                  std::shared_ptr<leadership_context> ctx, int64_t member) {
  ctx->log->info("elected: this master leads (member {})", member);
  auto registry = ctx->cfg.zk;
  registry.path += "/registry";
  ctx->store = spawn_zk_store(self->system(), registry,
                              zk_member_path(ctx->cfg.zk, member),
                              ctx->cfg.session_timeout);
  auto cfg = ctx->cfg.master;
  cfg.store = ctx->store;
  auto master = spawn_master(self->system(), cfg);
  auto mm = self->system().middleman().actor_handle();
  auto sigs = self->system().message_types(master);
  self->request(mm, caf::infinite, caf::publish_atom::value,
                ctx->cfg.actor_port,
                caf::actor_cast<caf::strong_actor_ptr>(master),
                std::move(sigs), cfg.ip, true)
    .then(
      [ctx, master](uint16_t port) {
        ctx->edge->attach(master, port, http_address(ctx->cfg.master));
        ctx->log->info("serving as the leader (actors on port {})", port);
      },
      [ctx](caf::error& err) {
        exit_now(*ctx, fmt::format("cannot open the actor port {}: {}",
                                   ctx->cfg.actor_port, describe(err)));
      });
  return master;
}

std::string master_info_json(const master_config& m) {
  v1::MasterInfo info;
  info.set_id(initial_master_id(m.seed)); // the master's own
  info.set_hostname(m.hostname);
  info.set_port(m.port);
  info.set_pid(fmt::format("master@{}", http_address(m)));
  info.set_version(m.version);
  auto* address = info.mutable_address();
  address->set_hostname(m.hostname);
  address->set_ip(m.ip);
  address->set_port(m.port);
  return to_json(info);
}

} // namespace

caf::actor spawn_leadership(caf::actor_system& sys, leadership_config cfg,
                            master_http& edge) {
  auto ctx = std::make_shared<leadership_context>();
  ctx->cfg = std::move(cfg);
  ctx->edge = &edge;
  auto election = spawn_zk_election(sys, ctx->cfg.zk,
                                    ctx->cfg.session_timeout);
  candidacy_hooks hooks;
  hooks.elected = [ctx](caf::event_based_actor* self, int64_t member) {
    return caf::actor_cast<caf::actor>(lead(self, ctx, member));
  };
  hooks.standby = [ctx](caf::event_based_actor*, const std::string& data) {
    auto endpoint = master_http_endpoint(data);
    auto address = endpoint ? fmt::format("{}:{}", endpoint->first,
                                          endpoint->second)
                            : std::string{};
    ctx->log->info("standing by; the leader is {}",
                   address.empty() ? "unknown" : address);
    ctx->edge->set_leader(address);
  };
  hooks.lost = [ctx](caf::event_based_actor*, const std::string& why) {
    exit_now(*ctx, why);
  };
  ctx->log->info("contending for leadership at {}", ctx->cfg.zk.to_string());
  return spawn_candidacy(sys, std::move(election),
                         master_info_json(ctx->cfg.master), std::move(hooks));
}

} // namespace dcos::kernel
