// The CAF type bridge: how protobuf messages travel inside CAF messages.
//
// One generic inspect() covers every generated message type of the schema
// (packages dcos.v1, dcos.v1.scheduler, dcos.v1.internal, dcos.v1.master):
//  - serializing writes the message's protobuf encoding as one byte string;
//  - deserializing parses it back and fails with errc::corrupt_payload,
//    naming the type, when the bytes are not a valid encoding;
//  - to_string (CAF's stringification inspector) prints the text format.
// Whatever a peer sends that fails to decode is dropped by CAF's network layer
// (logged, never delivered, never a crash).
//
// Every message type that crosses an actor boundary must also be registered
// with the actor system, under its protobuf full name, by register_types()
// (see wire_types.hpp for the list). Include this header wherever a dcos::v1
// message is put into a CAF message, so the inspector is visible there.
#pragma once

#include <string>
#include <type_traits>

#include <caf/detail/stringification_inspector.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <google/protobuf/message.h>

namespace caf {
class actor_system_config;
} // namespace caf

namespace dcos {

/// Registers every wire type (wire_types.hpp), the actor handles that
/// travel inside messages (agent, scheduler and master handles) and the dcos
/// error category with `cfg`. Call once per actor system, before it starts.
void register_types(caf::actor_system_config& cfg);

namespace detail {

/// Builds the corrupt_payload error for `type_name` (kept out of line so the
/// header does not pull in fmt).
caf::error corrupt_payload(const std::string& type_name, size_t size);

template <class T>
constexpr bool is_protobuf_message
  = std::is_base_of_v<google::protobuf::Message, T>;

// The generic inspector; made visible to argument-dependent lookup in every
// package of the schema below.
template <class Inspector, class T>
  requires is_protobuf_message<T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  if constexpr (std::is_same_v<Inspector,
                               caf::detail::stringification_inspector>) {
    auto text = x.ShortDebugString();
    return f(caf::meta::type_name(T::descriptor()->full_name().c_str()), text);
  } else if constexpr (Inspector::reads_state) {
    std::string bytes;
    x.SerializeToString(&bytes); // proto3 has no required fields: cannot fail
    return f(bytes);
  } else {
    std::string bytes;
    if (auto err = f(bytes))
      return err;
    if (!x.ParseFromString(bytes))
      return corrupt_payload(T::descriptor()->full_name(), bytes.size());
    return {};
  }
}

} // namespace detail

namespace v1 {
using dcos::detail::inspect;
}
namespace v1::scheduler {
using dcos::detail::inspect;
}
namespace v1::internal {
using dcos::detail::inspect;
}
namespace v1::master {
using dcos::detail::inspect;
}
namespace v1::agent {
using dcos::detail::inspect;
}

} // namespace dcos
