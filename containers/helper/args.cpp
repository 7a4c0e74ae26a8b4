#include "args.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace dcos::helper {

const char* const usage_text
  = "usage: dcos-containerizer launch --sandbox=DIR --status_file=FILE\n"
    "           [--fetch=FILE --fetcher=PATH --cache_dir=DIR] "
    "[--env_file=FILE]\n"
    "           [--isolation=FILE [--sync_fd=N]] [--pid_file=FILE] "
    "[--exec=FILE]\n"
    "           -- PROGRAM [ARGS...]\n"
    "       dcos-containerizer enter --target=DIR --status_file=FILE\n"
    "           [--env_file=FILE] [--exec=FILE] [--tty] -- PROGRAM [ARGS...]\n"
    "launch runs PROGRAM as the root of a container in DIR; enter runs it\n"
    "inside the running container whose state directory is DIR. Both write\n"
    "PROGRAM's exit record to FILE as one line of JSON. With --exec, FILE is\n"
    "exec'd with PROGRAM ARGS... as its argv. With --tty, stdin is a terminal\n"
    "that becomes PROGRAM's controlling terminal.\n";

namespace {

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/')
    return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr)
    return path; // the open() that follows reports the problem
  return std::string{cwd} + "/" + path;
}

} // namespace

bool parse_launch_args(int argc, char** argv, launch_args* out,
                       std::string* error) {
  error->clear();
  struct flag {
    const char* name;
    std::string launch_args::*field;
    bool seen;
  };
  flag flags[] = {
    {"sandbox", &launch_args::sandbox, false},
    {"status_file", &launch_args::status_file, false},
    {"fetch", &launch_args::fetch, false},
    {"fetcher", &launch_args::fetcher, false},
    {"cache_dir", &launch_args::cache_dir, false},
    {"env_file", &launch_args::env_file, false},
    {"isolation", &launch_args::isolation, false},
    {"sync_fd", &launch_args::sync_fd_text, false},
    {"exec", &launch_args::executable, false},
    {"pid_file", &launch_args::pid_file, false},
    {"target", &launch_args::target, false},
  };
  if (argc < 2
      || (std::string_view{argv[1]} != "launch"
          && std::string_view{argv[1]} != "enter")) {
    *error = argc < 2 ? "missing command 'launch' or 'enter'"
                      : "unknown command '" + std::string{argv[1]}
                          + "' (commands: launch, enter)";
    return false;
  }
  out->command = argv[1];
  bool enter = out->command == "enter";
  int i = 2;
  std::string first_error;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--tty") {
      if (out->tty && first_error.empty())
        first_error = "--tty: given twice";
      out->tty = true;
      continue;
    }
    auto eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      if (first_error.empty())
        first_error = "'" + std::string{arg}
                      + "': expected --name=value or '--' before PROGRAM";
      continue;
    }
    auto name = arg.substr(2, eq - 2);
    auto value = arg.substr(eq + 1);
    flag* match = nullptr;
    for (auto& f : flags)
      if (name == f.name)
        match = &f;
    if (match == nullptr) {
      if (first_error.empty())
        first_error = "unknown flag '--" + std::string{name} + "'";
      continue;
    }
    if (match->seen && first_error.empty())
      first_error = "--" + std::string{name} + ": given twice";
    if (value.empty() && first_error.empty())
      first_error = "--" + std::string{name} + ": empty value";
    match->seen = true;
    out->*(match->field) = std::string{value};
  }
  // Every other flag is checked after the loop so that --status_file is known
  // whatever order the flags came in.
  out->status_file = absolute(out->status_file);
  if (!first_error.empty()) {
    *error = first_error;
    return false;
  }
  for (; i < argc; ++i)
    out->program.emplace_back(argv[i]);
  if (enter && out->target.empty())
    *error = "--target is required";
  else if (enter && (!out->sandbox.empty() || !out->fetch.empty()
                     || !out->isolation.empty() || !out->pid_file.empty()))
    *error = "enter takes no --sandbox, --fetch, --isolation or --pid_file";
  else if (!enter && !out->target.empty())
    *error = "--target is only valid with enter";
  else if (!enter && out->tty)
    *error = "--tty is only valid with enter";
  else if (!enter && out->sandbox.empty())
    *error = "--sandbox is required";
  else if (out->status_file.empty())
    *error = "--status_file is required";
  else if (out->program.empty())
    *error = "no PROGRAM after '--'";
  else if (!out->fetch.empty()
           && (out->fetcher.empty() || out->cache_dir.empty()))
    *error = "--fetch needs --fetcher and --cache_dir";
  else if (out->fetch.empty()
           && (!out->fetcher.empty() || !out->cache_dir.empty()))
    *error = "--fetcher and --cache_dir are only valid with --fetch";
  else if (!out->sync_fd_text.empty() && out->isolation.empty())
    *error = "--sync_fd is only valid with --isolation";
  else if (!out->sync_fd_text.empty()) {
    char* end = nullptr;
    long fd = std::strtol(out->sync_fd_text.c_str(), &end, 10);
    if (*end != '\0' || fd < 3 || fd > 1024)
      *error = "--sync_fd: '" + out->sync_fd_text
               + "' is not a descriptor number above 2";
    else
      out->sync_fd = static_cast<int>(fd);
  }
  if (!error->empty())
    return false;
  if (out->executable.empty())
    out->executable = out->program.front();
  out->sandbox = absolute(out->sandbox);
  out->fetch = absolute(out->fetch);
  out->cache_dir = absolute(out->cache_dir);
  out->env_file = absolute(out->env_file);
  out->isolation = absolute(out->isolation);
  out->pid_file = absolute(out->pid_file);
  out->target = absolute(out->target);
  // A bare name is left for the PATH lookup of execvp.
  if (out->fetcher.find('/') != std::string::npos)
    out->fetcher = absolute(out->fetcher);
  return true;
}

} // namespace dcos::helper
