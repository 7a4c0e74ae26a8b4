#include "leadership.hpp"

#include <cstdlib>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <fmt/format.h>

#include "dcos/detector_actor.hpp"
#include "dcos/election_actor.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "dcos/store_actor.hpp"
#include "master_id.hpp"

namespace dcos::kernel {

namespace {

struct leadership_state {
  static inline const char* name = "dcos.leadership";
  leadership_config cfg;
  master_http* edge = nullptr;
  election_actor election;
  int64_t member = -1;      // our sequence once the candidacy exists
  int64_t leader = -1;      // as last seen
  bool elected = false;
  master_actor master;
  store_actor store;
  std::shared_ptr<spdlog::logger> log = logging::get("master");

  // The state ends with the actor: so do the master, its store and the
  // candidacy.
  ~leadership_state() {
    for (auto hdl : {caf::actor_cast<caf::actor>(master),
                     caf::actor_cast<caf::actor>(store),
                     caf::actor_cast<caf::actor>(election)})
      if (hdl)
        caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }
};

using leadership_self = caf::stateful_actor<leadership_state>*;

// Nothing this process does may count once leadership is in doubt.
[[noreturn]] void exit_now(leadership_self self, const std::string& why) {
  self->state.log->critical("{}; exiting (a supervisor restarts this master "
                            "as a standby)",
                            why);
  self->state.log->flush();
  std::_Exit(1);
}

std::string http_address(const master_config& m) {
  return fmt::format("{}:{}", m.ip, m.port);
}

void become_leader(leadership_self self) {
  auto& st = self->state;
  st.elected = true;
  st.log->info("elected: this master leads (member {})", st.member);
  auto registry = st.cfg.zk;
  registry.path += "/registry";
  st.store = spawn_zk_store(self->system(), registry,
                            zk_member_path(st.cfg.zk, st.member),
                            st.cfg.session_timeout);
  auto cfg = st.cfg.master;
  cfg.store = st.store;
  st.master = spawn_master(self->system(), cfg);
  // A master that stops (a registry write refused: deposed) ends the
  // process too, rather than leaving a standby that believes it leads.
  self->monitor(st.master);
  auto mm = self->system().middleman().actor_handle();
  auto sigs = self->system().message_types(st.master);
  self->request(mm, caf::infinite, caf::publish_atom::value, st.cfg.actor_port,
                caf::actor_cast<caf::strong_actor_ptr>(st.master),
                std::move(sigs), cfg.ip, true)
    .then(
      [self](uint16_t port) {
        auto& st = self->state;
        st.edge->attach(st.master, port, http_address(st.cfg.master));
        st.log->info("serving as the leader (actors on port {})", port);
      },
      [self](caf::error& err) {
        exit_now(self, fmt::format("cannot open the actor port {}: {}",
                                   self->state.cfg.actor_port,
                                   describe(err)));
      });
}

void follow_leader(leadership_self self) {
  auto& st = self->state;
  self->request(st.election, caf::infinite, leader_atom::value, st.leader)
    .then(
      [self](int64_t seq, std::string& data) {
        auto& st = self->state;
        st.leader = seq;
        if (seq >= 0 && seq == st.member) {
          if (!st.elected)
            become_leader(self);
        } else {
          auto endpoint = seq < 0 ? std::nullopt : master_http_endpoint(data);
          auto address = endpoint ? fmt::format("{}:{}", endpoint->first,
                                                endpoint->second)
                                  : std::string{};
          if (st.elected) // another leads: we must have lost (lost() says)
            exit_now(self, "another master leads (" + address + ")");
          st.log->info("standing by; the leader is {}",
                       address.empty() ? "unknown" : address);
          st.edge->set_leader(address);
        }
        follow_leader(self);
      },
      [self](caf::error& err) {
        exit_now(self, "cannot follow the election: " + describe(err));
      });
}

caf::behavior leadership(leadership_self self, leadership_config cfg,
                         master_http* edge) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.edge = edge;
  st.election = spawn_zk_election(self->system(), st.cfg.zk,
                                  st.cfg.session_timeout);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.master.address())
      exit_now(self, "the master stopped: "
                       + self->system().render(msg.reason));
  });
  v1::MasterInfo info;
  info.set_id(initial_master_id(st.cfg.master.seed)); // the master's own
  info.set_hostname(st.cfg.master.hostname);
  info.set_port(st.cfg.master.port);
  info.set_pid(fmt::format("master@{}", http_address(st.cfg.master)));
  info.set_version(st.cfg.master.version);
  auto* address = info.mutable_address();
  address->set_hostname(st.cfg.master.hostname);
  address->set_ip(st.cfg.master.ip);
  address->set_port(st.cfg.master.port);
  self->request(st.election, caf::infinite, contend_atom::value, to_json(info))
    .then(
      [self](int64_t seq) {
        auto& st = self->state;
        st.member = seq;
        st.log->info("contending for leadership at {} as member {}",
                     st.cfg.zk.to_string(), seq);
        if (st.leader == seq && !st.elected)
          become_leader(self);
      },
      [self](caf::error& err) {
        exit_now(self, "cannot contend for leadership: " + describe(err));
      });
  self->request(st.election, caf::infinite, lost_atom::value)
    .then([self](const std::string& why) {
      exit_now(self, "lost the candidacy for leadership: " + why);
    });
  follow_leader(self);
  return {};
}

} // namespace

caf::actor spawn_leadership(caf::actor_system& sys, leadership_config cfg,
                            master_http& edge) {
  return sys.spawn(leadership, std::move(cfg), &edge);
}

} // namespace dcos::kernel
