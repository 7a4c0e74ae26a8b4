// to_command_line: Mesos' rules for turning a CommandInfo into what a
// container execs.
#include <doctest/doctest.h>

#include "dcos/command_line.hpp"

using namespace dcos;

namespace {

v1::CommandInfo exec_form(std::string value, std::vector<std::string> args) {
  v1::CommandInfo cmd;
  cmd.set_shell(false);
  if (!value.empty())
    cmd.set_value(std::move(value));
  for (auto& a : args)
    cmd.add_arguments(std::move(a));
  return cmd;
}

using argv = std::vector<std::string>;

} // namespace

TEST_CASE("a shell command runs under /bin/sh -c; arguments are ignored") {
  v1::CommandInfo cmd; // shell is true when unset
  cmd.set_value("echo $HOME");
  cmd.add_arguments("ignored");
  for (bool image : {false, true}) {
    auto line = to_command_line(cmd, image);
    CHECK(line.executable == "/bin/sh");
    CHECK(line.argv == argv{"sh", "-c", "echo $HOME"});
    CHECK_FALSE(line.entrypoint);
    CHECK(line.file() == "/bin/sh");
  }
}

TEST_CASE("without a shell, value is exec'd with arguments as the whole "
          "argv") {
  auto line = to_command_line(exec_form("/bin/busybox", {"ls", "-l"}), false);
  CHECK(line.executable == "/bin/busybox");
  CHECK(line.argv == argv{"ls", "-l"}); // argv[0] is arguments[0], once
  CHECK(line.file() == "/bin/busybox");
  // No arguments: argv[0] is the value.
  line = to_command_line(exec_form("true", {}), false);
  CHECK(line.argv == argv{"true"});
  CHECK(line.file() == "true");
  // An image does not change an explicit value.
  line = to_command_line(exec_form("/bin/echo", {"echo", "hi"}), true);
  CHECK(line.argv == argv{"echo", "hi"});
  CHECK_FALSE(line.entrypoint);
}

TEST_CASE("without a value, an image's entrypoint runs with the arguments "
          "as its cmd") {
  auto line = to_command_line(exec_form("", {"--port", "80"}), true);
  CHECK(line.entrypoint);
  CHECK(line.argv == argv{"--port", "80"}); // all of them: no argv[0] here
  CHECK_FALSE(line.empty());
  line = to_command_line(exec_form("", {}), true);
  CHECK(line.entrypoint);
  CHECK(line.argv.empty()); // the image's own cmd
  CHECK_FALSE(line.empty());
}

TEST_CASE("without a value or an image there is nothing to run") {
  auto line = to_command_line(exec_form("", {"a", "b"}), false);
  CHECK(line.empty());
  CHECK(line.file().empty());
  CHECK(command_line{}.empty());
}
