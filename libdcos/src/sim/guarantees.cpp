// The quota guarantee check. A guarantee promises a role resources when it
// wants them, not at every instant: running tasks of other roles are never
// preempted, so a role joining a full cluster waits for theirs to end, and
// a task that ends leaves a gap until the next offer. Hence the check waits
// `scenario::guarantee_within` after the role's built-in frameworks start
// wanting more (every one of them subscribed with tasks left to launch),
// then samples once a virtual second what the role holds (outstanding
// offers and tasks running on steady agents, as the model counts for quota
// limits) while that lasts; at the end, the average must cover 90% of the
// guarantee, kind by kind (capped at 100% per sample, so that plenty at one
// time does not hide a shortfall at another).
#include "world.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace dcos::sim::detail {

namespace {

constexpr double required_cover = 0.9;

} // namespace

void world::sample_guarantees() {
  if (!guarantees_set_)
    return;
  for (const auto& [role, guarantee] : sc_.guarantees) {
    bool wanting = false, all_wanting = true;
    for (const auto& w : workloads_) {
      if (w->spec.role != role)
        continue;
      wanting = true;
      all_wanting = all_wanting && !w->framework_id.empty()
                    && w->to_launch > 0;
    }
    auto& g = guarantee_samples_[role];
    if (!wanting || !all_wanting) {
      g.wanting_since.reset();
      continue;
    }
    if (!g.wanting_since)
      g.wanting_since = elapsed();
    if (elapsed() - *g.wanting_since < sc_.guarantee_within)
      continue;
    auto [cpus, mem] = model_.held(role);
    auto cover = [](double have, std::optional<double> want) {
      return want && *want > 0 ? std::min(1.0, have / *want) : 1.0;
    };
    g.cpus += cover(cpus, guarantee.scalar("cpus"));
    g.mem += cover(mem, guarantee.scalar("mem"));
    ++g.samples;
  }
}

void world::check_guarantees() {
  for (const auto& [role, guarantee] : sc_.guarantees) {
    const auto& g = guarantee_samples_[role];
    if (g.samples == 0) {
      fail(fmt::format("the guarantee check of role '{}' saw no time in "
                       "which its frameworks had wanted more for {}s (do "
                       "they have enough tasks?)",
                       role,
                       std::chrono::duration_cast<std::chrono::seconds>(
                         sc_.guarantee_within)
                         .count()));
      return;
    }
    auto n = static_cast<double>(g.samples);
    const std::array<std::pair<const char*, double>, 2> covers{
      {{"cpus", g.cpus}, {"mem", g.mem}}};
    for (const auto& [kind, sum] : covers) {
      if (sum / n >= required_cover)
        continue;
      fail(fmt::format("role '{}' was guaranteed {} but, wanting more for "
                       "{}s, held on average only {:.0f}% of its {} "
                       "guarantee (at least {:.0f}% required)",
                       role, guarantee.to_string(), g.samples, sum / n * 100,
                       kind, required_cover * 100));
      return;
    }
  }
}

} // namespace dcos::sim::detail
