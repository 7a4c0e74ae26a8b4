// The descendants of the helper, found in /proc.
//
// Descendants are found by a walk from the helper rather than by process
// group alone, because a program may move children into groups (or sessions)
// of their own. Since the helper is a child subreaper, every living
// descendant is reachable from it: an orphan is reparented to the helper, not
// to init.
//
// The walk reads /proc/<pid>/task/<tid>/children where the kernel provides it
// (CONFIG_PROC_CHILDREN), else the parent pid of every /proc/<pid>/stat.
// Either way it is a snapshot: a process forked during the walk may be
// missed, which is why kill_descendants() stops processes before it kills
// them and the helper repeats it until it has no children left.
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <sys/types.h>

#include <vector>

namespace dcos::helper {

/// Every living descendant of the calling process, parents before children.
std::vector<pid_t> descendants();

/// Sends SIGTERM to process group `pgid`, then to every descendant outside
/// it (those that changed group). The process group comes first because
/// kill(-pgid) is atomic: it cannot miss a process that forks meanwhile.
void terminate_descendants(pid_t pgid);

/// Stops every descendant (so that none can fork any more), then SIGKILLs
/// them all. Returns how many were signaled.
size_t kill_descendants();

/// SIGKILLs every process of session `sid`, wherever it was re-parented
/// (a debug session at a terminal: a shell's jobs have groups of their own,
/// and are adopted by the container's init), in rounds until none is left
/// or a round limit is reached.
void kill_session(pid_t sid);

} // namespace dcos::helper
