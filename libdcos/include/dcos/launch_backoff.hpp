// How long a service waits before launching again something whose launches
// keep failing: Marathon's backoff, which Metronome shares (as the real
// Metronome runs its jobs through Marathon's launch queue).
//
// After the first failure the wait is `initial_seconds`; each further
// failure in a row multiplies it by `factor`, up to `max_seconds`. The
// caller counts the failures and decides what resets the count (Marathon:
// a changed app, or DELETE /v2/queue/{id}/delay; Metronome: a new run).
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dcos {

struct backoff_policy {
  double initial_seconds = 1;  // Marathon's backoffSeconds
  double factor = 1.15;        // backoffFactor
  double max_seconds = 300;    // maxLaunchDelaySeconds
};

/// The wait before the next launch after `failures` failed launches in a
/// row, in seconds: 0 for none, else initial x factor^(failures - 1),
/// capped at max_seconds.
/// REQUIRES: initial_seconds >= 0, factor >= 1, max_seconds >= 0.
inline double backoff_delay(const backoff_policy& policy, uint32_t failures) {
  if (failures == 0 || policy.initial_seconds <= 0)
    return 0;
  // A long run of failures overflows to infinity, which the cap takes.
  auto wait = policy.initial_seconds
              * std::pow(policy.factor, static_cast<double>(failures - 1));
  return std::min(wait, policy.max_seconds);
}

} // namespace dcos
