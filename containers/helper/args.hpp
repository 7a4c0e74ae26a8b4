// The command line of dcos-containerizer:
//
//   dcos-containerizer launch --sandbox=DIR --status_file=FILE
//       [--fetch=FILE --fetcher=PATH --cache_dir=DIR] [--env_file=FILE]
//       [--isolation=FILE [--sync_fd=N]] [--pid_file=FILE] [--exec=FILE]
//       -- PROGRAM [ARGS...]
//   dcos-containerizer enter --target=DIR --status_file=FILE
//       [--env_file=FILE] [--exec=FILE] [--tty] -- PROGRAM [ARGS...]
//
// `launch` starts a container; --pid_file names where it writes the pid
// whose namespaces and cgroups are the container's (the init when isolated,
// else the helper itself). `enter` runs PROGRAM inside the running container
// whose state directory is DIR (the one holding its pid file, "pid", and its
// isolation spec, "isolation"), with stdin, stdout and stderr as given to the
// helper: a debug session (Mesos' LAUNCH_NESTED_CONTAINER_SESSION). With
// --tty, stdin is a terminal, which PROGRAM leads a session of its own on
// and takes as its controlling terminal (docker exec -t).
//
// PROGRAM ARGS... is the program's argv. The file exec'd is PROGRAM, looked
// up on PATH, or FILE if --exec is given: Mesos' CommandInfo with shell=false
// execs `value` with `arguments` as the whole argv, so argv[0] may differ
// from the file (a multi-call binary such as busybox reads it).
//
// Parsed by hand rather than with dcos::flags: the helper is exec'd for every
// task and links libc and libstdc++ only, so that it starts fast.
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <string>
#include <vector>

namespace dcos::helper {

struct launch_args {
  std::string command;     // "launch" or "enter"
  std::string target;      // enter: the container's state directory
  std::string pid_file;    // launch: absolute; empty: none written
  std::string sandbox;     // absolute; launch only
  std::string status_file; // absolute
  std::string fetch;       // absolute request file; empty: nothing to fetch
  std::string fetcher;     // absolute, or a bare name looked up on PATH
  std::string cache_dir;   // absolute
  std::string env_file;    // absolute; empty: PROGRAM inherits our environment
  std::string isolation;   // absolute spec file (isolation_spec.hpp); empty:
                           // PROGRAM runs in our namespaces
  int sync_fd = -1;        // the agent's end of the sync protocol
  std::string sync_fd_text; // --sync_fd as given
  std::vector<std::string> program; // PROGRAM ARGS...; never empty on success
  std::string executable; // --exec, or PROGRAM; the file exec'd
  bool tty = false;       // enter: stdin is PROGRAM's controlling terminal
};

/// The text printed for `--help` and after a usage error.
extern const char* const usage_text;

/// Parses argv (argv[0] is the helper itself): `launch` or `enter`. Relative paths are made
/// absolute against the current directory, because the helper changes into
/// the sandbox before it uses them.
/// On failure returns false and sets `*error` to one line naming the argument;
/// `out->status_file` is still set if that flag was parsed, so that the caller
/// can leave an exit record.
bool parse_launch_args(int argc, char** argv, launch_args* out,
                       std::string* error);

} // namespace dcos::helper
