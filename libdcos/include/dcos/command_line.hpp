// How a CommandInfo becomes the program a container execs, by Mesos' rules.
//
// Every launch of a CommandInfo (an executor's, a task's, a COMMAND health
// check's) goes through to_command_line(), so that the three cannot
// disagree about argv[0] or the shell.
//
// Mesos' rules (mesos.proto, CommandInfo):
//  - shell (the default): `/bin/sh -c value`; `arguments` are ignored;
//  - shell=false: exec the file `value` (looked up on PATH) with
//    `arguments` as its whole argv, argv[0] included, as
//    execvp(value, arguments) does; no arguments means argv = {value};
//  - shell=false without a value, in a container with an image: the
//    image's entrypoint runs, and `arguments` (all of them) replace the
//    image's cmd, as `docker run IMAGE ARGS...` does.
#pragma once

#include <string>
#include <vector>

#include <dcos/v1/command.pb.h>

namespace dcos {

/// What a container execs.
struct command_line {
  /// The file exec'd: a path, or a name looked up on PATH. Empty: argv[0].
  std::string executable;
  /// The program's argv, argv[0] included. With `entrypoint`: the arguments
  /// that replace the image's cmd (none: the image's own cmd).
  std::vector<std::string> argv;
  /// Run the image's entrypoint (the containerizer resolves it).
  bool entrypoint = false;

  /// The file exec'd: `executable`, or argv[0] without one; "" if neither.
  const std::string& file() const;

  /// True if there is nothing to run: no argv and no entrypoint.
  bool empty() const { return !entrypoint && argv.empty(); }
};

/// The command line of `cmd` by the rules above. `has_image`: the container
/// has an image whose entrypoint can stand in for a missing value.
/// A command without a value and without an image gives an empty command
/// line (command_line::empty()), which a containerizer refuses to launch.
command_line to_command_line(const v1::CommandInfo& cmd, bool has_image);

} // namespace dcos
