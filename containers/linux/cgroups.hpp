// Control groups for containers: cgroup v1 (one hierarchy per controller) or
// v2 (the unified hierarchy), whichever mounts the controllers this host has.
//
// Each container gets the cgroup `dcos/<container_id>` under every
// controller it uses (flat: nested containers are named
// "<parent>.<child>" and are siblings of their parent here, each with its
// own limits). Limits follow Mesos:
//   cpus -> cpu.shares = 1024 * cpus (v2: cpu.weight) and a CFS quota of
//           cpus * period (cpu.cfs_quota_us; v2: cpu.max)
//   mem  -> memory.limit_in_bytes (v2: memory.max), in MB
//   pids -> pids.max (from the agent's --container_pids_limit)
// An OOM kill is read back from the kernel's own counter (memory.oom_control
// "oom_kill" in v1, memory.events "oom_kill" in v2) once the container has
// ended, so no eventfd has to be watched.
//
// kill_all() ends every process of a container, including a fork bomb: v2
// writes cgroup.kill; v1 freezes the cgroup (no process can fork any more),
// SIGKILLs what cgroup.procs lists and thaws it. Nothing here sleeps: the
// caller retries on a timer.
//
// Thread-safety: a cgroups object is used by one actor at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "dcos/containerizer_actor.hpp"

namespace dcos::isolation {

struct cgroup_limits {
  std::optional<double> cpus;
  std::optional<uint64_t> mem_bytes;
  std::optional<uint64_t> pids;
};

class cgroups {
public:
  /// Finds the hierarchies in `mounts` (a /proc/self/mountinfo-style or
  /// /proc/mounts-style file; tests pass a fake one together with `root`
  /// prefixes that point into a temporary directory). Fails (not_found)
  /// naming the controllers in `wanted` that no hierarchy provides.
  static caf::expected<cgroups>
  detect(const std::vector<std::string>& wanted,
         const std::string& mounts = "/proc/self/mounts");

  /// True if `controller` ("cpu", "memory", "pids", "freezer", ...) lives in
  /// the v2 hierarchy here.
  bool unified(const std::string& controller) const;

  /// The directory of `container_id` in `controller`'s hierarchy.
  std::string path(const std::string& controller,
                   const std::string& container_id) const;

  /// Creates the container's cgroups and writes its limits.
  caf::error create(const std::string& container_id,
                    const cgroup_limits& limits);

  /// Moves `pid` into every cgroup of the container.
  caf::error attach(const std::string& container_id, pid_t pid);

  /// What the kernel accounts for the container now.
  caf::expected<container_usage> usage(const std::string& container_id) const;

  /// True if the kernel's OOM killer acted inside the container.
  bool oom_killed(const std::string& container_id) const;

  /// SIGKILLs every process of the container (see above). Does not wait:
  /// the processes are gone once remove() succeeds.
  caf::error kill_all(const std::string& container_id);

  /// Removes the container's cgroups. Returns false while some still hold
  /// processes (call kill_all() and retry later); true once all are gone.
  /// Idempotent.
  caf::expected<bool> remove(const std::string& container_id);

  /// The ids of the containers that have a cgroup here (for the cleanup of
  /// orphans after an agent restart).
  std::vector<std::string> containers() const;

  /// The controllers in use, e.g. {"cpu", "memory", "pids"}.
  const std::vector<std::string>& controllers() const noexcept {
    return controllers_;
  }

private:
  std::vector<std::string> controllers_;        // what containers get
  std::map<std::string, std::string> v1_roots_; // controller -> mount point
  std::string v2_root_;                         // unified mount, if any
  std::vector<std::string> v2_controllers_;
};

} // namespace dcos::isolation
