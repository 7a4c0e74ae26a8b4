// The start and the end that every libdcos daemon shares (dcos-master,
// dcos-agent and the services): the flags every daemon has, logging, the
// actor system's configuration, the HTTP edge with the endpoints every daemon
// serves, the one line that says it is up, and the exit codes.
//
//   int main(int argc, char** argv) {
//     daemon_runtime d{"dcos-thing", "dcos-thing [flags]", "Does things.",
//                      9000};
//     std::string work_dir;
//     d.flags().add(&work_dir, "work_dir", "where state lives");
//     d.parse_or_exit(argc, argv);           // and starts logging
//     if (work_dir.empty())
//       return d.usage_error("--work_dir: required");
//     caf::actor_system_config cfg;
//     d.configure(cfg);
//     caf::actor_system sys{cfg};
//     http_router routes;                    // the daemon's own endpoints
//     auto http = d.serve(std::move(routes));
//     if (!http)
//       return d.startup_error("cannot serve HTTP", http.error());
//     d.announce((*http)->port());
//     d.log()->info("stopping on signal {}", wait_for_termination_signal());
//   }
//
// Flags of every daemon: --ip, --port (0 picks a free port), --log_level,
// --http_threads; plus what flags() declares (--config, DCOS_* variables and
// --help as dcos::flags has them).
// Endpoints of every daemon, besides its own: GET /health (200, empty),
// GET /version ({"version": "..."}) and GET /flags ({"flags": {name:
// value}}, every flag with the value in effect).
// Exit codes: 0 after a clean stop; 1 when it could not start (a port in
// use); 2 for a bad flag.
//
// Thread-safety: for main() only. Signals: call block_termination_signals()
// (signals.hpp) first thing in main(), before any thread starts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <spdlog/spdlog.h>

#include <dcos/flags.hpp>
#include <dcos/http_router.hpp>
#include <dcos/http_server.hpp>

namespace dcos {

class daemon_runtime {
public:
  /// The values of the flags every daemon has.
  struct common_flags {
    std::string ip = "127.0.0.1"; // HTTP (and, for the kernel, actors)
    uint16_t port = 0;
    std::string log_level = "info";
    uint32_t http_threads = 2;
  };

  /// `name` is the program's name, used in messages, the log and the
  /// announcement; `default_port` the HTTP port when --port is not given.
  daemon_runtime(std::string name, std::string usage_line,
                 std::string summary, uint16_t default_port);

  daemon_runtime(const daemon_runtime&) = delete;
  daemon_runtime& operator=(const daemon_runtime&) = delete;

  /// Declare the daemon's own flags here before parse_or_exit().
  dcos::flags& flags() noexcept { return flags_; }

  /// The common flags: defaults before parse_or_exit(), values after.
  const common_flags& common() const noexcept { return common_; }

  /// Loads the flags from argv, the environment and --config. Prints usage
  /// and exits 0 on --help; prints one line naming the flag and exits 2 on a
  /// bad one (--log_level and --http_threads included). Then sends logging
  /// to stderr at --log_level.
  void parse_or_exit(int argc, char** argv);

  /// Prints "NAME: message" to stderr and returns 2, for a flag the daemon
  /// checks itself: `return d.usage_error("--work_dir: required");`.
  int usage_error(std::string_view message) const;

  /// Logs "what: reason" as critical and returns 1, for a start that failed.
  int startup_error(std::string_view what, const caf::error& reason) const;

  /// The daemon's logger (named after it).
  const std::shared_ptr<spdlog::logger>& log() const noexcept { return log_; }

  /// Configures an actor system as every daemon runs it
  /// (configure_actor_system in actor_system_setup.hpp).
  void configure(caf::actor_system_config& cfg) const;

  /// Serves HTTP on --ip:--port with --http_threads threads: `routes`, plus
  /// /health, /version and /flags unless `routes` has them already. `port`,
  /// if given, is bound instead of --port (for a daemon that must know its
  /// port before it serves, as an agent advertises it when it registers).
  caf::expected<std::unique_ptr<http_server>>
  serve(http_router routes, std::optional<uint16_t> port = {}) const;

  /// Prints the line tools and `dcos up` wait for, and flushes it:
  /// "NAME listening on http://IP:PORT" and " (detail)" if given.
  void announce(uint16_t port, std::string_view detail = {}) const;

private:
  std::string name_;
  dcos::flags flags_;
  common_flags common_;
  std::shared_ptr<spdlog::logger> log_;
};

/// This machine's hostname, or "localhost" if it has none: what a daemon
/// advertises unless told otherwise.
std::string local_hostname();

/// The path of a program shipped with libdcos (dcos-executor,
/// dcos-containerizer, dcos-agent, ...): next to the running program, in the
/// build tree's containers/ beside it, or one directory up; else `name`
/// itself, for a lookup on PATH.
std::string sibling_program(const std::string& name);

} // namespace dcos
