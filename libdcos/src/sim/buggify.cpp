// The per-thread fault source behind dcos::buggify and dcos::mutant.
#include "dcos/buggify.hpp"

namespace dcos {

namespace {

thread_local sim::fault_source* source = nullptr;

} // namespace

bool buggify(std::string_view site) {
  return source != nullptr && source->fire(site);
}

bool mutant(std::string_view name) {
  return source != nullptr && source->mutant(name);
}

sim::fault_source* sim::install_fault_source(fault_source* s) noexcept {
  auto* previous = source;
  source = s;
  return previous;
}

} // namespace dcos
