// Creating directories with an error that names them, for the
// containerizer's state on disk (cgroups, networks, root filesystems).
#pragma once

#include <string>

#include <caf/error.hpp>

namespace dcos {

/// Creates `path` and its missing parents (none is an error if they
/// exist). Fails with io_error: "cannot create 'PATH': REASON".
caf::error make_directories(const std::string& path);

} // namespace dcos
