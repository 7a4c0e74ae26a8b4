// The DRF check: under contention, weighted DRF gives each role a dominant
// share in proportion to its weight. While every built-in framework still
// has tasks to launch (each wants more than it has), the dominant share of
// each role's running tasks is sampled once a virtual second; at the end of
// the run the averages, as parts of their sum, must be within
// `scenario::fairness` of the weights' parts. Tasks are counted from the
// nodes' process tables, not from what the allocator believes.
#include "world.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace dcos::sim::detail {

void world::sample_shares() {
  bool contended = std::all_of(workloads_.begin(), workloads_.end(),
                               [](const auto& w) {
                                 return w->to_launch > 0
                                        && !w->framework_id.empty();
                               });
  if (!contended)
    return;
  double cpus = 0, mem = 0;
  for (size_t i = 0; i < agents_.size(); ++i) {
    cpus += agent_total(agent_node(i), "cpus");
    mem += agent_total(agent_node(i), "mem");
  }
  if (cpus <= 0 || mem <= 0)
    return;
  std::map<std::string, double> dominant;
  double sum = 0;
  for (const auto& w : workloads_) {
    auto& d = dominant[w->spec.role];
    if (d > 0)
      continue; // a role shared by several frameworks counts once
    auto [role_cpus, role_mem] = model_.running(w->spec.role);
    d = std::max(role_cpus / cpus, role_mem / mem);
    sum += d;
  }
  if (sum <= 0)
    return; // nothing runs yet
  for (const auto& [role, d] : dominant)
    share_sums_[role] += d / sum;
  ++share_samples_;
}

void world::check_fairness() {
  if (share_samples_ == 0) {
    fail("the DRF check saw no time in which every framework had tasks left "
         "to launch (is the cluster big enough for all of them?)");
    return;
  }
  std::map<std::string, double> weights;
  double total = 0;
  for (const auto& w : workloads_)
    if (weights.emplace(w->spec.role, w->spec.weight).second)
      total += w->spec.weight;
  for (const auto& [role, weight] : weights) {
    auto got = share_sums_[role] / static_cast<double>(share_samples_);
    auto want = weight / total;
    if (std::abs(got - want) > sc_.fairness) {
      fail(fmt::format("under contention (sampled for {}s), role '{}' with "
                       "weight {} held {:.1f}% of the dominant shares on "
                       "average, not {:.1f}% (within {:.1f} points)",
                       share_samples_, role, weight, got * 100, want * 100,
                       sc_.fairness * 100));
      return;
    }
  }
}

} // namespace dcos::sim::detail
