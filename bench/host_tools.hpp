// What the benchmarks that race a well-known program (Unbound, HAProxy)
// share: whether a program is installed, and pinning the calling thread
// (and the threads it starts afterwards) to one core.
#pragma once

#include <sched.h>

#include <cstdlib>
#include <string>

namespace dcos::bench {

/// True if `program` is on PATH.
inline bool have(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str())
         == 0;
}

/// Pins the calling thread to `core`; threads it starts later inherit it.
inline void pin_to(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  ::sched_setaffinity(0, sizeof(set), &set);
}

} // namespace dcos::bench
