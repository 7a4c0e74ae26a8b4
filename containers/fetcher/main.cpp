// dcos-fetcher: places the URIs of a task's CommandInfo in its sandbox.
//
//   dcos-fetcher --request=FILE --sandbox=DIR [--cache_dir=DIR]
//                [--http_timeout=5mins]
//
// FILE holds a dcos.v1.CommandInfo as Mesos-style JSON; every entry of its
// `uris` is fetched in order (see fetcher.hpp). Prints one line per URI on
// stdout; on the first failure prints one line naming the URI and the reason
// on stderr and exits 1. dcos-containerizer runs it before the task and
// reports that last line. Exit 2: bad flags.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"
#include "fetcher.hpp"
#include "files.hpp"

using namespace dcos;

namespace {

[[noreturn]] void die(int code, const std::string& message) {
  std::fprintf(stderr, "dcos-fetcher: %s\n", message.c_str());
  std::exit(code);
}

} // namespace

int main(int argc, char** argv) {
  std::string request_path;
  fetcher::fetch_options opts;
  caf::timespan http_timeout = std::chrono::minutes(5);
  flags f{"dcos-fetcher --request=FILE --sandbox=DIR [--cache_dir=DIR]",
          "Fetches the URIs of a CommandInfo (JSON in FILE) into a sandbox."};
  f.add(&request_path, "request", "file holding a CommandInfo as JSON");
  f.add(&opts.sandbox, "sandbox", "directory the files are placed in");
  f.add(&opts.cache_dir, "cache_dir", "directory of cached downloads");
  f.add(&http_timeout, "http_timeout", "limit of each HTTP request");
  // The fetcher runs in the task's environment (dcos-containerizer's
  // --env_file), where DCOS_* variables are the task's, not the fetcher's
  // configuration: flags come from the command line only.
  const char* const no_environment[] = {nullptr};
  auto err = f.load(argc, argv, no_environment);
  if (f.help_requested()) {
    std::fputs(f.usage().c_str(), stdout);
    return 0;
  }
  if (err)
    die(2, describe_reason(err));
  if (!f.positional().empty())
    die(2, fmt::format("unexpected argument '{}'", f.positional().front()));
  if (request_path.empty() || opts.sandbox.empty())
    die(2, "--request and --sandbox are required");
  opts.http_timeout
    = std::chrono::duration_cast<std::chrono::milliseconds>(http_timeout);
  // Absolute paths: tools get them as arguments, and a path starting with
  // '-' must never be read as an option.
  std::error_code ec;
  opts.sandbox = std::filesystem::absolute(opts.sandbox, ec).string();
  if (!opts.cache_dir.empty())
    opts.cache_dir = std::filesystem::absolute(opts.cache_dir, ec).string();
  if (!std::filesystem::is_directory(opts.sandbox, ec))
    die(1, fmt::format("--sandbox: '{}' is not a directory", opts.sandbox));

  auto text = read_file(request_path);
  if (!text)
    die(1, fmt::format("--request: cannot read '{}'", request_path));
  v1::CommandInfo command;
  if (auto parse_err = from_json(*text, &command, "--request"))
    die(1, describe_reason(parse_err));

  for (const auto& uri : command.uris()) {
    auto result = fetcher::fetch_uri(uri, opts);
    if (!result)
      die(1, describe_reason(result.error()));
    std::printf("fetched %s to %s%s\n", uri.value().c_str(),
                result->path.c_str(),
                result->from_cache ? " (from the cache)" : "");
    if (!result->extracted_into.empty())
      std::printf("extracted %s into %s\n", result->path.c_str(),
                  result->extracted_into.c_str());
    std::fflush(stdout);
  }
  return 0;
}
