// Leader election and leader detection on a real ZooKeeper (Debian's
// package, started by the test on loopback).
#include <chrono>
#include <optional>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "dcos/detector_actor.hpp"
#include "dcos/election_actor.hpp"
#include "dcos/json.hpp"
#include "support/network_node.hpp"
#include "support/processes.hpp"
#include "support/tcp_proxy.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;

namespace {

constexpr auto session = test_zk_session;

struct leader_view {
  int64_t seq = -2;
  std::string data;
};

// The election's answer to leader(previous), waiting up to 30 s.
leader_view leader_after(caf::scoped_actor& self, const election_actor& e,
                         int64_t previous) {
  leader_view out;
  self->request(e, 30s, leader_atom::value, previous)
    .receive([&](int64_t seq, std::string& data) { out = {seq, data}; },
             [&](caf::error& err) { FAIL("leader(): " << describe(err)); });
  return out;
}

int64_t contend(caf::scoped_actor& self, const election_actor& e,
                const std::string& data) {
  int64_t seq = -1;
  self->request(e, 30s, contend_atom::value, data)
    .receive([&](int64_t s) { seq = s; },
             [&](caf::error& err) { FAIL("contend(): " << describe(err)); });
  return seq;
}

// The reason lost() gives, or "" if it does not answer within `wait`.
std::string lost_within(caf::scoped_actor& self, const election_actor& e,
                        caf::timespan wait) {
  std::string why;
  self->request(e, wait, lost_atom::value)
    .receive([&](std::string& reason) { why = reason; },
             [&](caf::error&) {});
  return why;
}

// The election's answer to members(), waiting up to 30 s.
std::vector<std::string> members_of(caf::scoped_actor& self,
                                    const election_actor& e) {
  std::vector<std::string> out;
  self->request(e, 30s, members_atom::value)
    .receive([&](std::vector<std::string>& data) { out = std::move(data); },
             [&](caf::error& err) { FAIL("members(): " << describe(err)); });
  return out;
}

// The election's answer to members(previous) within `wait`, or nullopt.
std::optional<std::vector<std::string>>
members_after(caf::scoped_actor& self, const election_actor& e,
              std::vector<std::string> previous, caf::timespan wait = 30s) {
  std::optional<std::vector<std::string>> out;
  self->request(e, wait, members_atom::value, std::move(previous))
    .receive([&](std::vector<std::string>& data) { out = std::move(data); },
             [&](caf::error&) {});
  return out;
}

// A MasterInfo as a master's candidacy carries it.
std::string master_info_json(const master_process& m) {
  v1::MasterInfo info;
  info.set_id("master-" + std::to_string(m.port));
  info.set_port(m.port);
  info.mutable_address()->set_ip("127.0.0.1");
  info.mutable_address()->set_port(m.port);
  return to_json(info);
}

// The HTTP port of the master behind `hdl`, asked with GET_MASTER.
uint32_t port_of(caf::scoped_actor& self, const master_actor& hdl) {
  v1::master::Call call;
  call.set_type(v1::master::Call::GET_MASTER);
  uint32_t port = 0;
  self->request(hdl, 30s, call)
    .receive(
      [&](v1::master::Response& r) {
        port = r.get_master().master_info().port();
      },
      [&](caf::error& err) { FAIL("GET_MASTER: " << describe(err)); });
  return port;
}

master_actor detect(caf::scoped_actor& self, const detector_actor& d,
                    const master_actor& previous) {
  master_actor found;
  self->request(d, 60s, detect_atom::value, previous)
    .receive([&](master_actor& m) { found = std::move(m); },
             [&](caf::error& err) { FAIL("detect(): " << describe(err)); });
  return found;
}

} // namespace

TEST_CASE("the lowest member leads; when it leaves, the next one does") {
  test_zookeeper zk;
  network_node node;
  caf::scoped_actor self{*node.sys};
  auto url = parse_test_zk_url(zk.url("/dcos/election"));
  auto first = spawn_zk_election(*node.sys, url, session);
  auto second = node.keep(spawn_zk_election(*node.sys, url, session));
  auto follower = node.keep(spawn_zk_election(*node.sys, url, session));

  auto s1 = contend(self, first, "one");
  auto s2 = contend(self, second, "two");
  CHECK(s2 > s1);
  auto seen = leader_after(self, follower, -1);
  CHECK(seen.seq == s1);
  CHECK(seen.data == "one");
  CHECK(leader_after(self, second, -1).seq == s1);
  // Anyone can list the members, the leader's data first.
  CHECK(members_of(self, follower) == std::vector<std::string>{"one", "two"});
  // Following the membership: answered at once when it differs, else when
  // it changes.
  CHECK(members_after(self, follower, {})
        == std::vector<std::string>{"one", "two"});
  CHECK_FALSE(members_after(self, follower, {"one", "two"}, 500ms));
  auto watch = self->request(follower, 30s, members_atom::value,
                             std::vector<std::string>{"one", "two"});

  // One candidacy per election actor.
  self->request(second, 30s, contend_atom::value, std::string{"again"})
    .receive([&](int64_t) { FAIL("a second contend() succeeded"); },
             [&](caf::error& err) {
               CHECK(code_of(err) == errc::conflict);
             });

  // The leader leaves (its session closes): the next one leads, and the
  // remaining candidacy is not lost.
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  watch.receive(
    [&](std::vector<std::string>& data) {
      CHECK(data == std::vector<std::string>{"two"});
    },
    [&](caf::error& err) { FAIL("members(previous): " << describe(err)); });
  seen = leader_after(self, follower, s1);
  CHECK(seen.seq == s2);
  CHECK(seen.data == "two");
  CHECK(leader_after(self, second, s1).seq == s2);
  CHECK(members_of(self, follower) == std::vector<std::string>{"two"});
  CHECK(lost_within(self, second, 500ms).empty());
  // Without a candidacy, lost() answers at once.
  CHECK(lost_within(self, follower, 5s) == "no candidacy");
}

TEST_CASE("a member cut off from ZooKeeper stops being a member before its "
          "session can expire, and the next one leads") {
  test_zookeeper zk;
  tcp_proxy path_of_first{static_cast<uint16_t>(
    std::stoi(zk.servers().substr(zk.servers().rfind(':') + 1)))};
  network_node node;
  caf::scoped_actor self{*node.sys};
  auto direct = parse_test_zk_url(zk.url("/ha"));
  auto proxied = parse_test_zk_url("zk://127.0.0.1:" + std::to_string(path_of_first.port())
                        + "/ha");
  auto first = node.keep(spawn_zk_election(*node.sys, proxied, session));
  auto second = node.keep(spawn_zk_election(*node.sys, direct, session));
  auto s1 = contend(self, first, "one");
  auto s2 = contend(self, second, "two");
  REQUIRE(leader_after(self, second, -1).seq == s1);

  auto cut_at = std::chrono::steady_clock::now();
  path_of_first.cut();
  // The cut-off leader gives up on its own before the server may expire its
  // session: 11/12 of a session timeout after the server last answered its
  // heartbeat (one every third of a timeout, so at most that long before
  // the cut)...
  auto why = lost_within(self, first, 30s);
  auto gave_up_after = std::chrono::steady_clock::now() - cut_at;
  CHECK(why.find("may have expired the session") != std::string::npos);
  CHECK(gave_up_after >= session / 2);
  CHECK(gave_up_after < session);
  // ... and ZooKeeper, expiring its session, hands leadership over.
  auto seen = leader_after(self, second, s1);
  CHECK(seen.seq == s2);
  CHECK(seen.data == "two");

  // Back in touch, the old member follows the new leader and stays out.
  path_of_first.restore();
  seen = leader_after(self, first, -1);
  CHECK(seen.seq == s2);
  CHECK(lost_within(self, first, 5s) == "no candidacy");
}

TEST_CASE("--master=zk:// finds the leading master and follows a new one") {
  test_zookeeper zk;
  master_process m1;
  master_process m2;
  network_node node;
  caf::scoped_actor self{*node.sys};
  auto url = parse_test_zk_url(zk.url("/mesos"));
  auto e1 = spawn_zk_election(*node.sys, url, session);
  auto e2 = node.keep(spawn_zk_election(*node.sys, url, session));
  contend(self, e1, master_info_json(m1));
  contend(self, e2, master_info_json(m2));

  auto where = parse_master_location(zk.url("/mesos"));
  DCOS_REQUIRE_OK(where);
  auto detector = node.keep(spawn_detector(*node.sys, *where, session));
  auto leading = detect(self, detector, master_actor{});
  CHECK(port_of(self, leading) == m1.port);

  // The leader goes, as a master that loses its candidacy does: the
  // detector's caller loses its link and asks again.
  caf::anon_send_exit(e1, caf::exit_reason::user_shutdown);
  m1.process.terminate();
  auto next = detect(self, detector, leading);
  CHECK(next != leading);
  CHECK(port_of(self, next) == m2.port);
}

TEST_CASE("an election path without permission fails with ZooKeeper's "
          "reason; an unreachable ensemble makes requests wait") {
  test_zookeeper zk;
  network_node node;
  caf::scoped_actor self{*node.sys};
  // Alice's znodes are world-readable, writable only by her (Mesos' ACL).
  auto alice = node.keep(spawn_zk_election(
    *node.sys, parse_test_zk_url("zk://alice:secret@" + zk.servers() + "/locked"),
    session));
  contend(self, alice, "alice");
  auto bob = node.keep(spawn_zk_election(
    *node.sys, parse_test_zk_url("zk://bob:secret@" + zk.servers() + "/locked/inner"),
    session));
  self->request(bob, 30s, contend_atom::value, std::string{"bob"})
    .receive([&](int64_t) { FAIL("bob contended under alice's znode"); },
             [&](caf::error& err) {
               auto text = describe(err);
               CHECK(text.find("cannot create /locked/inner") != std::string::npos);
               CHECK(text.find("ZNOAUTH") != std::string::npos);
               CHECK(text.find("secret") == std::string::npos);
             });
  // Bob may still read who leads Alice's election.
  auto reader = node.keep(spawn_zk_election(
    *node.sys, parse_test_zk_url("zk://bob:secret@" + zk.servers() + "/locked"),
    session));
  CHECK(leader_after(self, reader, -1).data == "alice");

  auto nowhere = node.keep(spawn_zk_election(
    *node.sys, parse_test_zk_url("zk://127.0.0.1:" + std::to_string(free_port()) + "/x"),
    session));
  self->request(nowhere, 3s, contend_atom::value, std::string{"me"})
    .receive([&](int64_t) { FAIL("contended without a ZooKeeper"); },
             [&](caf::error& err) {
               CHECK(err == caf::sec::request_timeout);
             });
}
