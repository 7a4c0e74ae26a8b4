#include "dcos/candidacy.hpp"

#include <caf/all.hpp>

#include "dcos/buggify.hpp"
#include "dcos/error.hpp"

namespace dcos {

namespace {

struct candidacy_state {
  static inline const char* name = "dcos.candidacy";
  election_actor election;
  candidacy_hooks hooks;
  int64_t member = -1; // our sequence once the candidacy exists
  int64_t leader = -1; // as last seen
  bool elected = false;
  bool over = false;
  caf::actor leader_work;

  ~candidacy_state() {
    for (const auto& hdl : {caf::actor_cast<caf::actor>(leader_work),
                            caf::actor_cast<caf::actor>(election)})
      if (hdl)
        caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  }
};

using candidacy_self = caf::stateful_actor<candidacy_state>*;

void lose(candidacy_self self, const std::string& why) {
  auto& st = self->state;
  if (st.over)
    return;
  st.over = true;
  st.hooks.lost(self, why);
  self->quit();
}

// The election says we no longer lead (or may not: the session may be gone).
void deposed(candidacy_self self, const std::string& why) {
  // The known fault the simulation must catch: a leader acting on after its
  // session expired, alongside its successor.
  if (self->state.elected && mutant("leader_ignores_lost_session"))
    return;
  lose(self, why);
}

void become_leader(candidacy_self self) {
  auto& st = self->state;
  st.elected = true;
  st.leader_work = st.hooks.elected(self, st.member);
  if (!st.leader_work) {
    lose(self, "the leader could not start");
    return;
  }
  self->monitor(st.leader_work);
}

void follow_leader(candidacy_self self) {
  auto& st = self->state;
  self->request(st.election, caf::infinite, leader_atom::value, st.leader)
    .then(
      [self](int64_t seq, std::string& data) {
        auto& st = self->state;
        if (st.over)
          return;
        st.leader = seq;
        if (seq >= 0 && seq == st.member) {
          if (!st.elected)
            become_leader(self);
        } else if (st.elected) {
          deposed(self, seq < 0 ? "no leader is known any more"
                                : "another member leads: " + data);
        } else {
          st.hooks.standby(self, data);
        }
        if (!st.over)
          follow_leader(self);
      },
      [self](caf::error& err) {
        lose(self, "cannot follow the election: " + describe(err));
      });
}

caf::behavior candidacy(candidacy_self self, election_actor election,
                        std::string data, candidacy_hooks hooks) {
  auto& st = self->state;
  st.election = std::move(election);
  st.hooks = std::move(hooks);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.leader_work.address())
      lose(self, "the leader stopped: " + self->system().render(msg.reason));
  });
  self->request(st.election, caf::infinite, contend_atom::value,
                std::move(data))
    .then(
      [self](int64_t seq) {
        auto& st = self->state;
        st.member = seq;
        if (st.leader == seq && !st.elected && !st.over)
          become_leader(self);
      },
      [self](caf::error& err) {
        lose(self, "cannot contend for leadership: " + describe(err));
      });
  self->request(st.election, caf::infinite, lost_atom::value)
    .then([self](const std::string& why) {
      deposed(self, "lost the candidacy for leadership: " + why);
    });
  follow_leader(self);
  return {};
}

} // namespace

caf::actor spawn_candidacy(caf::actor_system& sys, election_actor election,
                           std::string data, candidacy_hooks hooks) {
  return sys.spawn(candidacy, std::move(election), std::move(data),
                   std::move(hooks));
}

} // namespace dcos
