// The ZooKeeper election (dcos/election_actor.hpp). One session at a time;
// a new one (a new `generation`) after expiry, for following the leader.
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/election_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "client.hpp"

namespace dcos {

namespace {

using zk::zk_event_atom;
using zk::zk_reply_atom;
using expire_atom = caf::atom_constant<caf::atom("zkexpire")>;
using heartbeat_atom = caf::atom_constant<caf::atom("zkbeat")>;

constexpr std::string_view member_prefix = "json.info_";

// What a reply answers.
enum tag : uint64_t {
  ensure_path = 1, // creating the election path, one component at a time
  create_member,   // our ephemeral sequential znode
  list_members,    // the children, with a watch
  read_leader,     // the lowest member's data
  check_owner,     // after an uncertain create: is this member ours?
  census_list,     // members(): the children, without a watch
  census_read,     // members(): one member's data
  heartbeat,       // proof that the server still hears us
};

// A census' replies carry its serial above the tag, so that a reply to an
// earlier census (sent again by the client after a reconnection) is told
// apart and dropped.
constexpr int census_shift = 16;
constexpr uint64_t tag_mask = (uint64_t{1} << census_shift) - 1;

using election_impl = election_actor::extend<
  caf::reacts_to<zk_event_atom, uint64_t, int32_t, int32_t, std::string>,
  caf::reacts_to<zk_reply_atom, uint64_t, uint64_t, zk::reply>,
  caf::reacts_to<expire_atom, uint64_t, uint64_t>,
  caf::reacts_to<heartbeat_atom>>;

using leader_promise = caf::typed_response_promise<int64_t, std::string>;

struct election_state {
  static inline const char* name = "dcos.zk_election";

  zk_url url;
  caf::timespan session_timeout{};
  std::shared_ptr<spdlog::logger> log = logging::get("election");

  std::unique_ptr<zk::client> session;
  uint64_t generation = 0;
  bool connected = false;
  uint64_t disconnects = 0; // which disconnection an expiry timer is for
  // When the server last heard us, at the earliest: the send time of the
  // latest heartbeat it answered. It may expire the session a session
  // timeout after that, and not before.
  caf::actor_clock::time_point heard{};
  std::deque<caf::actor_clock::time_point> heartbeats; // in flight, by send
  bool path_ready = false;
  std::optional<caf::error> failure; // unrecoverable: answers everything

  // Our candidacy.
  std::optional<std::string> wanted_data; // contend() was called
  bool creating = false;                  // a create is in flight
  bool create_uncertain = false;          // ... and its outcome is unknown
  size_t owner_checks = 0;                // check_owner replies outstanding
  std::string member;                     // our znode's name once created
  std::vector<caf::typed_response_promise<int64_t>> contend_waiters;
  std::vector<caf::typed_response_promise<std::string>> lost_waiters;
  bool candidacy_over = false;

  // The leader as last read.
  int64_t leader_seq = -1;
  std::string leader_data;
  std::string reading; // the member whose data is being read
  std::vector<std::pair<int64_t, leader_promise>> leader_waiters;

  // members(): one census at a time, answering everyone who asked.
  std::vector<caf::typed_response_promise<std::vector<std::string>>>
    census_waiters;
  bool census_running = false;
  uint64_t census_serial = 0; // of the census running, or the last one
  size_t census_reads = 0; // census_read replies outstanding
  std::map<int64_t, std::string> census;
  // members(previous): answered by the first census that differs. A
  // change of the children (the watch) makes the last census stale.
  std::vector<std::pair<std::vector<std::string>,
                        caf::typed_response_promise<std::vector<std::string>>>>
    member_watchers;
  bool census_stale = true;
  std::optional<std::vector<std::string>> last_census;
};

using election_self = election_impl::stateful_pointer<election_state>;

// "json.info_0000000042" -> 42; -1 if the name is not a member's.
int64_t sequence_of(std::string_view name) {
  if (name.substr(0, member_prefix.size()) != member_prefix)
    return -1;
  auto digits = name.substr(member_prefix.size());
  if (digits.empty()
      || !std::all_of(digits.begin(), digits.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(std::string{digits});
}

std::string child_path(const election_state& st, const std::string& name) {
  return st.url.path + "/" + name;
}

void set_leader(election_self self, int64_t seq, std::string data) {
  auto& st = self->state;
  if (seq == st.leader_seq && data == st.leader_data)
    return;
  if (seq != st.leader_seq) {
    bool ours = !st.member.empty() && seq == sequence_of(st.member);
    st.log->info("{}: {}", st.url.to_string(),
                 seq < 0 ? std::string{"no leader known"}
                         : fmt::format("member {} leads{}", seq,
                                       ours ? " (this one)" : ""));
  }
  st.leader_seq = seq;
  st.leader_data = std::move(data);
  auto waiting = std::move(st.leader_waiters);
  st.leader_waiters.clear();
  for (auto& [previous, rp] : waiting) {
    if (previous != seq)
      rp.deliver(seq, st.leader_data);
    else
      st.leader_waiters.emplace_back(previous, std::move(rp));
  }
}

// The candidacy ends for good (contend() again to start another).
void lose_candidacy(election_self self, const std::string& why) {
  auto& st = self->state;
  if (!st.wanted_data || st.candidacy_over)
    return;
  st.log->warn("{}: the candidacy {}is lost: {}", st.url.to_string(),
               st.member.empty() ? "" : "of " + st.member + " ", why);
  st.candidacy_over = true;
  st.member.clear();
  st.creating = st.create_uncertain = false;
  for (auto& rp : st.contend_waiters)
    rp.deliver(make_error(errc::unavailable, why));
  st.contend_waiters.clear();
  for (auto& rp : st.lost_waiters)
    rp.deliver(why);
  st.lost_waiters.clear();
}

void fail(election_self self, caf::error err) {
  auto& st = self->state;
  st.log->error("{}", describe(err));
  st.failure = err;
  for (auto& rp : st.contend_waiters)
    rp.deliver(err);
  st.contend_waiters.clear();
  for (auto& [previous, rp] : st.leader_waiters)
    rp.deliver(err);
  st.leader_waiters.clear();
  for (auto& rp : st.census_waiters)
    rp.deliver(err);
  st.census_waiters.clear();
  for (auto& [previous, rp] : st.member_watchers)
    rp.deliver(err);
  st.member_watchers.clear();
  if (st.wanted_data && !st.candidacy_over)
    lose_candidacy(self, describe_reason(err));
}

void start_session(election_self self) {
  auto& st = self->state;
  st.session.reset(); // closes the old one, if any
  st.connected = false;
  st.path_ready = false;
  st.census_running = false;
  st.census_stale = true;
  st.heartbeats.clear();
  auto session = zk::client::start(st.url, st.session_timeout, self->address(),
                                   ++st.generation);
  if (!session) {
    fail(self, session.error());
    return;
  }
  st.session = std::move(*session);
}

void create_member_znode(election_self self) {
  auto& st = self->state;
  if (!st.wanted_data || st.candidacy_over || !st.member.empty() || st.creating
      || !st.connected || !st.path_ready)
    return;
  st.creating = true;
  st.session->create(create_member, child_path(st, std::string{member_prefix}),
                     *st.wanted_data, ZOO_EPHEMERAL_SEQUENTIAL);
}

void list(election_self self) {
  auto& st = self->state;
  if (st.connected && st.path_ready)
    st.session->children(list_members, st.url.path, true);
}

// Creates the next missing component of the election path.
void ensure(election_self self, size_t from) {
  auto& st = self->state;
  auto next = st.url.path.find('/', from + 1);
  auto prefix = st.url.path.substr(0, next);
  st.session->create(ensure_path, prefix, "", ZOO_PERSISTENT);
}

// Starts a census if someone waits for one and none runs: a members()
// caller, or a watcher while the membership may have changed.
void start_census(election_self self) {
  auto& st = self->state;
  bool watched = !st.member_watchers.empty() && st.census_stale;
  if ((st.census_waiters.empty() && !watched) || st.census_running
      || !st.connected || !st.path_ready)
    return;
  st.census_running = true;
  st.census_stale = false;
  st.census.clear();
  ++st.census_serial;
  st.session->children(census_list | (st.census_serial << census_shift),
                       st.url.path, false);
}

void end_census(election_self self) {
  auto& st = self->state;
  std::vector<std::string> data;
  for (auto& [seq, member] : st.census)
    data.push_back(std::move(member));
  st.census.clear();
  st.census_running = false;
  for (auto& rp : st.census_waiters)
    rp.deliver(data);
  st.census_waiters.clear();
  auto watching = std::move(st.member_watchers);
  st.member_watchers.clear();
  for (auto& [previous, rp] : watching) {
    if (previous != data)
      rp.deliver(data);
    else
      st.member_watchers.emplace_back(std::move(previous), std::move(rp));
  }
  st.last_census = std::move(data);
  start_census(self); // the membership changed while this one ran
}

void on_census(election_self self, uint64_t which, uint64_t serial,
               const zk::reply& r) {
  auto& st = self->state;
  if (!st.census_running || serial != st.census_serial)
    return;
  // A member that left while it was read (ZNONODE) is left out; any other
  // failure abandons the census, which runs again once connected.
  if (r.rc != ZOK && !(which == census_read && r.rc == ZNONODE)) {
    st.census_running = false;
    st.census_stale = true;
    return;
  }
  if (which == census_list) {
    st.census_reads = 0;
    for (const auto& name : r.children)
      if (sequence_of(name) >= 0) {
        st.session->get(census_read | (serial << census_shift),
                        child_path(st, name));
        ++st.census_reads;
      }
  } else {
    if (st.census_reads == 0)
      return; // not one this census asked for
    --st.census_reads;
    if (r.rc == ZOK)
      st.census[sequence_of(r.path.substr(r.path.rfind('/') + 1))] = r.value;
  }
  if (st.census_reads == 0)
    end_census(self);
}

void on_connected(election_self self) {
  auto& st = self->state;
  if (!st.path_ready) {
    ensure(self, 0);
    return;
  }
  list(self);
  create_member_znode(self);
  start_census(self);
}

void on_session_event(election_self self, int32_t state) {
  auto& st = self->state;
  if (state == ZOO_CONNECTED_STATE) {
    if (st.connected)
      return;
    st.connected = true;
    ++st.disconnects;
    st.heard = self->clock().now(); // it just answered our handshake
    st.log->info("{}: connected (session {:#x}, timeout {} ms)",
                 st.url.to_string(), st.session->session_id(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                   st.session->session_timeout())
                   .count());
    on_connected(self);
  } else if (state == ZOO_CONNECTING_STATE) {
    if (!st.connected)
      return;
    st.connected = false;
    st.census_running = false; // its replies fail; run again on reconnection
    st.census_stale = true;
    ++st.disconnects;
    st.log->warn("{}: disconnected; reconnecting", st.url.to_string());
    // The server may expire the session a session timeout after it last
    // heard us, without us hearing of it: from then on we must not act as a
    // member, or a deposed leader would act beside its successor. The
    // client tells us of a silent connection only two thirds of a timeout
    // after its last answer, so little of it may be left. (A twelfth of the
    // timeout is kept back for the heartbeat's own journey.)
    auto timeout = st.session->session_timeout();
    auto left = st.heard + timeout - timeout / 12 - self->clock().now();
    self->delayed_send(self,
                       std::max(left, caf::timespan{0}),
                       expire_atom::value, st.generation, st.disconnects);
  } else if (state == ZOO_EXPIRED_SESSION_STATE) {
    lose_candidacy(self, "the ZooKeeper session expired");
    set_leader(self, -1, "");
    start_session(self);
  } else if (state == ZOO_AUTH_FAILED_STATE) {
    fail(self, make_error(errc::invalid_argument,
                          fmt::format("{}: ZooKeeper refused the credentials",
                                      st.url.to_string())));
  }
}

void on_members(election_self self, const zk::reply& r) {
  auto& st = self->state;
  st.census_stale = true; // the watch fired, or this is the first listing
  start_census(self);
  std::vector<std::pair<int64_t, std::string>> members;
  for (const auto& name : r.children)
    if (auto seq = sequence_of(name); seq >= 0)
      members.emplace_back(seq, name);
  std::sort(members.begin(), members.end());
  auto ours = [&](const auto& m) { return m.second == st.member; };
  if (!st.member.empty() && std::none_of(members.begin(), members.end(), ours))
    lose_candidacy(self, "its znode " + child_path(st, st.member)
                           + " was deleted");
  if (st.create_uncertain && st.owner_checks == 0) {
    // The create may have happened: look for a member this session owns.
    for (const auto& m : members)
      st.session->exists(check_owner, child_path(st, m.second));
    st.owner_checks = members.size();
    if (members.empty()) {
      st.create_uncertain = false;
      create_member_znode(self);
    }
  }
  if (members.empty()) {
    st.reading.clear();
    set_leader(self, -1, "");
    return;
  }
  const auto& lowest = members.front();
  if (lowest.first == st.leader_seq || lowest.second == st.reading)
    return;
  st.reading = lowest.second;
  st.session->get(read_leader, child_path(st, lowest.second));
}

void on_reply(election_self self, uint64_t tagged, const zk::reply& r) {
  auto& st = self->state;
  auto name = r.path.substr(r.path.rfind('/') + 1);
  auto which = tagged & tag_mask;
  switch (which) {
    case ensure_path:
      if (r.rc == ZOK || r.rc == ZNODEEXISTS) {
        if (r.path.size() == st.url.path.size()) {
          st.path_ready = true;
          on_connected(self);
        } else {
          ensure(self, r.path.size());
        }
      } else if (!zk::uncertain(r.rc) && r.rc != ZCLOSING) {
        fail(self, make_error(errc::invalid_argument,
                              fmt::format("{}: cannot create {}: {}",
                                          st.url.to_string(), r.path,
                                          zk::rc_name(r.rc))));
      } // else: retried on reconnection
      return;
    case create_member:
      st.creating = false;
      if (r.rc == ZOK) {
        st.member = r.value.substr(r.value.rfind('/') + 1);
        st.log->info("{}: contending as {}", st.url.to_string(), st.member);
        auto seq = sequence_of(st.member);
        for (auto& rp : st.contend_waiters)
          rp.deliver(seq);
        st.contend_waiters.clear();
        list(self);
      } else if (zk::uncertain(r.rc)) {
        st.create_uncertain = true; // resolved by the next listing
      } else if (r.rc != ZCLOSING && r.rc != ZSESSIONEXPIRED
                 && r.rc != ZINVALIDSTATE) {
        fail(self, make_error(errc::invalid_argument,
                              fmt::format("{}: cannot create a member: {}",
                                          st.url.to_string(),
                                          zk::rc_name(r.rc))));
      }
      return;
    case list_members:
      if (r.rc == ZOK)
        on_members(self, r);
      else if (r.rc == ZNONODE) { // deleted under us: make it again
        st.path_ready = false;
        on_connected(self);
      }
      return;
    case read_leader:
      if (name != st.reading)
        return;
      st.reading.clear();
      if (r.rc == ZOK)
        set_leader(self, sequence_of(name), r.value);
      else if (r.rc == ZNONODE)
        list(self); // gone already: the next-lowest leads
      return;
    case check_owner:
      if (st.owner_checks == 0)
        return;
      --st.owner_checks;
      if (r.rc == ZOK && st.create_uncertain && st.session != nullptr
          && r.ephemeral_owner == st.session->session_id()) {
        st.create_uncertain = false;
        zk::reply created;
        created.rc = ZOK;
        created.value = r.path;
        st.creating = true;
        on_reply(self, create_member, created);
      } else if (st.owner_checks == 0 && st.create_uncertain) {
        st.create_uncertain = false;
        create_member_znode(self);
      }
      return;
    case census_list:
    case census_read:
      on_census(self, which, tagged >> census_shift, r);
      return;
    case heartbeat:
      if (st.heartbeats.empty())
        return;
      // Any answer from the server, even "no such node", proves it heard us.
      if (!zk::uncertain(r.rc) && r.rc != ZSESSIONEXPIRED && r.rc != ZCLOSING)
        st.heard = std::max(st.heard, st.heartbeats.front());
      st.heartbeats.pop_front();
      return;
    default:
      return;
  }
}

election_impl::behavior_type zk_election(election_self self, zk_url url,
                                         caf::timespan session_timeout) {
  self->state.url = std::move(url);
  self->state.session_timeout = session_timeout;
  start_session(self);
  self->send(self, heartbeat_atom::value);
  return {
    // Every third of a session timeout, while connected and contending: a
    // request whose answer shows when the server last heard us (the
    // client's own pings do not say). Followers (detectors) need none.
    [self](heartbeat_atom) {
      auto& st = self->state;
      if (st.connected && st.session && st.wanted_data && !st.candidacy_over) {
        st.session->exists(heartbeat, st.url.path);
        st.heartbeats.push_back(self->clock().now());
      }
      auto timeout = st.session ? st.session->session_timeout()
                                : st.session_timeout;
      self->delayed_send(self, timeout / 3, heartbeat_atom::value);
    },
    [self](contend_atom, std::string& data) -> caf::result<int64_t> {
      auto& st = self->state;
      if (st.failure)
        return *st.failure;
      if (st.wanted_data)
        return make_error(errc::conflict,
                          st.url.to_string() + ": already contending");
      st.wanted_data = std::move(data);
      auto rp = self->make_response_promise<int64_t>();
      st.contend_waiters.push_back(rp);
      create_member_znode(self);
      return rp;
    },
    [self](lost_atom) -> caf::result<std::string> {
      auto& st = self->state;
      if (!st.wanted_data || st.candidacy_over)
        return std::string{"no candidacy"};
      auto rp = self->make_response_promise<std::string>();
      st.lost_waiters.push_back(rp);
      return rp;
    },
    [self](leader_atom, int64_t previous)
      -> caf::result<int64_t, std::string> {
      auto& st = self->state;
      if (st.failure)
        return *st.failure;
      if (st.leader_seq != previous)
        return {st.leader_seq, st.leader_data};
      auto rp = self->make_response_promise<int64_t, std::string>();
      st.leader_waiters.emplace_back(previous, rp);
      return rp;
    },
    [self](members_atom) -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      if (st.failure)
        return *st.failure;
      auto rp = self->make_response_promise<std::vector<std::string>>();
      st.census_waiters.push_back(rp);
      start_census(self);
      return rp;
    },
    [self](members_atom, std::vector<std::string>& previous)
      -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      if (st.failure)
        return *st.failure;
      if (st.last_census && !st.census_stale && *st.last_census != previous)
        return *st.last_census;
      auto rp = self->make_response_promise<std::vector<std::string>>();
      st.member_watchers.emplace_back(std::move(previous), rp);
      start_census(self);
      return rp;
    },
    [self](zk_event_atom, uint64_t generation, int32_t type, int32_t state,
           const std::string& path) {
      auto& st = self->state;
      if (generation != st.generation || st.session == nullptr)
        return;
      if (type == ZOO_SESSION_EVENT)
        on_session_event(self, state);
      else if (type == ZOO_CHILD_EVENT && path == st.url.path)
        list(self);
    },
    [self](zk_reply_atom, uint64_t generation, uint64_t which,
           const zk::reply& r) {
      if (generation == self->state.generation && self->state.session)
        on_reply(self, which, r);
    },
    [self](expire_atom, uint64_t generation, uint64_t disconnects) {
      auto& st = self->state;
      if (generation != st.generation || disconnects != st.disconnects
          || st.connected)
        return;
      lose_candidacy(self, "the connection to ZooKeeper stayed lost until "
                           "the server may have expired the session");
      set_leader(self, -1, "");
      start_session(self);
    },
  };
}

} // namespace

std::string zk_member_path(const zk_url& url, int64_t sequence) {
  return fmt::format("{}/{}{:010}", url.path, member_prefix, sequence);
}

election_actor spawn_zk_election(caf::actor_system& sys, zk_url url,
                                 caf::timespan session_timeout) {
  return caf::actor_cast<election_actor>(
    sys.spawn(zk_election, std::move(url), session_timeout));
}

} // namespace dcos
