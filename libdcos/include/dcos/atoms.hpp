// Every atom of libdcos' actor interfaces, in one place so that no two
// interfaces give one name two meanings. CAF 0.17 atoms hold at most ten
// characters.
#pragma once

#include <caf/atom.hpp>

namespace dcos {

// -- scheduler API -------------------------------------------------------------
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using disconnected_atom = caf::atom_constant<caf::atom("disconnect")>;

// -- master/agent protocol -----------------------------------------------------
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using unregister_atom = caf::atom_constant<caf::atom("unregister")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

// -- leader detection ----------------------------------------------------------
using detect_atom = caf::atom_constant<caf::atom("detect")>;
using contend_atom = caf::atom_constant<caf::atom("contend")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using leader_atom = caf::atom_constant<caf::atom("leader")>;
using logging_atom = caf::atom_constant<caf::atom("logging")>;
using members_atom = caf::atom_constant<caf::atom("members")>;

// -- containers ------------------------------------------------------------------
using launch_atom = caf::atom_constant<caf::atom("launch")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using destroy_atom = caf::atom_constant<caf::atom("destroy")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using volume_atom = caf::atom_constant<caf::atom("volume")>;
using session_atom = caf::atom_constant<caf::atom("session")>;

// -- persistence ---------------------------------------------------------------
using get_atom = caf::atom_constant<caf::atom("get")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using erase_atom = caf::atom_constant<caf::atom("erase")>;
using keys_atom = caf::atom_constant<caf::atom("keys")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using ok_atom = caf::atom_constant<caf::atom("ok")>;

// -- observation (HTTP edges, tests, simulation) -------------------------------
using state_atom = caf::atom_constant<caf::atom("state")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using monitor_atom = caf::atom_constant<caf::atom("monitor")>;

// -- timers and internal triggers ----------------------------------------------
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using allocate_atom = caf::atom_constant<caf::atom("allocate")>;

} // namespace dcos
