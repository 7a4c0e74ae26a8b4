// The allocator's policy with real numbers: DRF fairness, weights, quota,
// reservations, filters, suppression.
#include <map>
#include <random>
#include <set>

#include <doctest/doctest.h>

#include "support/checks.hpp"

#include "allocator/hierarchical_allocator.hpp"
#include "dcos/error.hpp"

using namespace dcos;
using namespace dcos::alloc;
using namespace std::chrono_literals;

namespace {

resources rs(std::string_view text, std::string_view role = "*") {
  auto parsed = resources::parse(text, role);
  DCOS_REQUIRE_OK(parsed);
  return *parsed;
}

// Frameworks that launch one task of a fixed shape per offer (if it fits)
// and hand the rest back at once, pass after pass.
struct cluster {
  hierarchical_allocator allocator{allocator_options{42}};
  time_point now{};
  std::map<std::string, resources> task_shape; // framework -> one task
  std::map<std::string, int> tasks;            // framework -> launched
  std::map<std::string, caf::timespan> refuse; // decline instead, with filter
  std::vector<offer_batch> last;

  void add_agents(int n, std::string_view text, std::string_view role = "*") {
    for (int i = 0; i < n; ++i)
      allocator.add_agent({"agent-" + std::to_string(i) + std::string(role),
                           rs(text, role), {}});
  }

  void add_framework(const std::string& id, std::vector<std::string> roles,
                     std::string_view task) {
    allocator.add_framework({id, std::move(roles), {}, true, {}});
    task_shape[id] = rs(task);
  }

  // Runs passes until nothing more is launched; returns the passes run.
  int run(int max_passes = 10'000) {
    int passes = 0;
    for (; passes < max_passes; ++passes) {
      now += 1s;
      last = allocator.allocate(now);
      bool launched = false;
      for (auto& batch : last) {
        for (auto& [agent, offered] : batch.agents) {
          auto role = offered.begin()->allocation_role;
          auto task = task_shape[batch.framework_id].allocate(role);
          if (refuse.count(batch.framework_id) > 0) {
            allocator.recover({batch.framework_id, agent, offered,
                               refuse[batch.framework_id]},
                              now);
            continue;
          }
          if (offered.contains(task)) {
            ++tasks[batch.framework_id];
            launched = true;
            allocator.recover({batch.framework_id, agent, offered - task, {}},
                              now);
          } else {
            allocator.recover({batch.framework_id, agent, offered, {}}, now);
          }
        }
      }
      if (!launched && last.empty())
        break;
      if (!launched && passes > 0 && refuse.empty())
        break;
    }
    return passes;
  }

  double cpus(const std::string& fw) {
    return allocator.allocated_to(fw).scalar("cpus").value_or(0);
  }

  double mem(const std::string& fw) {
    return allocator.allocated_to(fw).scalar("mem").value_or(0);
  }
};

} // namespace

TEST_CASE("DRF sorter: order, shares and lookups stay right as clients come "
          "and go, whether ids are scanned, hashed or dense") {
  for (bool dense : {false, true}) {
    CAPTURE(dense);
    drf_sorter sorter{dense};
    sorter.set_totals({1000, 4000});
    sorter.refresh();
    struct model_client {
      double weight;
      kind_vector allocation;
    };
    std::map<uint32_t, model_client> model;
    auto share_of = [](const model_client& c) {
      return std::max(c.allocation[0] / 1000.0, c.allocation[1] / 4000.0)
             / c.weight;
    };
    std::mt19937 rng{7};
    // Up to 40 clients: across the point where a sparse sorter switches
    // from scanning to hashing, in both directions, many times.
    for (int step = 0; step < 4000; ++step) {
      uint32_t id = rng() % 40;
      switch (rng() % 4) {
        case 0:
          if (model.count(id) == 0) {
            double weight = 1.0 + rng() % 3;
            sorter.add(id, weight);
            model[id] = {weight, {0, 0}};
          }
          break;
        case 1:
          sorter.remove(id);
          model.erase(id);
          break;
        default: {
          kind_vector delta{int64_t(rng() % 50), int64_t(rng() % 200)};
          int64_t sign = 1;
          if (auto i = model.find(id); i != model.end()) {
            sign = i->second.allocation[0] >= delta[0]
                       && i->second.allocation[1] >= delta[1] && rng() % 2
                     ? -1
                     : 1;
            add_into(i->second.allocation, delta, sign);
          }
          sorter.allocate(id, delta, sign);
        }
      }
      REQUIRE(sorter.size() == model.size());
      std::set<std::pair<double, uint32_t>> expected;
      for (auto& [cid, c] : model) {
        expected.emplace(share_of(c), cid);
        REQUIRE(sorter.contains(cid));
        auto got = sorter.allocation(cid); // empty until first allocated
        got.resize(2, 0);
        REQUIRE(got == c.allocation);
        REQUIRE(sorter.share(cid) == doctest::Approx(share_of(c)));
      }
      REQUIRE(sorter.order().size() == expected.size());
      auto it = expected.begin();
      for (auto& [share, cid] : sorter.order()) {
        REQUIRE(cid == it->second);
        REQUIRE(share == doctest::Approx(it->first));
        ++it;
      }
      for (uint32_t other = 0; other < 40; ++other)
        REQUIRE(sorter.contains(other) == (model.count(other) > 0));
    }
  }
}

TEST_CASE("DRF: equal weights converge to equal dominant shares") {
  cluster c;
  c.add_agents(20, "cpus:8;mem:16384");     // 160 cpus, 320 GiB
  c.add_framework("cpu-heavy", {"a"}, "cpus:1;mem:512");
  c.add_framework("mem-heavy", {"b"}, "cpus:0.25;mem:2048");
  c.run();
  // Each task is 1/160 of the dominant resource of its framework.
  double share_a = c.cpus("cpu-heavy") / 160.0;
  double share_b = c.mem("mem-heavy") / (20 * 16384.0);
  CAPTURE(c.tasks["cpu-heavy"]);
  CAPTURE(c.tasks["mem-heavy"]);
  // Ran until no task fits anywhere (fragmentation leaves a little).
  CHECK(c.tasks["cpu-heavy"] + c.tasks["mem-heavy"] >= 200);
  CHECK(std::abs(share_a - share_b) <= 1.0 / 160 + 1e-9);
  CHECK(c.allocator.role_share("a") == doctest::Approx(share_a));
}

TEST_CASE("DRF: weights 2:1 converge to shares 2:1") {
  cluster c;
  c.add_agents(20, "cpus:8;mem:16384");
  c.allocator.set_weights({{{"gold", 2.0}, {"bronze", 1.0}}});
  c.add_framework("g", {"gold"}, "cpus:1;mem:1024");
  c.add_framework("b", {"bronze"}, "cpus:1;mem:1024");
  c.run();
  CAPTURE(c.tasks["g"]);
  CAPTURE(c.tasks["b"]);
  CHECK(c.tasks["g"] + c.tasks["b"] == 160); // the cluster is full
  double ratio = c.cpus("g") / c.cpus("b");
  CHECK(ratio == doctest::Approx(2.0).epsilon(0.05));
}

TEST_CASE("quota: guarantees are met before fair sharing") {
  cluster c;
  c.add_agents(20, "cpus:8;mem:16384");
  c.allocator.set_quota({"q", {{"cpus", 80'000}}, {}});
  c.add_framework("fq", {"q"}, "cpus:1;mem:128");
  for (int i = 0; i < 3; ++i)
    c.add_framework("f" + std::to_string(i), {"r" + std::to_string(i)},
                    "cpus:1;mem:128");
  c.run();
  // Fair share alone would give each of four roles 40 cpus.
  CAPTURE(c.cpus("fq"));
  CHECK(c.cpus("fq") >= 80);
  CHECK(c.cpus("f0") + c.cpus("f1") + c.cpus("f2") == 160 - c.cpus("fq"));
}

TEST_CASE("quota: limits are never exceeded, offers are chopped to fit") {
  cluster c;
  c.add_agents(4, "cpus:8;mem:16384");
  c.allocator.set_quota({"capped", {}, {{"cpus", 10'000}}});
  c.add_framework("f", {"capped"}, "cpus:0.5;mem:64");
  for (int pass = 0; pass < 200; ++pass) {
    c.now += 1s;
    for (auto& batch : c.allocator.allocate(c.now)) {
      for (auto& [agent, offered] : batch.agents)
        CHECK(offered.scalar("cpus").value_or(0) <= 10.0);
    }
    CHECK(c.cpus("f") <= 10.0);
  }
  CHECK(c.cpus("f") == 10.0); // everything offered is kept: exactly the limit
}

TEST_CASE("quota: a parent's limit binds its sub-roles together") {
  // As in Mesos: "batch" limits what "batch/etl" and "batch/nightly" hold
  // between them (the simulation's quota check found this missing).
  cluster c;
  c.add_agents(4, "cpus:8;mem:16384");
  c.allocator.set_quota({"batch", {}, {{"cpus", 6'000}}});
  c.add_framework("etl", {"batch/etl"}, "cpus:0.5;mem:64");
  c.add_framework("nightly", {"batch/nightly"}, "cpus:0.5;mem:64");
  c.add_framework("web", {"web"}, "cpus:0.5;mem:64");
  c.run();
  CAPTURE(c.cpus("etl"));
  CAPTURE(c.cpus("nightly"));
  CHECK(c.cpus("etl") + c.cpus("nightly") == doctest::Approx(6.0));
  CHECK(c.cpus("etl") > 0);
  CHECK(c.cpus("nightly") > 0);
  CHECK(c.cpus("web") > 0); // an unlimited role still gets offers
}

TEST_CASE("reserved resources reach only their role") {
  cluster c;
  c.allocator.add_agent({"a1", rs("cpus:4;mem:4096") + rs("cpus:4;mem:4096",
                                                          "db"),
                         {}});
  c.add_framework("web", {"web"}, "cpus:1;mem:128");
  c.add_framework("db", {"db"}, "cpus:1;mem:128");
  for (int pass = 0; pass < 50; ++pass) {
    c.now += 1s;
    for (auto& batch : c.allocator.allocate(c.now)) {
      for (auto& [agent, offered] : batch.agents) {
        if (batch.framework_id == "web")
          CHECK(offered.reserved().empty());
        // keep everything: the test only watches where it goes
      }
    }
  }
  CHECK(c.allocator.allocated_to("db").reserved("db").scalar("cpus") == 4.0);
  CHECK(c.allocator.allocated_to("web").reserved().empty());
}

TEST_CASE("filters keep declined resources away until they expire") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:4;mem:1024"), {}});
  a.add_framework({"f1", {"*"}, {}, true, {}});
  time_point now{};
  auto offers = a.allocate(now);
  REQUIRE(offers.size() == 1);
  auto offered = offers[0].agents[0].second;
  a.recover({"f1", "a1", offered, 5s}, now); // DECLINE with refuse_seconds=5
  CHECK(a.active_filters() == 1);
  CHECK(a.allocate(now + 1s).empty());       // filtered
  CHECK(a.allocate(now + 4900ms).empty());
  auto again = a.allocate(now + 5s);         // the filter lapsed
  REQUIRE(again.size() == 1);
  CHECK(again[0].agents[0].second == offered);
  CHECK(a.active_filters() == 0);
}

TEST_CASE("a filter covers only what was declined") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:4;mem:1024"), {}});
  a.add_framework({"f1", {"*"}, {}, true, {}});
  time_point now{};
  auto offered = a.allocate(now)[0].agents[0].second;
  // Declines half; the other half is used by a task.
  auto half = rs("cpus:2;mem:512").allocate("*");
  a.recover({"f1", "a1", half, 60s}, now);
  CHECK(a.allocate(now + 1s).empty());
  // The task ends: more than the filtered amount is free, so it is offered.
  a.recover({"f1", "a1", offered - half, {}}, now + 2s);
  CHECK(a.allocate(now + 3s).size() == 1);
}

TEST_CASE("filters and suppression pass the resources to other frameworks") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:4;mem:1024"), {}});
  a.add_framework({"f1", {"*"}, {}, true, {}});
  a.add_framework({"f2", {"*"}, {}, true, {}});
  time_point now{};
  auto first = a.allocate(now);
  REQUIRE(first.size() == 1);
  auto taker = first[0].framework_id;
  auto other = taker == "f1" ? "f2" : "f1";
  a.recover({taker, "a1", first[0].agents[0].second, 30s}, now);
  auto second = a.allocate(now + 1s);
  REQUIRE(second.size() == 1);
  CHECK(second[0].framework_id == other);
  a.suppress({other, {}});
  a.recover({other, "a1", second[0].agents[0].second, {}}, now + 2s);
  CHECK(a.allocate(now + 3s).empty()); // one filters, the other suppressed
  a.revive({taker, {}});               // revive clears its filters
  auto third = a.allocate(now + 4s);
  REQUIRE(third.size() == 1);
  CHECK(third[0].framework_id == taker);
}

TEST_CASE("inactive frameworks and agents get nothing; removal returns all") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:4;mem:1024"), {}});
  a.add_framework({"f1", {"*"}, {}, false, {}});
  time_point now{};
  CHECK(a.allocate(now).empty());
  a.activate_framework("f1", true);
  a.activate_agent("a1", false);
  CHECK(a.allocate(now).empty());
  a.activate_agent("a1", true);
  CHECK(a.allocate(now).size() == 1);
  CHECK(a.available("a1")->empty());
  a.remove_framework("f1");
  CHECK(*a.available("a1") == rs("cpus:4;mem:1024"));
}

TEST_CASE("leftovers below the minimum are not offered") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:0.005;mem:16;ports:[1-10]"), {}});
  a.add_framework({"f1", {"*"}, {}, true, {}});
  CHECK(a.allocate(time_point{}).empty());
}

TEST_CASE("re-registered agents and re-subscribed frameworks keep their use") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_framework({"f1", {"web"}, {}, true, {}});
  a.add_agent({"a1", rs("cpus:4;mem:1024"),
               {{"f1", rs("cpus:3;mem:512").allocate("web")}}});
  CHECK(*a.available("a1") == rs("cpus:1;mem:512"));
  CHECK(a.role_share("web") == doctest::Approx(0.75));
}

TEST_CASE("RESERVE on allocated resources converts them in place") {
  hierarchical_allocator a{allocator_options{7}};
  a.add_agent({"a1", rs("cpus:4;mem:1024"), {}});
  a.add_framework({"f1", {"db"}, {}, true, {}});
  auto offered = a.allocate(time_point{})[0].agents[0].second;
  reservation level{reservation::kind::dynamic_reservation, "db", "ops", {}};
  auto reserved = offered.unallocate().push_reservation(level).allocate("db");
  a.convert({"f1", "a1", offered, reserved});
  a.recover({"f1", "a1", reserved, {}}, time_point{});
  CHECK(a.available("a1")->reserved("db").scalar("cpus") == 4.0);
  CHECK(a.allocated_to("f1").empty());
}

// -- the actor: coalescing and timers in virtual time ---------------------------------

#include "dcos/allocator_actor.hpp"
#include "support/deterministic.hpp"

namespace {

struct offer_sink {
  std::vector<offer_batch> batches;
};

allocator_client::behavior_type collect(allocator_client::pointer,
                                        std::shared_ptr<offer_sink> sink) {
  return {[sink](offer_batch& b) { sink->batches.push_back(std::move(b)); }};
}

alloc::allocator_stats stats_of(test::deterministic_system& ds,
                                const allocator_actor& a) {
  auto out = std::make_shared<alloc::allocator_stats>();
  ds.sys().spawn([=](caf::event_based_actor* self) {
    self->request(a, caf::infinite, metrics_atom::value)
      .then([out](const alloc::allocator_stats& s) { *out = s; });
  });
  ds.run();
  return *out;
}

} // namespace

TEST_CASE("allocator actor: a burst of events costs one pass") {
  test::deterministic_system ds;
  auto sink = std::make_shared<offer_sink>();
  auto client = ds.track(ds.sys().spawn(collect, sink));
  auto a = ds.track(spawn_allocator(ds.sys(), client, allocator_config{1s, 1}));
  caf::anon_send(a, add_framework{"f1", {"*"}, {}, true, {}});
  for (int i = 0; i < 100; ++i)
    caf::anon_send(a, add_agent{"a" + std::to_string(i), rs("cpus:1;mem:64"),
                                {}});
  ds.run();
  auto stats = stats_of(ds, a);
  CHECK(stats.allocation_runs == 1);
  CHECK(stats.events == 101);
  REQUIRE(sink->batches.size() == 1);
  CHECK(sink->batches[0].agents.size() == 100);
  // The periodic pass runs on the actor clock.
  ds.advance(3s);
  CHECK(stats_of(ds, a).allocation_runs == 4);
}

TEST_CASE("allocator actor: declined resources return when the filter "
          "lapses in virtual time") {
  test::deterministic_system ds;
  auto sink = std::make_shared<offer_sink>();
  auto client = ds.track(ds.sys().spawn(collect, sink));
  // A long period, so that only the filter's own timer can bring the offer.
  auto a = ds.track(
    spawn_allocator(ds.sys(), client, allocator_config{std::chrono::hours(1), 1}));
  caf::anon_send(a, add_framework{"f1", {"*"}, {}, true, {}});
  caf::anon_send(a, add_agent{"a1", rs("cpus:2;mem:64"), {}});
  ds.run();
  REQUIRE(sink->batches.size() == 1);
  auto offered = sink->batches[0].agents[0].second;
  caf::anon_send(a, recover{"f1", "a1", offered, caf::timespan{5s}});
  ds.advance(4900ms);
  CHECK(sink->batches.size() == 1);
  ds.advance(200ms);
  REQUIRE(sink->batches.size() == 2);
  CHECK(sink->batches[1].agents[0].second == offered);
}
