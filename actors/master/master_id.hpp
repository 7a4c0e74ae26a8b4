// A master's id, "xxxxxxxx-xxxx-xxxx", drawn from its seeded engine. A
// master seeded with S starts as initial_master_id(S): its candidacy for
// leadership announces that id before the master itself exists.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace dcos::kernel {

std::string draw_master_id(std::mt19937_64& rng);

inline std::string initial_master_id(uint64_t seed) {
  std::mt19937_64 rng{seed};
  return draw_master_id(rng);
}

} // namespace dcos::kernel
