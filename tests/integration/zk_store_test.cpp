// The store in ZooKeeper that several masters share for the registry, on a
// real ZooKeeper started by the test.
#include <chrono>
#include <random>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "dcos/election_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/store_actor.hpp"
#include "support/network_node.hpp"
#include "support/zookeeper.hpp"

#include <dcos/v1/internal.pb.h>

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;

namespace {

constexpr auto session = test_zk_session;

caf::error put(caf::scoped_actor& self, const store_actor& s,
               const std::string& key, const std::string& value) {
  caf::error out;
  self->request(s, 60s, put_atom::value, key, value)
    .receive([](ok_atom) {}, [&](caf::error& err) { out = err; });
  return out;
}

caf::expected<std::string> get(caf::scoped_actor& self, const store_actor& s,
                               const std::string& key) {
  caf::expected<std::string> out{std::string{}};
  self->request(s, 60s, get_atom::value, key)
    .receive([&](std::string& v) { out = std::move(v); },
             [&](caf::error& err) { out = err; });
  return out;
}

std::vector<std::string> keys(caf::scoped_actor& self, const store_actor& s,
                              const std::string& prefix) {
  std::vector<std::string> out;
  self->request(s, 60s, keys_atom::value, prefix)
    .receive([&](std::vector<std::string>& k) { out = std::move(k); },
             [&](caf::error& err) { FAIL("keys(): " << describe(err)); });
  return out;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng{seed};
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng());
  return out;
}

} // namespace

TEST_CASE("values of any size go in, come out, are listed and erased") {
  test_zookeeper zk;
  network_node node;
  caf::scoped_actor self{*node.sys};
  auto store = node.keep(spawn_zk_store(*node.sys, parse_test_zk_url(zk.url("/a/store")),
                                        "", session));
  CHECK(code_of(get(self, store, "registry").error()) == errc::not_found);
  CHECK_FALSE(put(self, store, "registry", "small"));
  CHECK(get(self, store, "registry") == "small");

  // Bigger than a znode holds: chunked, and replaced whole.
  auto big = random_bytes(3 * 1024 * 1024 + 17, 1);
  CHECK_FALSE(put(self, store, "registry", big));
  CHECK(get(self, store, "registry") == big);
  auto bigger = random_bytes(5 * 1024 * 1024, 2);
  CHECK_FALSE(put(self, store, "registry", bigger));
  CHECK(get(self, store, "registry") == bigger);
  CHECK_FALSE(put(self, store, "registry", "small again"));
  CHECK(get(self, store, "registry") == "small again");

  // Keys with '/' and other bytes keep their names.
  CHECK_FALSE(put(self, store, "checkpoint/executors/a b~1", "x"));
  CHECK_FALSE(put(self, store, "checkpoint/tasks/t%1", "y"));
  CHECK(keys(self, store, "checkpoint/")
        == std::vector<std::string>{"checkpoint/executors/a b~1",
                                    "checkpoint/tasks/t%1"});
  CHECK(keys(self, store, "") .size() == 3);

  self->request(store, 60s, append_atom::value, std::string{"log"},
                std::string{"one,"})
    .receive([](ok_atom) {}, [](caf::error& e) { FAIL(describe(e)); });
  self->request(store, 60s, append_atom::value, std::string{"log"},
                std::string{"two"})
    .receive([](ok_atom) {}, [](caf::error& e) { FAIL(describe(e)); });
  CHECK(get(self, store, "log") == "one,two");

  self->request(store, 60s, erase_atom::value, std::string{"registry"})
    .receive([](ok_atom) {}, [](caf::error& e) { FAIL(describe(e)); });
  CHECK(code_of(get(self, store, "registry").error()) == errc::not_found);
  self->request(store, 60s, erase_atom::value, std::string{"never"})
    .receive([](ok_atom) {}, [](caf::error& e) { FAIL(describe(e)); });

  // The same data through another session, after a ZooKeeper restart.
  zk.restart();
  auto other = node.keep(spawn_zk_store(*node.sys, parse_test_zk_url(zk.url("/a/store")),
                                        "", session));
  CHECK(get(self, other, "log") == "one,two");
  CHECK_FALSE(put(self, store, "after", "restart"));
  CHECK(get(self, other, "after") == "restart");
}

TEST_CASE("a registry of 50,000 agents is stored and loaded") {
  test_zookeeper zk;
  network_node node;
  caf::scoped_actor self{*node.sys};
  v1::internal::Registry reg;
  auto per_agent = resources::parse("cpus:8;mem:32768;disk:100000;"
                                    "ports:[31000-32000]");
  DCOS_REQUIRE_OK(per_agent);
  for (int i = 0; i < 50'000; ++i) {
    auto& info = *reg.add_agents()->mutable_info();
    info.set_hostname("agent-" + std::to_string(i) + ".cluster.example");
    info.mutable_id()->set_value("S" + std::to_string(i));
    per_agent->to_proto(info.mutable_resources());
  }
  auto bytes = reg.SerializeAsString();
  MESSAGE("registry of 50,000 agents: " << bytes.size() << " bytes");
  REQUIRE(bytes.size() > 4 * 1024 * 1024);
  auto writer = node.keep(spawn_zk_store(*node.sys, parse_test_zk_url(zk.url("/mesos")),
                                         "", session));
  CHECK_FALSE(put(self, writer, "registry", bytes));
  auto reader = node.keep(spawn_zk_store(*node.sys, parse_test_zk_url(zk.url("/mesos")),
                                         "", session));
  auto loaded = get(self, reader, "registry");
  DCOS_REQUIRE_OK(loaded);
  v1::internal::Registry back;
  REQUIRE(back.ParseFromString(*loaded));
  CHECK(back.agents_size() == 50'000);
  CHECK(back.agents(49'999).info().hostname()
        == "agent-49999.cluster.example");
}

TEST_CASE("once the writer's election znode is gone, nothing it writes "
          "lands") {
  test_zookeeper zk;
  network_node node;
  caf::scoped_actor self{*node.sys};
  auto election_url = parse_test_zk_url(zk.url("/mesos"));
  auto election = spawn_zk_election(*node.sys, election_url, session);
  int64_t seq = -1;
  self->request(election, 60s, contend_atom::value, std::string{"m1"})
    .receive([&](int64_t s) { seq = s; },
             [](caf::error& e) { FAIL(describe(e)); });
  auto fence = zk_member_path(election_url, seq);
  auto store = node.keep(spawn_zk_store(
    *node.sys, parse_test_zk_url(zk.url("/mesos/registry")), fence, session));
  auto big = random_bytes(2 * 1024 * 1024, 3);
  CHECK_FALSE(put(self, store, "registry", "while leading"));
  CHECK_FALSE(put(self, store, "big", big));

  // Deposed: its membership ends (as when its session expires).
  caf::anon_send_exit(election, caf::exit_reason::user_shutdown);
  caf::error refused;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = put(self, store, "registry", "after losing the lead");
    if (!refused)
      std::this_thread::sleep_for(100ms); // the znode is not gone yet
  }
  REQUIRE(refused);
  CHECK(code_of(refused) == errc::conflict);
  CHECK(describe(refused).find(fence) != std::string::npos);
  // Neither a small nor a chunked write lands; the successor's data stays.
  CHECK(code_of(put(self, store, "big", random_bytes(2 * 1024 * 1024, 4)))
        == errc::conflict);
  auto reader = node.keep(spawn_zk_store(
    *node.sys, parse_test_zk_url(zk.url("/mesos/registry")), "", session));
  CHECK(get(self, reader, "big") == big);
  auto last = get(self, reader, "registry");
  CHECK((last == "while leading" || last == "after losing the lead"));
  CHECK(get(self, reader, "registry") == last);
}
