// How Marathon asks a task whether it is ready: one HTTP(S) GET, answered by
// the reply's status, content type and body. An actor of its own, so that
// Marathon's actor never does I/O and the simulation can answer in its
// place (time and peers only through CAF).
//
// Thread-safety: an actor; use it through its handle.
#pragma once

#include <cstdint>
#include <string>

#include <caf/all.hpp>

namespace dcos::marathon {

using probe_atom = caf::atom_constant<caf::atom("probe")>;

/// GET http[s]://HOST:PORT/PATH within `timeout`: answers (status,
/// content type, body) for any reply, or an error (errc::unavailable)
/// naming what failed (refused, timed out, TLS handshake). With `https`,
/// the task's certificate is not checked, as Marathon does not check it.
using readiness_prober = caf::typed_actor<caf::replies_to<
  probe_atom, std::string /*host*/, uint16_t /*port*/, bool /*https*/,
  std::string /*path*/, caf::timespan>::with<int32_t, std::string,
                                             std::string>>;

/// A prober that speaks HTTP/1.1, over TLS for https (dcos::http_client, on its own I/O thread;
/// replies come back to the actor as messages). It ends with its actor
/// system or an exit message.
readiness_prober spawn_http_prober(caf::actor_system& sys);

} // namespace dcos::marathon
