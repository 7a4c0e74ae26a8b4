// A container's volumes, checked once for every isolation: what each one's
// container path and host source are (checked_volume), and, without a
// mount namespace, the volumes as Mesos' filesystem/posix isolator gives
// them (link_volumes): a volume at a path relative to the sandbox ("data")
// is a symlink there to its source (a persistent volume's directory, a host
// path, or a directory of the sandbox), so that a task on an agent without
// filesystem/linux still reads and writes its volumes where its spec says.
// An absolute container path cannot be had that way: it is refused, naming
// the field, as Mesos refuses it. (With a mount namespace, the Linux
// isolation bind-mounts them instead: containers/linux.)
//
// Thread-safety: plain functions; they touch only `req.sandbox`.
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "dcos/containerizer_actor.hpp"

namespace dcos {

struct checked_volume {
  std::string field;          // "container.volumes[i]", for messages
  std::string container_path; // as given: absolute, or in the sandbox
  std::string source;         // an existing host directory or file
};

/// Volume `i` of `req.container`: its container path is given and has no
/// "..", and its source (a host path, or a relative path in the sandbox,
/// made if missing) exists. Fails with errc::invalid_argument naming the
/// field otherwise, or for a source type other than HOST_PATH and
/// SANDBOX_PATH. REQUIRES: 0 <= i < req.container.volumes_size().
caf::expected<checked_volume> check_volume(const container_launch& req,
                                           int i);

/// Makes the links of `req.container.volumes()` in `req.sandbox`, replacing
/// a link of an earlier run. Fails as check_volume() does, for an absolute
/// container path (errc::invalid_argument), or with errc::io_error if a
/// link cannot be made. Links made before the failure are left for the
/// sandbox's removal.
caf::error link_volumes(const container_launch& req);

} // namespace dcos
