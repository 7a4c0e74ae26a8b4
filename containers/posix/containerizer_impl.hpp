// The containerizer actor with an isolation plugged in (containers/linux
// builds one; spawn_posix_containerizer passes none).
#pragma once

#include <memory>

#include "container_isolation.hpp"
#include "dcos/containerizer_actor.hpp"

namespace dcos {

/// `isolation` may be null (POSIX only).
containerizer_actor
spawn_containerizer(caf::actor_system& sys, posix_containerizer_config cfg,
                    std::shared_ptr<container_isolation> isolation);

} // namespace dcos
