#include "linux/network/errors.hpp"

#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"

namespace dcos::isolation::net {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = logging::get("network");
  return log;
}

caf::error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

caf::error field_error(const std::string& field, const std::string& reason) {
  return invalid(fmt::format("{}: {}", field, reason));
}

caf::error os_error(const std::string& what, int code) {
  return make_error(errc::io_error,
                    fmt::format("{}: {}", what, std::strerror(code)));
}

caf::error with_context(const caf::error& err, std::string_view context) {
  auto code = code_of(err);
  return make_error(code == errc{} ? errc::io_error : code,
                    fmt::format("{}: {}", context, describe_reason(err)));
}

} // namespace dcos::isolation::net
