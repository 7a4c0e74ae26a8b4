#include "health_policy.hpp"

#include "dcos/mesos_defaults.hpp"

namespace dcos::kernel {

namespace {

caf::timespan seconds(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

} // namespace

health_policy::health_policy(const v1::HealthCheck& check)
  : delay_(seconds(delay_seconds(check))),
    interval_(seconds(interval_seconds(check))),
    timeout_(seconds(timeout_seconds(check))),
    grace_(seconds(grace_period_seconds(check))),
    max_failures_(dcos::consecutive_failures(check)) {
}

health_policy::action health_policy::record(bool passed,
                                            caf::timespan since_start) {
  if (passed) {
    failures_ = 0;
    was_healthy_ = true;
    if (healthy_ == true)
      return action::none;
    healthy_ = true;
    return action::report_healthy;
  }
  if (!was_healthy_ && since_start < grace_)
    return action::none; // still starting up
  ++failures_;
  if (max_failures_ > 0 && failures_ >= max_failures_) {
    healthy_ = false;
    return action::kill;
  }
  if (healthy_ == false)
    return action::none;
  healthy_ = false;
  return action::report_unhealthy;
}

} // namespace dcos::kernel
