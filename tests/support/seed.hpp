// Seeds for property-style tests. DCOS_TEST_SEED=N reproduces a run; without
// it each run draws a fresh seed and prints it, so a failure names its seed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace dcos::test {

inline uint64_t test_seed() {
  static const uint64_t seed = [] {
    if (const char* text = std::getenv("DCOS_TEST_SEED"))
      return static_cast<uint64_t>(std::stoull(text));
    return static_cast<uint64_t>(std::random_device{}()) << 32
           | std::random_device{}();
  }();
  return seed;
}

/// The seeds a simulation sweep runs: DCOS_SIM_SEED=N alone (to replay a
/// failure), else 1 to DCOS_SIM_SEEDS (default `count`).
inline std::vector<uint64_t> sim_seeds(uint64_t count) {
  if (const char* one = std::getenv("DCOS_SIM_SEED"))
    return {static_cast<uint64_t>(std::stoull(one))};
  if (const char* text = std::getenv("DCOS_SIM_SEEDS"))
    count = std::stoull(text);
  std::vector<uint64_t> out;
  for (uint64_t seed = 1; seed <= count; ++seed)
    out.push_back(seed);
  return out;
}

} // namespace dcos::test

// Puts the seed into every failure report of the enclosing scope.
#define DCOS_TEST_SEED_INFO()                                                 \
  INFO("reproduce with DCOS_TEST_SEED=" << ::dcos::test::test_seed())
