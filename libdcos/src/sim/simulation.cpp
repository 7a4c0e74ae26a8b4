// dcos::sim::simulation: the public face of the world.
#include <fmt/format.h>

#include "world.hpp"

namespace dcos::sim {

struct simulation::impl {
  scenario sc;
  uint64_t seed;
  std::vector<framework_factory> frameworks;
  std::vector<state_check> checks;
  std::string scenario_path;
  bool ran = false;
};

simulation::simulation(scenario sc, uint64_t seed)
  : impl_(std::make_unique<impl>()) {
  impl_->sc = std::move(sc);
  impl_->seed = seed;
}

simulation::~simulation() = default;

void simulation::add_framework(framework_factory factory) {
  impl_->frameworks.push_back(std::move(factory));
}

void simulation::add_state_check(state_check check) {
  impl_->checks.push_back(std::move(check));
}

void simulation::set_replay_hint(std::string scenario_path) {
  impl_->scenario_path = std::move(scenario_path);
}

report simulation::run() {
  if (impl_->ran) {
    report r;
    r.seed = impl_->seed;
    r.violation = "simulation::run called twice";
    return r;
  }
  impl_->ran = true;
  if (auto err = check_mutation(impl_->sc.mutation)) {
    report r;
    r.seed = impl_->seed;
    r.violation = "scenario.mutation: " + describe_reason(err);
    return r;
  }
  auto replay = fmt::format(
    "dcos-sim --scenario={} --seed={}{}",
    impl_->scenario_path.empty() ? impl_->sc.name : impl_->scenario_path,
    impl_->seed,
    impl_->sc.mutation.empty() ? "" : " --mutation=" + impl_->sc.mutation);
  detail::world w{impl_->sc, impl_->seed};
  return w.run(std::move(impl_->frameworks), std::move(impl_->checks),
               std::move(replay));
}

} // namespace dcos::sim
