// The containerizer: the only way kernel actors start processes.
//
// A container is a process tree rooted at one launched command (an
// executor, or a task inside an executor) with its own sandbox directory
// holding its stdout and stderr. Implementations:
//  - the POSIX containerizer (containers/posix): each container is rooted at
//    the dcos-containerizer helper, which fetches URIs, runs the command in
//    its own session, reaps its tree, and records the exit status in a file
//    so that it survives a restart of the agent;
//  - the Linux containerizer (spawn_linux_containerizer): the same actor,
//    with the helper cloning each container into its own namespaces and
//    the isolators of containers/linux (cgroups, images, volumes, seccomp,
//    capabilities, rlimits, networks) around it;
//  - the simulation's containerizer models processes without any.
//
// Messages stay within one process: they carry C++ types.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/command_line.hpp>
#include <dcos/resources.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/wire_types.hpp>

namespace dcos {

struct container_launch {
  std::string container_id;
  std::string sandbox;           // created if missing
  command_line command;           // what runs (to_command_line of a
                                 // CommandInfo, or a program of ours)
  std::vector<std::string> env;  // the complete environment, KEY=VALUE
  v1::CommandInfo fetch;         // its uris are fetched into the sandbox
  resources limits;              // what isolation enforces (if any)
  v1::ContainerInfo container;   // images, volumes, networks (if supported)
  // Our own executor, which launches nested containers itself: it gets
  // cgroups only (no namespaces, seccomp or capability limits, which would
  // stop it from isolating its tasks).
  bool nests_containers = false;
  // A debug session (session_atom, Mesos' LAUNCH_NESTED_CONTAINER_SESSION):
  // `command` runs inside the running container `join`, launched under the
  // same `sandbox` by this or another containerizer of the agent, in its
  // namespaces, cgroups and confinement, with its environment overlaid by
  // `env`. Of `container` only `tty_info` applies (the session's streams
  // are then a terminal it controls); `fetch` and `limits` do not apply.
  std::string join;
};

/// The agent's ends of a session container's standard streams: stdin to
/// write, stdout and stderr to read (all three blocking pipes). A session
/// with a terminal has no stderr (err() is -1: the terminal carries both
/// outputs), and in() and out() are the terminal's master side (two
/// descriptors of one open file). Each is closed by the destructor unless
/// taken before.
///
/// Thread-safety: one owner at a time.
class container_io {
public:
  container_io(int in, int out, int err, bool tty = false) noexcept
    : in_(in), out_(out), err_(err), tty_(tty) {
  }
  container_io(const container_io&) = delete;
  container_io& operator=(const container_io&) = delete;
  ~container_io();

  int in() const noexcept { return in_; }
  int out() const noexcept { return out_; }
  int err() const noexcept { return err_; }
  bool tty() const noexcept { return tty_; }

  /// Closes stdin (the session's process reads EOF). Idempotent. With a
  /// terminal only in() closes; out() keeps it open, so no EOF: its owner
  /// types the terminal's EOF character (VEOF, usually ^D) instead.
  void close_in() noexcept;

  /// Sets the terminal's size (the session gets SIGWINCH). Answers false
  /// without a terminal, or if the kernel refuses (errno tells).
  bool resize(uint16_t rows, uint16_t columns) noexcept;

private:
  int in_;
  int out_;
  int err_;
  bool tty_;
};

using container_io_ptr = std::shared_ptr<container_io>;

/// Resource usage of a container, as the kernel accounts it (cgroups), or
/// as /proc shows its processes (POSIX).
struct container_usage {
  double cpus_user_time_secs = 0;
  double cpus_system_time_secs = 0;
  uint64_t cpus_nr_periods = 0;
  uint64_t cpus_nr_throttled = 0;
  double cpus_throttled_time_secs = 0;
  uint64_t mem_rss_bytes = 0;
  uint64_t mem_limit_bytes = 0; // 0: none
  uint64_t processes = 0;
};

struct container_termination {
  int status = 0;                // exit code, or 128 + signal
  std::optional<int> signal;
  bool destroyed = false;        // ended by a destroy request
  // Why it ended, when the containerizer knows better than the exit status
  // (REASON_CONTAINER_LAUNCH_FAILED, REASON_CONTAINER_LIMITATION_MEMORY).
  std::optional<v1::TaskStatus::Reason> reason;
  std::string message;
};

/// How many ended containers a containerizer remembers (for wait()): enough
/// for every waiter that asks within a moment of the end, without a record
/// per container an agent ever ran.
constexpr size_t ended_containers_kept = 1000;

/// A container the agent had before it restarted (from its checkpoint).
struct known_container {
  std::string container_id;
  std::string sandbox;
  uint32_t pid = 0;
};

} // namespace dcos

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::container_launch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::container_termination)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::known_container)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::container_usage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dcos::known_container>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::container_io_ptr)

namespace dcos {

using containerizer_actor = caf::typed_actor<
  // Starts a container; answers with its root pid once it runs, or an error
  // (nothing is left behind on error).
  caf::replies_to<launch_atom, container_launch>::with<uint32_t>,
  // Starts a debug session inside the running container `join` (see
  // container_launch) with its standard streams as pipes (or a terminal),
  // and answers with their other ends once it runs; an error if `join` has
  // ended or cannot be entered, or sessions are not supported (the
  // simulation). The session is a container like the others to wait,
  // destroy and metrics; it is not recovered after a restart: it ends with
  // the agent.
  caf::replies_to<session_atom, container_launch>::with<container_io_ptr>,
  // Answers when the container has ended (at once if it already has). The
  // end is kept for the last ended_containers_kept containers that ended;
  // for an older one, or an id never launched, the answer is an error.
  caf::replies_to<wait_atom, std::string>::with<container_termination>,
  // Asks everything in the container to stop (SIGTERM), and kills what is
  // left after `grace` (at once, without SIGTERM, if `grace` is 0); answers
  // once the container has ended.
  caf::replies_to<destroy_atom, std::string, caf::timespan>::with<ok_atom>,
  // Adopts containers launched before a restart; answers with the ids of
  // those still running. wait() answers for the others with what their
  // exit record says.
  caf::replies_to<recover_atom, std::vector<known_container>>::with<
    std::vector<std::string>>,
  // The container's status (with its networks' real addresses).
  caf::replies_to<state_atom, std::string>::with<v1::ContainerStatus>,
  // Its resource usage (with its nested containers'); an error if the
  // container is unknown or ended.
  caf::replies_to<metrics_atom, std::string>::with<container_usage>,
  // Creates (true) or removes (false) the directory of a persistent volume
  // (CREATE and DESTROY operations).
  caf::reacts_to<volume_atom, std::string, bool>>;

struct posix_containerizer_config {
  std::string helper = "dcos-containerizer"; // path or name on PATH
  std::string fetcher = "dcos-fetcher";
  std::string fetch_cache_dir;               // empty: no caching
};

/// REQUIRES: the helper and fetcher exist.
containerizer_actor spawn_posix_containerizer(caf::actor_system& sys,
                                              posix_containerizer_config cfg);

/// The Linux isolation of the Mesos containerizer, chosen by isolator names
/// as Mesos' --isolation flag names them.
struct linux_isolation_config {
  /// Isolators: posix/cpu, posix/mem, cgroups/cpu, cgroups/mem,
  /// cgroups/pids, namespaces/pid, filesystem/linux, linux/seccomp,
  /// linux/capabilities, posix/rlimits, network/bridge.
  std::vector<std::string> isolators = {"posix/cpu", "posix/mem"};
  std::string runtime_dir;        // per-container state (root filesystems)
  std::string image_store_dir;    // images (filesystem/linux)
  std::string image_cache_dir;    // unpacked layers
  /// How an image's layers become a root filesystem: "overlay" (stacked
  /// with overlayfs, nothing copied) or "copy" (copied into the container's
  /// own directory, for hosts without overlayfs); "" picks overlay when the
  /// kernel has it.
  std::string image_backend;
  std::string seccomp_config_dir; // Docker-format profiles
  std::string seccomp_profile;    // default profile name; "" built-in
  std::vector<std::string> allowed_capabilities; // tasks may ask for these
  std::string networks;           // JSON, see containers/linux/network.hpp
  std::string network_state_dir;  // IPAM, shared by the agent's executors
  /// JSON, Mesos' --default_container_dns: the DNS servers written into the
  /// /etc/resolv.conf of containers with namespaces of their own, by
  /// network (containers/linux/container_dns.hpp).
  std::string container_dns;
  uint64_t pids_limit = 4096;     // per container (cgroups/pids)
  bool host_setup = true;         // create bridges and rules (the agent);
                                  // executors only use them

  /// The configuration as environment variables (DCOS_ISOLATION, ...), for
  /// executors that launch nested containers with the same isolation.
  std::vector<std::string> to_env() const;
  /// Reads what to_env() wrote; isolators "posix/cpu,posix/mem" if unset.
  static caf::expected<linux_isolation_config> from_env();
  /// True if some isolator needs more than the POSIX containerizer.
  bool isolates() const;
};

/// Checks that this host provides every isolator asked for (root, cgroup
/// controllers, overlayfs, the image store, the seccomp profiles, the
/// networks) and spawns the containerizer. The error names what is
/// missing, in one line.
caf::expected<containerizer_actor>
spawn_linux_containerizer(caf::actor_system& sys,
                          posix_containerizer_config cfg,
                          linux_isolation_config isolation);

} // namespace dcos
