// The interface of tests/integration/wire_peer: it echoes each wire message
// back together with its own JSON rendering of what it decoded.
#pragma once

#include <string>
#include <tuple>

#include <caf/all.hpp>

#include "dcos/type_bridge.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::test {

using echo_atom = caf::atom_constant<caf::atom("echo")>;

template <class T>
using echo_of = typename caf::replies_to<echo_atom, T>::template with<T, std::string>;

using wire_echo_actor = caf::typed_actor<
  echo_of<v1::TaskInfo>, echo_of<v1::TaskGroupInfo>, echo_of<v1::Offer>,
  echo_of<v1::TaskStatus>, echo_of<v1::FrameworkInfo>, echo_of<v1::AgentInfo>>;

} // namespace dcos::test
