// Running PROGRAM inside a container that runs already (dcos-containerizer
// enter): Mesos' debug session, LAUNCH_NESTED_CONTAINER_SESSION, which
// "shares the same namespaces and cgroups as its parent container".
//
// The container is found through its state directory, as the containerizer
// left it: "pid" names the process whose namespaces and cgroups are the
// container's (written by `launch --pid_file`), "status" exists once the
// container has ended, and "isolation" holds its spec (absent for a POSIX
// container, which shares the host's namespaces).
//
// PROGRAM is forked by the helper and joins, in order: the container's
// cgroups (where they differ from the helper's), its pid namespace (the
// helper's pid_for_children, so PROGRAM is a process of the container's pid
// namespace while the helper stays on the host), its ipc, uts, net and mount
// namespaces and its root; it changes into $MESOS_SANDBOX (else the spec's
// working directory, else "/"; "/" if that does not exist inside), takes
// the spec's rlimits,
// capability bounding set, no_new_privs and seccomp filter, and execs. The
// same limits hold for it as for the container's own PROGRAM
// (confinement.hpp). PROGRAM leads a process group of its own (with a
// terminal, a session of its own, which the terminal controls): a process it
// leaves behind is re-parented to the container's init, not to the helper
// (orphans stay in their pid namespace), so the helper's process tree no
// longer holds it; the group does (or the session, whose jobs a shell puts
// in groups of their own), and the helper kills it when PROGRAM ends.
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "supervisor.hpp"

namespace dcos::helper {

/// Starts `file` (looked up on PATH inside the container) with argv `argv`
/// and environment `envp` inside the container whose state lies in
/// `target_dir`, as a child of this process. Returns its pid once the exec
/// has succeeded; otherwise reaps the child and returns -1 with `*error`
/// saying which step failed (the container has ended, a namespace, a
/// cgroup, the exec). With `tty`, our stdin is a terminal that PROGRAM
/// takes as its controlling terminal.
pid_t enter_container(const std::string& target_dir, const std::string& file,
                      const std::vector<std::string>& argv, char* const* envp,
                      bool tty, std::string* error);

} // namespace dcos::helper
