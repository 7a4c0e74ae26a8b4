// Proof that the simulation catches bugs: the kernel with a known fault
// switched on (dcos/buggify.hpp) must fail the sweep, with a report that
// names the broken invariant and the command that replays it.
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/sim.hpp"

using namespace dcos;

namespace {

sim::scenario contention() {
  auto sc = sim::parse_scenario(R"(
name: mutation
agents:
  - count: 5
    resources: "cpus:4;mem:8192"
frameworks:
  - name: a
    tasks: 40
    task_resources: "cpus:1;mem:512"
    task_duration: [1s, 5s]
  - name: b
    tasks: 40
    task_resources: "cpus:1;mem:512"
    task_duration: [1s, 5s]
faults_from: 0s
faults_until: 1s
time_limit: 10m
)");
  REQUIRE(sc);
  return *sc;
}

} // namespace

TEST_CASE("the unmodified kernel passes the mutation scenario") {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    sim::simulation s{contention(), seed};
    auto r = s.run();
    CHECK_MESSAGE(r.passed, "seed " << seed << ": " << r.violation);
  }
}

TEST_CASE("an allocator that offers resources twice is caught") {
  auto sc = contention();
  sc.mutation = "allocator_double_offer";
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    sim::simulation s{sc, seed};
    auto r = s.run();
    CHECK_FALSE(r.passed);
    CHECK_MESSAGE(r.violation.find("offers outstanding") != std::string::npos,
                  r.violation);
    CHECK(r.replay.find("--mutation=allocator_double_offer")
          != std::string::npos);
  }
}

TEST_CASE("an agent that acknowledges updates before they are on disk is "
          "caught") {
  // The scenario with every kind of crash: an agent that dies between
  // acknowledging an executor's update and writing it loses the update, and
  // its framework learns a different end of the task.
  const char* dir = std::getenv("DCOS_SIM_SCENARIO_DIR");
  REQUIRE(dir != nullptr);
  auto sc = sim::load_scenario(std::string{dir} + "/mixed_workload.yaml");
  REQUIRE(sc);
  sc->mutation = "agent_ack_before_checkpoint";
  int caught = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    sim::simulation s{*sc, seed};
    auto r = s.run();
    if (r.passed)
      continue;
    ++caught;
    CHECK_MESSAGE(r.violation.find("took over the") != std::string::npos,
                  r.violation);
    CHECK(r.replay.find("--mutation=agent_ack_before_checkpoint")
          != std::string::npos);
  }
  CHECK(caught >= 5);
}

TEST_CASE("a master that keeps returned tasks unreachable is caught") {
  // The tasks of an agent back from a partition stay TASK_UNREACHABLE in the
  // master's view. No framework sees a wrong state, so only the audit of the
  // master's view after the faults (or, when the master then mis-counts a
  // second partition of the same agent, the over-commitment check) finds it.
  const char* dir = std::getenv("DCOS_SIM_SCENARIO_DIR");
  REQUIRE(dir != nullptr);
  auto sc = sim::load_scenario(std::string{dir} + "/rolling_partitions.yaml");
  REQUIRE(sc);
  sc->mutation = "master_keeps_tasks_unreachable";
  int caught = 0, by_audit = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    sim::simulation s{*sc, seed};
    auto r = s.run();
    if (r.passed)
      continue;
    ++caught;
    if (r.violation.find("did not converge") != std::string::npos) {
      ++by_audit;
      CHECK_MESSAGE(r.violation.find("as unreachable, but") != std::string::npos,
                    r.violation);
    }
  }
  CHECK(caught >= 6);
  CHECK(by_audit >= 3);
}

TEST_CASE("an allocator that ignores reservations or quota is caught") {
  const char* dir = std::getenv("DCOS_SIM_SCENARIO_DIR");
  REQUIRE(dir != nullptr);
  auto sc = sim::load_scenario(std::string{dir} + "/quota_reservations.yaml");
  REQUIRE(sc);
  struct expectation {
    const char* mutation;
    const char* violation;
  };
  for (auto [mutation, violation] :
       {expectation{"allocator_ignores_reservations", "reserved for role 'ops'"},
        expectation{"allocator_ignores_quota", "over its quota limit"}}) {
    CAPTURE(mutation);
    sc->mutation = mutation;
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      sim::simulation s{*sc, seed};
      auto r = s.run();
      CHECK_FALSE(r.passed);
      CHECK_MESSAGE(r.violation.find(violation) != std::string::npos,
                    r.violation);
    }
  }
}

TEST_CASE("an allocator that ignores role weights is caught") {
  const char* dir = std::getenv("DCOS_SIM_SCENARIO_DIR");
  REQUIRE(dir != nullptr);
  auto sc = sim::load_scenario(std::string{dir} + "/drf_contention.yaml");
  REQUIRE(sc);
  sc->mutation = "allocator_ignores_weights";
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    sim::simulation s{*sc, seed};
    auto r = s.run();
    CHECK_FALSE(r.passed);
    CHECK_MESSAGE(r.violation.find("role 'heavy' with weight 3 held")
                    != std::string::npos,
                  r.violation);
  }
}

TEST_CASE("a bad scenario names the field at fault") {
  auto bad = sim::parse_scenario("agents: [{count: 2, resources: 'cpus:1'}]\n"
                                 "frameworks: [{tasks: 3, task_failure: 2}]\n");
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("frameworks[0].task_failure")
        != std::string::npos);
  auto typo = sim::parse_scenario("agents: [{count: 2, resources: 'cpus:1'}]\n"
                                  "linkz: {drop: 0.1}\n");
  REQUIRE_FALSE(typo);
  CHECK(describe(typo.error()).find("linkz") != std::string::npos);
  auto unit = sim::parse_scenario("agents: [{count: 2, resources: 'cpus:1'}]\n"
                                  "time_limit: 30\n");
  REQUIRE_FALSE(unit);
  CHECK(describe(unit.error()).find("time_limit") != std::string::npos);
  auto quota = sim::parse_scenario("agents: [{count: 2, resources: 'cpus:1'}]\n"
                                   "quota: {batch: 'cpus:lots'}\n");
  REQUIRE_FALSE(quota);
  CHECK(describe(quota.error()).find("quota.batch") != std::string::npos);
}
