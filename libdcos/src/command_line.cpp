#include "dcos/command_line.hpp"

#include "dcos/mesos_defaults.hpp"

namespace dcos {

const std::string& command_line::file() const {
  static const std::string none;
  if (!executable.empty())
    return executable;
  return argv.empty() ? none : argv.front();
}

command_line to_command_line(const v1::CommandInfo& cmd, bool has_image) {
  command_line out;
  if (uses_shell(cmd)) {
    out.executable = "/bin/sh";
    out.argv = {"sh", "-c", cmd.value()};
    return out;
  }
  out.argv.assign(cmd.arguments().begin(), cmd.arguments().end());
  if (!cmd.value().empty()) {
    out.executable = cmd.value();
    if (out.argv.empty())
      out.argv.push_back(cmd.value());
  } else if (has_image) {
    out.entrypoint = true;
  } else {
    out.argv.clear(); // nothing to exec: empty() says so
  }
  return out;
}

} // namespace dcos
