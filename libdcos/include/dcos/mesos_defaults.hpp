// Mesos' default values for fields that proto3 cannot give a default.
//
// The wire schema marks these fields `optional`, so "unset" is visible; read
// them through these functions wherever the value matters, never with the raw
// proto3 accessor (which would return 0 or false).
#pragma once

#include <dcos/v1/command.pb.h>
#include <dcos/v1/framework.pb.h>
#include <dcos/v1/health.pb.h>
#include <dcos/v1/resources.pb.h>

namespace dcos {

// -- HealthCheck ---------------------------------------------------------------

inline double delay_seconds(const v1::HealthCheck& x) {
  return x.has_delay_seconds() ? x.delay_seconds() : 15.0;
}

inline double interval_seconds(const v1::HealthCheck& x) {
  return x.has_interval_seconds() ? x.interval_seconds() : 10.0;
}

inline double timeout_seconds(const v1::HealthCheck& x) {
  return x.has_timeout_seconds() ? x.timeout_seconds() : 20.0;
}

inline uint32_t consecutive_failures(const v1::HealthCheck& x) {
  return x.has_consecutive_failures() ? x.consecutive_failures() : 3;
}

inline double grace_period_seconds(const v1::HealthCheck& x) {
  return x.has_grace_period_seconds() ? x.grace_period_seconds() : 10.0;
}

// -- CheckInfo -----------------------------------------------------------------

inline double delay_seconds(const v1::CheckInfo& x) {
  return x.has_delay_seconds() ? x.delay_seconds() : 15.0;
}

inline double interval_seconds(const v1::CheckInfo& x) {
  return x.has_interval_seconds() ? x.interval_seconds() : 10.0;
}

inline double timeout_seconds(const v1::CheckInfo& x) {
  return x.has_timeout_seconds() ? x.timeout_seconds() : 20.0;
}

// -- CommandInfo ---------------------------------------------------------------

/// True unless the command explicitly asks to be exec'd without a shell.
inline bool uses_shell(const v1::CommandInfo& x) {
  return !x.has_shell() || x.shell();
}

/// Archives are unpacked unless the URI says otherwise.
inline bool extracts(const v1::CommandInfo::URI& x) {
  return !x.has_extract() || x.extract();
}

// -- FrameworkInfo, Filters, AgentInfo -----------------------------------------

inline double failover_timeout_seconds(const v1::FrameworkInfo& x) {
  return x.has_failover_timeout() ? x.failover_timeout() : 0.0;
}

/// How long declined resources stay away from the framework: 5 s by default.
inline double refuse_seconds(const v1::Filters& x) {
  return x.has_refuse_seconds() ? x.refuse_seconds() : 5.0;
}

inline bool image_cached(const v1::Image& x) {
  return !x.has_cached() || x.cached();
}

} // namespace dcos
