// Process-wide structured logging on top of spdlog.
//
// Lines look like
//   2026-11-21T16:40:01.123456Z I master] agent registered agent_id=a1 cpus=4
// i.e. UTC time, level letter, component, then a message whose details are
// written as key=value pairs so that logs can be grepped and parsed.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <spdlog/spdlog.h>

namespace dcos::logging {

/// Parses "trace", "debug", "info", "warning", "error" or "off" into `out`.
caf::error parse_level(std::string_view text, spdlog::level::level_enum& out);

/// Sends all logging to stderr at `min_level` and above. Optional: without it
/// loggers log at the level named by DCOS_LOG_LEVEL, or info.
void init(spdlog::level::level_enum min_level);

/// Sets the level from Mesos' verbosity (glog's --v, as the operator calls
/// SET_LOGGING_LEVEL speak it): 0 is the level of init() (or
/// DCOS_LOG_LEVEL), 1 debug, 2 and more trace. A verbosity never raises the
/// level above the one chosen at start.
void set_verbosity(uint32_t verbosity);

/// SET_LOGGING_LEVEL as Mesos' daemons answer it: a verbosity (as
/// set_verbosity takes it) that reverts to 0 after the call's duration. The
/// daemon's actor owns one and runs the revert timer: set() answers the
/// generation that timer must carry, and expire() with it reverts, unless a
/// later set() replaced that call.
///
/// Thread-safety: one actor's, like its state.
class verbosity_lease {
public:
  /// The verbosity in force (0 unless a set() has not expired).
  uint32_t level() const noexcept { return level_; }

  /// Sets `level` until expire() is called with the generation returned.
  uint64_t set(uint32_t level);

  /// Reverts to 0 if `generation` is the latest set()'s; true if it did.
  bool expire(uint64_t generation);

private:
  uint32_t level_ = 0;
  uint64_t generation_ = 0;
};

/// Returns the logger named `component`, creating it on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

} // namespace dcos::logging
