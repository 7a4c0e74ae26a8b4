// Process-wide structured logging on top of spdlog.
//
// Lines look like
//   2026-11-21T16:40:01.123456Z I master] agent registered agent_id=a1 cpus=4
// i.e. UTC time, level letter, component, then a message whose details are
// written as key=value pairs so that logs can be grepped and parsed.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

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

/// Returns the logger named `component`, creating it on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

} // namespace dcos::logging
