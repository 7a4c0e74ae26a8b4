#include "dirs.hpp"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos {

caf::error make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return make_error(errc::io_error, fmt::format("cannot create '{}': {}",
                                                  path, ec.message()));
  return {};
}

} // namespace dcos
