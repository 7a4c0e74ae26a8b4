// What the containerizer asks of an isolation mechanism (the Linux one lives
// in containers/linux). The containerizer actor owns the processes, the
// exit records and the waiters; an isolation adds namespaces, cgroups,
// images, networks and their cleanup around them.
//
// Every call runs inside the (detached) containerizer actor; none sleeps.
//
// Thread-safety: used by one actor at a time.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "dcos/containerizer_actor.hpp"

namespace dcos {

struct isolated_launch {
  std::vector<std::string> helper_args; // e.g. --isolation=FILE
  bool sync = false; // isolate() must run between clone and exec
  /// The container's volumes are mounted in its own mount namespace;
  /// otherwise the containerizer links them into the sandbox
  /// (posix/volume_links.hpp).
  bool volumes_mounted = false;
};

class container_isolation {
public:
  virtual ~container_isolation() = default;

  /// Decides the container's isolation before the helper starts: may
  /// rewrite `req` (an image's entrypoint, environment, working directory)
  /// and writes what the helper needs under `meta_dir`. Nothing is left
  /// behind on error.
  virtual caf::expected<isolated_launch> prepare(container_launch& req,
                                                 const std::string& meta_dir)
    = 0;

  /// The container's init is `pid`, not yet running PROGRAM: put it into
  /// cgroups and networks. On error the caller kills the container and
  /// calls cleanup().
  virtual caf::error isolate(const std::string& container_id, pid_t pid) = 0;

  /// What the container looks like now (its networks' real addresses).
  virtual v1::ContainerStatus status(const std::string& container_id) = 0;

  /// Resource usage as the kernel accounts it.
  virtual caf::expected<container_usage>
  usage(const std::string& container_id) = 0;

  /// After the container ended: a limitation that ended it (the OOM
  /// killer), if any, with a message.
  virtual std::optional<v1::TaskStatus::Reason>
  limitation(const std::string& container_id, std::string* message) = 0;

  /// Kills every process of the container and of its nested containers.
  virtual void kill(const std::string& container_id) = 0;

  /// Releases what the container (and its nested containers) held, its
  /// network addresses once settle() finds its veth gone. Returns false
  /// while processes are still dying: call kill() and retry later.
  virtual bool cleanup(const std::string& container_id) = 0;

  /// Finishes what cleanup() left to the kernel: an ended container's
  /// network addresses wait for its veth, which dies with its namespace.
  /// Returns false while something still waits: call it again later.
  /// Does not wait for the kernel (it takes the IPAM lock, and deletes a
  /// veth itself only once its patience is over).
  virtual bool settle() = 0;

  /// After an agent restart: releases what belongs to no container in
  /// `alive` (nor to one nested in them), and returns the ids of such
  /// orphans that still have processes, for kill() and cleanup().
  virtual std::vector<std::string>
  recover(const std::vector<std::string>& alive) = 0;
};

} // namespace dcos
