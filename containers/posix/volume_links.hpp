// Volumes without a mount namespace, as Mesos' filesystem/posix isolator
// gives them: a volume at a path relative to the sandbox ("data") is a
// symlink there to its source (a persistent volume's directory, a host
// path, or a directory of the sandbox), so that a task on an agent without
// filesystem/linux still reads and writes its volumes where its spec says.
// An absolute container path cannot be had that way: it is refused, naming
// the field, as Mesos refuses it.
//
// Thread-safety: a plain function; touches only `req.sandbox`.
#pragma once

#include <caf/error.hpp>

#include "dcos/containerizer_actor.hpp"

namespace dcos {

/// Makes the links of `req.container.volumes()` in `req.sandbox`, replacing
/// a link of an earlier run. Fails with errc::invalid_argument naming the
/// volume's field (container.volumes[i]...) for an absolute or escaping
/// container path, a source that is not there, or an unsupported source
/// type; with errc::io_error if a link cannot be made. Links made before
/// the failure are left for the sandbox's removal.
caf::error link_volumes(const container_launch& req);

} // namespace dcos
