// The errors and the log of the network isolation (network.hpp), shared by
// its parts. Every part is in namespace dcos::isolation::net.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "dcos/logging.hpp"

namespace dcos::isolation::net {

/// The "network" logger.
std::shared_ptr<spdlog::logger> logger();

/// invalid_argument with `message` as its sentence.
caf::error invalid(std::string message);

/// invalid_argument for one field of a request or of the configuration:
/// "FIELD: REASON", e.g. "networks[1].subnet: ...".
caf::error field_error(const std::string& field, const std::string& reason);

/// io_error for a failed system call: "WHAT: strerror(CODE)".
caf::error os_error(const std::string& what, int code);

/// `err` with `context` in front of its sentence, keeping its code (an
/// error without one becomes io_error).
caf::error with_context(const caf::error& err, std::string_view context);

} // namespace dcos::isolation::net
