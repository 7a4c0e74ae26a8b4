// Starting PROGRAM inside new Linux namespaces (dcos-containerizer with
// --isolation=FILE).
//
// The helper itself stays in the host's namespaces, where it can be found,
// signalled and adopted after an agent restart exactly as in the POSIX case.
// It clone()s the container's init into the namespaces the spec names. The
// init is pid 1 of the new pid namespace and runs the helper's own code: it
// waits until the agent has put it into its cgroups and networks (the sync
// protocol below), assembles the root filesystem and mounts, sets the
// hostname and rlimits, drops capabilities, and forks PROGRAM, which sets
// no_new_privs, loads the seccomp filter and execs. PROGRAM thus runs as
// pid 2, a child of pid 1, as in Docker with --init: the init reaps orphans
// and, when PROGRAM ends, passes PROGRAM's wait status to the helper and
// exits, which makes the kernel kill whatever is left in the namespace.
//
// Sync protocol on `sync_fd` (a socket from the agent; -1 when the agent
// does not isolate processes by pid, e.g. no cgroups and no network):
//   helper -> agent   "pid <init pid as the host sees it>\n"
//   agent  -> helper  "go\n"      isolation is in place: continue
// Anything else, or the agent closing the socket, aborts the launch.
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "isolation_spec.hpp"
#include "supervisor.hpp"

namespace dcos::helper {

struct isolated_child {
  pid_t init = -1;
  int report_fd = -1;  // EOF once PROGRAM runs; else the reason it did not
  int status_fd = -1;  // PROGRAM's raw wait status (4 bytes) once it ended
  int release_fd = -1; // one byte here lets the init go on
};

/// Clones the init, which waits on `release_fd` and then execs `file`
/// (looked up on PATH inside the container) with argv `argv`. Reports its
/// pid on `sync_fd` and waits for the agent's "go". Returns false with
/// `*error` on failure (the init, if any, is killed).
bool clone_init(const isolation_spec& spec, int sync_fd,
                const std::string& file, const std::vector<std::string>& argv,
                char* const* envp, isolated_child* out, std::string* error);

/// Lets the init go on, and returns once PROGRAM runs (true) or could not
/// be started (false, `*error` says why: a mount, the seccomp filter, exec).
bool release_init(isolated_child& child, std::string* error);

/// PROGRAM's wait status once the init (`init_status`, its own wait status)
/// has ended; the init's status if PROGRAM never reported one.
int program_status(const isolated_child& child, int init_status);

} // namespace dcos::helper
