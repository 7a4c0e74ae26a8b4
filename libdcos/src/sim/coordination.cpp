// The coordination service of a simulation with several masters, and the
// clients the masters hold: a modelled ZooKeeper, seeded like everything
// else.
//
// The service keeps sessions, the election's ephemeral sequential members
// (a watch on them tells every watching session of each change) and the
// registry's keys. A session lives while its client is heard from: it
// expires a session timeout after the service last heard it, and its member
// goes with it. A registry write names the writer's member (its fence) and
// is refused while that member is gone, as a ZooKeeper multi with a check
// op is: a deposed leader never overwrites its successor.
//
// Messages between a master and the service cross the simulated network:
// delayed like any link, and lost while a partition separates them (as over
// a TCP connection that breaks; the clients retry every tick, and requests
// are idempotent: a member is created once per session, a registry request
// is answered again from the service's memory of the client's latest one).
//
// The election client follows the rules of the real one
// (zookeeper/election.cpp): it pings every third of the session timeout,
// and gives the candidacy up once the service may have expired the session
// without its hearing of it: a session timeout after the send time of the
// latest ping the service answered, less a twelfth of the timeout. A lost
// session is never renewed: the master's process ends with its candidacy
// and is started again, as a supervisor does.
#include "world.hpp"

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos::sim::detail {

namespace {

// -- the service --------------------------------------------------------------

struct coordination_state {
  struct session {
    caf::timespan timeout{0};
    caf::timespan last_heard{0};
    sim_election client;
    int node = 0;
    bool watching = false;
    int64_t member = -1;
  };
  struct answer {
    uint64_t request = 0;
    int code = 0;
    std::string value;
    std::vector<std::string> keys;
  };
  std::map<uint64_t, session> sessions;
  std::set<uint64_t> expired;
  members_map members;
  int64_t next_seq = 0;
  std::map<std::string, std::string> registry;
  std::map<uint64_t, answer> last_answer; // by registry client
  coordination_state() = default;
};

using coordination_self = sim_coordination::stateful_pointer<coordination_state>;

void notify_watchers(coordination_self self, world* w) {
  auto& st = self->state;
  for (const auto& [id, s] : st.sessions)
    if (s.watching)
      w->send_over(w->coordination_node(), s.node, "zk members",
                   caf::timespan{0}, s.client, zk_members_atom::value,
                   st.members);
}

sim_coordination::behavior_type
coordination(coordination_self self, world* w) {
  int here = w->coordination_node();
  // A write is answered once it is on the service's disk (ZooKeeper syncs
  // its transaction log before it acknowledges), as slowly as a node's.
  auto fsync = [w] { return w->pick(w->sc().disk.write_latency); };
  return {
    [=](zk_call_atom, uint64_t id, caf::timespan timeout, int op,
        std::string& data, caf::timespan sent, const sim_election& client,
        int node) {
      auto& st = self->state;
      if (st.expired.count(id) > 0) {
        w->send_over(here, node, "zk expired", caf::timespan{0}, client,
                     zk_expired_atom::value);
        return;
      }
      auto& s = st.sessions[id];
      s.timeout = timeout;
      s.client = client;
      s.node = node;
      s.last_heard = w->elapsed();
      self->delayed_send(self, timeout, zk_expire_atom::value, id,
                         s.last_heard);
      switch (static_cast<zk_op>(op)) {
        case zk_op::ping:
          w->send_over(here, node, "zk pong", caf::timespan{0}, client,
                       zk_pong_atom::value, sent);
          break;
        case zk_op::create:
          if (s.member < 0) {
            s.member = st.next_seq++;
            st.members.emplace(s.member, std::move(data));
            notify_watchers(self, w);
          }
          w->send_over(here, node, "zk created", fsync(), client,
                       zk_created_atom::value, s.member);
          break;
        case zk_op::watch:
          s.watching = true;
          w->send_over(here, node, "zk members", caf::timespan{0}, client,
                       zk_members_atom::value, st.members);
          break;
      }
    },
    [=](zk_expire_atom, uint64_t id, caf::timespan heard) {
      auto& st = self->state;
      auto i = st.sessions.find(id);
      if (i == st.sessions.end() || i->second.last_heard != heard)
        return;
      auto member = i->second.member;
      w->session_expired(i->second.node);
      st.sessions.erase(i);
      st.expired.insert(id);
      if (member >= 0) {
        st.members.erase(member);
        notify_watchers(self, w);
      }
    },
    [=](zk_store_atom, uint64_t client, uint64_t request, int op,
        int64_t fence, std::string& key, std::string& value,
        const sim_registry& from, int node) {
      auto& st = self->state;
      auto what = static_cast<zk_store_op>(op);
      bool write = what == zk_store_op::put || what == zk_store_op::append
                   || what == zk_store_op::erase;
      auto& last = st.last_answer[client];
      if (last.request != request) {
        last = {request, static_cast<int>(zk_answer::ok), {}, {}};
        if (write && fence >= 0 && st.members.count(fence) == 0) {
          last.code = static_cast<int>(zk_answer::conflict);
        } else if (write) {
          w->registry_written(node, fence,
                              st.members.empty() ? -1
                                                 : st.members.begin()->first);
          if (what == zk_store_op::put)
            st.registry[key] = std::move(value);
          else if (what == zk_store_op::append)
            st.registry[key] += value;
          else
            st.registry.erase(key);
        } else if (what == zk_store_op::get) {
          auto i = st.registry.find(key);
          if (i == st.registry.end())
            last.code = static_cast<int>(zk_answer::not_found);
          else
            last.value = i->second;
        } else {
          for (auto i = st.registry.lower_bound(key);
               i != st.registry.end() && i->first.rfind(key, 0) == 0; ++i)
            last.keys.push_back(i->first);
        }
      }
      w->send_over(here, node, "zk answer", write ? fsync() : caf::timespan{0},
                   from, zk_done_atom::value, last.request, last.code,
                   last.value, last.keys);
    },
  };
}

// -- a master's election client ---------------------------------------------------

struct election_client_state {
  uint64_t session = 0;
  std::string data; // the candidacy's, once it contends
  bool contending = false;
  int64_t member = -1;
  std::optional<caf::typed_response_promise<int64_t>> contended;
  bool have_members = false; // the watch answered since the last silence
  members_map members;
  caf::timespan heard{0}; // the send time of the latest ping answered
  std::string lost; // why, once the session is lost
  std::vector<caf::typed_response_promise<std::string>> lost_waiters;
  std::vector<std::pair<int64_t, caf::typed_response_promise<int64_t, std::string>>>
    leader_waiters;
  std::vector<caf::typed_response_promise<std::vector<std::string>>>
    members_waiters;
  std::vector<std::pair<std::vector<std::string>,
                        caf::typed_response_promise<std::vector<std::string>>>>
    member_watchers; // members(previous)
  election_client_state() = default;
};

using election_client_self
  = sim_election::stateful_pointer<election_client_state>;

std::pair<int64_t, std::string> leader_of(const election_client_state& st) {
  if (!st.lost.empty() || st.members.empty())
    return {-1, ""};
  return *st.members.begin();
}

void answer_waiters(election_client_self self) {
  auto& st = self->state;
  if (!st.have_members && st.lost.empty())
    return;
  auto [seq, data] = leader_of(st);
  auto& waiters = st.leader_waiters;
  for (auto i = waiters.begin(); i != waiters.end();) {
    if (i->first != seq) {
      i->second.deliver(seq, data);
      i = waiters.erase(i);
    } else {
      ++i;
    }
  }
  if (st.lost.empty()) {
    std::vector<std::string> all;
    for (const auto& [s, d] : st.members)
      all.push_back(d);
    for (auto& rp : st.members_waiters)
      rp.deliver(all);
    st.members_waiters.clear();
    for (auto i = st.member_watchers.begin(); i != st.member_watchers.end();) {
      if (i->first != all) {
        i->second.deliver(all);
        i = st.member_watchers.erase(i);
      } else {
        ++i;
      }
    }
  }
}

void lose(election_client_self self, std::string why) {
  auto& st = self->state;
  if (!st.lost.empty())
    return;
  st.lost = std::move(why);
  for (auto& rp : st.lost_waiters)
    rp.deliver(st.lost);
  st.lost_waiters.clear();
  // This session's membership is never known again.
  auto err = make_error(errc::unavailable, "the session is lost: " + st.lost);
  for (auto& rp : st.members_waiters)
    rp.deliver(err);
  st.members_waiters.clear();
  for (auto& [previous, rp] : st.member_watchers)
    rp.deliver(err);
  st.member_watchers.clear();
  answer_waiters(self);
}

sim_election::behavior_type
election_client(election_client_self self, world* w, int node,
                sim_coordination service, caf::timespan timeout) {
  self->state.session = w->draw();
  auto call = [=](zk_op op) {
    auto& st = self->state;
    w->send_over(node, w->coordination_node(),
                 op == zk_op::ping     ? "zk ping"
                 : op == zk_op::create ? "zk create"
                                       : "zk watch",
                 caf::timespan{0}, service, zk_call_atom::value, st.session, timeout,
                 static_cast<int>(op),
                 op == zk_op::create ? st.data : std::string{}, w->elapsed(),
                 caf::actor_cast<sim_election>(self), node);
  };
  // Every tick: a ping, and whatever still waits for the service.
  auto tick = [=] {
    auto& st = self->state;
    if (!st.lost.empty())
      return;
    call(zk_op::ping);
    if (st.contending && st.member < 0)
      call(zk_op::create);
    // After a silence the watch may have missed changes: read again.
    if (w->elapsed() - st.heard > timeout * 2 / 3)
      st.have_members = false;
    if (!st.have_members)
      call(zk_op::watch);
    self->delayed_send(self, timeout / 3, zk_tick_atom::value);
  };
  // The session starts at once, with the first tick.
  self->send(self, zk_tick_atom::value);
  return {
    [=](zk_tick_atom) { tick(); },
    [=](zk_pong_atom, caf::timespan sent) {
      auto& st = self->state;
      if (sent <= st.heard)
        return;
      st.heard = sent;
      self->delayed_send(self, sent + timeout - timeout / 12 - w->elapsed(),
                         zk_deadline_atom::value, sent);
    },
    [=](zk_deadline_atom, caf::timespan heard) {
      if (heard == self->state.heard)
        lose(self, "the connection to the coordination service stayed lost "
                   "for as long as the service may take to expire the "
                   "session");
    },
    [=](zk_expired_atom) { lose(self, "the session expired"); },
    [=](zk_created_atom, int64_t seq) {
      auto& st = self->state;
      if (st.member >= 0 || !st.lost.empty())
        return;
      st.member = seq;
      if (st.contended) {
        st.contended->deliver(seq);
        st.contended.reset();
      }
    },
    [=](zk_members_atom, members_map& members) {
      auto& st = self->state;
      if (!st.lost.empty())
        return;
      st.have_members = true;
      st.members = std::move(members);
      if (st.member >= 0 && st.members.count(st.member) == 0)
        lose(self, "the membership was deleted");
      answer_waiters(self);
    },
    [=](contend_atom, std::string& data) -> caf::result<int64_t> {
      auto& st = self->state;
      if (st.contending)
        return make_error(errc::conflict, "this election already contends");
      st.contending = true;
      st.data = std::move(data);
      call(zk_op::create);
      st.contended = self->make_response_promise<int64_t>();
      return *st.contended;
    },
    [=](lost_atom) -> caf::result<std::string> {
      auto& st = self->state;
      if (!st.lost.empty())
        return st.lost;
      if (!st.contending)
        return std::string{"no candidacy"};
      st.lost_waiters.push_back(self->make_response_promise<std::string>());
      return st.lost_waiters.back();
    },
    [=](leader_atom, int64_t previous) -> caf::result<int64_t, std::string> {
      auto rp = self->make_response_promise<int64_t, std::string>();
      self->state.leader_waiters.emplace_back(previous, rp);
      answer_waiters(self);
      return rp;
    },
    [=](members_atom) -> caf::result<std::vector<std::string>> {
      if (!self->state.lost.empty())
        return make_error(errc::unavailable,
                          "the session is lost: " + self->state.lost);
      auto rp = self->make_response_promise<std::vector<std::string>>();
      self->state.members_waiters.push_back(rp);
      answer_waiters(self);
      return rp;
    },
    [=](members_atom, std::vector<std::string>& previous)
      -> caf::result<std::vector<std::string>> {
      if (!self->state.lost.empty())
        return make_error(errc::unavailable,
                          "the session is lost: " + self->state.lost);
      auto rp = self->make_response_promise<std::vector<std::string>>();
      self->state.member_watchers.emplace_back(std::move(previous), rp);
      answer_waiters(self);
      return rp;
    },
  };
}

// -- a leader's registry client --------------------------------------------------

struct registry_request {
  zk_store_op what;
  std::string key;
  std::string value;
  std::function<void(zk_answer, std::string&, std::vector<std::string>&)>
    done;
};

struct registry_client_state {
  uint64_t client = 0;
  uint64_t next_request = 1;
  std::deque<registry_request> queue; // the head is on its way
  caf::timespan head_sent{0};
  registry_client_state() = default;
};

using registry_client_self
  = sim_registry::stateful_pointer<registry_client_state>;

sim_registry::behavior_type
registry_client(registry_client_self self, world* w, int node,
                sim_coordination service, int64_t fence) {
  self->state.client = w->draw();
  // Sends the head of the queue (again, after a silence).
  auto send_head = [=] {
    auto& st = self->state;
    if (st.queue.empty())
      return;
    st.head_sent = w->elapsed();
    const auto& r = st.queue.front();
    w->send_over(node, w->coordination_node(), "zk registry",
                 caf::timespan{0}, service, zk_store_atom::value, st.client,
                 st.next_request,
                 static_cast<int>(r.what), fence, r.key, r.value,
                 caf::actor_cast<sim_registry>(self), node);
  };
  auto enqueue = [=](registry_request r) {
    auto& st = self->state;
    st.queue.push_back(std::move(r));
    if (st.queue.size() == 1)
      send_head();
  };
  auto write = [=](zk_store_op what, std::string key,
                   std::string value) -> caf::result<ok_atom> {
    auto rp = self->make_response_promise<ok_atom>();
    enqueue({what, std::move(key), std::move(value),
             [rp](zk_answer a, std::string&, std::vector<std::string>&) mutable {
               if (a == zk_answer::conflict)
                 rp.deliver(make_error(errc::conflict,
                                       "the registry refused the write: this "
                                       "master's membership is gone (another "
                                       "master leads)"));
               else
                 rp.deliver(ok_atom::value);
             }});
    return rp;
  };
  self->send(self, zk_tick_atom::value);
  return {
    [=](zk_tick_atom) {
      if (w->elapsed() - self->state.head_sent >= std::chrono::seconds(1))
        send_head();
      self->delayed_send(self, std::chrono::seconds(1), zk_tick_atom::value);
    },
    [=](zk_done_atom, uint64_t request, int code, std::string& value,
        std::vector<std::string>& keys) {
      auto& st = self->state;
      if (request != st.next_request || st.queue.empty())
        return; // an answer to a retry already answered
      auto r = std::move(st.queue.front());
      st.queue.pop_front();
      ++st.next_request;
      r.done(static_cast<zk_answer>(code), value, keys);
      send_head();
    },
    [=](get_atom, std::string& key) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      enqueue({zk_store_op::get, std::move(key), {},
               [rp](zk_answer a, std::string& v,
                    std::vector<std::string>&) mutable {
                 if (a == zk_answer::not_found)
                   rp.deliver(make_error(errc::not_found, "no such key"));
                 else
                   rp.deliver(std::move(v));
               }});
      return rp;
    },
    [=](keys_atom, std::string& prefix)
      -> caf::result<std::vector<std::string>> {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      enqueue({zk_store_op::keys, std::move(prefix), {},
               [rp](zk_answer, std::string&,
                    std::vector<std::string>& keys) mutable {
                 rp.deliver(std::move(keys));
               }});
      return rp;
    },
    [=](put_atom, std::string& key, std::string& value) {
      return write(zk_store_op::put, std::move(key), std::move(value));
    },
    [=](append_atom, std::string& key, std::string& value) {
      return write(zk_store_op::append, std::move(key), std::move(value));
    },
    [=](erase_atom, std::string& key) {
      return write(zk_store_op::erase, std::move(key), {});
    },
  };
}

} // namespace

sim_coordination spawn_coordination(world& w) {
  return w.sys().spawn(coordination, &w);
}

sim_election spawn_election_client(world& w, int node, caf::timespan timeout) {
  return w.sys().spawn(election_client, &w, node, w.coordination(), timeout);
}

sim_registry spawn_registry_client(world& w, int node, int64_t fence) {
  return w.sys().spawn(registry_client, &w, node, w.coordination(), fence);
}

} // namespace dcos::sim::detail
