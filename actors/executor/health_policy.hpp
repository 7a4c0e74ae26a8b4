// Mesos' health check semantics, as pure logic over check results:
//  - the first check runs delay_seconds after the task started, then one
//    every interval_seconds, each failing after timeout_seconds;
//  - failures within grace_period_seconds of the start do not count until
//    the task was healthy once;
//  - every change of health is reported (a TASK_RUNNING update carrying
//    `healthy`); consecutive_failures failures in a row kill the task.
#pragma once

#include <cstdint>
#include <optional>

#include <caf/timestamp.hpp>

#include "dcos/wire_types.hpp"

namespace dcos::kernel {

class health_policy {
public:
  enum class action { none, report_healthy, report_unhealthy, kill };

  explicit health_policy(const v1::HealthCheck& check);

  caf::timespan delay() const noexcept { return delay_; }
  caf::timespan interval() const noexcept { return interval_; }
  caf::timespan timeout() const noexcept { return timeout_; }

  /// Records one check's result, `since_start` after the task started.
  action record(bool passed, caf::timespan since_start);

  std::optional<bool> healthy() const noexcept { return healthy_; }
  uint32_t consecutive_failures() const noexcept { return failures_; }

private:
  caf::timespan delay_;
  caf::timespan interval_;
  caf::timespan timeout_;
  caf::timespan grace_;
  uint32_t max_failures_;
  uint32_t failures_ = 0;
  bool was_healthy_ = false;
  std::optional<bool> healthy_;
};

} // namespace dcos::kernel
