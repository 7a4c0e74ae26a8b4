#include "linux/network/command.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"
#include "linux/network/errors.hpp"

namespace dcos::isolation::net {

namespace {

std::string joined(const std::vector<std::string>& argv) {
  return fmt::format("{}", fmt::join(argv, " "));
}

struct command_output {
  int status = -1;
  std::string text; // stdout and stderr, interleaved
};

// Runs `argv` to its end. Its stderr goes into the same pipe as its stdout
// (the child opens its own fd 1), because the tools explain failures there.
caf::expected<command_output> execute(const std::vector<std::string>& argv) {
  subprocess_options opts;
  opts.argv = argv;
  opts.capture_stdout = true;
  opts.stderr_path = "/proc/self/fd/1";
  auto child = subprocess::spawn(opts);
  if (!child)
    return with_context(child.error(), fmt::format("`{}`", joined(argv)));
  auto text = child->read_all(command_timeout);
  if (!text) {
    child->terminate(std::chrono::seconds(1));
    return make_error(errc::unavailable,
                      fmt::format("`{}` did not finish within {}s",
                                  joined(argv), command_timeout.count()));
  }
  return command_output{child->wait(), std::move(*text)};
}

// The tool's output on one line, for an error sentence.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Runs `argv` and returns its output; the error names the command and
} // namespace

caf::expected<std::string> output_of(const std::vector<std::string>& argv) {
  auto out = execute(argv);
  if (!out)
    return out.error();
  if (out->status != 0)
    return make_error(errc::io_error,
                      fmt::format("`{}` failed (exit status {}): {}",
                                  joined(argv), out->status,
                                  one_line(out->text)));
  return std::move(out->text);
}

caf::error run(const std::vector<std::string>& argv) {
  auto out = output_of(argv);
  return out ? caf::error{} : out.error();
}

bool succeeds(const std::vector<std::string>& argv) {
  auto out = execute(argv);
  return out && out->status == 0;
}

} // namespace dcos::isolation::net
