// How the agent names a nested container (a task's, or a debug session's)
// in its records, its logs and the session pump: one string for the whole
// ContainerID chain.
#pragma once

#include <string>

#include "dcos/wire_types.hpp"

namespace dcos::kernel {

/// The values of `id`'s ancestors and its own, joined by '.'
/// ("<executor container>.<task id>.<session>").
inline std::string flat_id(const v1::ContainerID& id) {
  return id.has_parent() ? flat_id(id.parent()) + "." + id.value()
                         : id.value();
}

} // namespace dcos::kernel
