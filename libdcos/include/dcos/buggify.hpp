// Fault points inside kernel code, in the spirit of FoundationDB's BUGGIFY,
// and known faults ("mutants") that prove the simulation catches bugs.
//
// Both are false outside a simulation run: the simulation installs its
// fault source on the thread that runs it (the deterministic scheduler runs
// every actor on that one thread), so a daemon or an in-process cluster on
// CAF's threaded scheduler never sees one fire.
//
//   if (dcos::buggify("allocator.skip_pass")) return; // a rare path, often
//
// Thread-safety: each thread has its own fault source.
#pragma once

#include <string_view>
#include <vector>

namespace dcos {

/// True, with the run's seeded chance, when this thread runs a simulation
/// that enables fault points; always false otherwise.
bool buggify(std::string_view site);

/// True when this thread runs a simulation with the known fault `name`
/// switched on (see dcos/sim.hpp, scenario::mutation).
bool mutant(std::string_view name);

/// The names mutant() is asked about somewhere in the kernel, sorted. A
/// scenario may only switch on one of these: a misspelt name would run the
/// unmodified kernel and prove nothing.
const std::vector<std::string_view>& known_mutants();

namespace sim {

/// What a simulation installs for the duration of a run.
class fault_source {
public:
  virtual ~fault_source() = default;
  virtual bool fire(std::string_view site) = 0;
  virtual bool mutant(std::string_view name) = 0;
};

/// Installs `source` for the calling thread (nullptr uninstalls); answers
/// the previous one.
fault_source* install_fault_source(fault_source* source) noexcept;

} // namespace sim

} // namespace dcos
