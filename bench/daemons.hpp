// Real daemons for benchmarks: start dcos-master and dcos-agent processes
// on loopback, read their metrics, and measure their memory.
//
// Thread-safety: plain functions; call them from the benchmark's main thread.
#pragma once

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/http_client.hpp"
#include "dcos/subprocess.hpp"

namespace dcos::bench {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Prints "<program>: why" and exits 1.
[[noreturn]] inline void die(const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, why.c_str());
  std::exit(1);
}

/// The daemon's path: `variable` in the environment, or `name` in the
/// directory above this benchmark's (build/bench/../).
inline std::string daemon_path(const char* variable, const char* name) {
  if (const char* path = std::getenv(variable))
    return path;
  return (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / name)
    .string();
}

// Starts a daemon that prints "... 127.0.0.1:PORT" as its first line.
inline std::pair<subprocess, uint16_t> start_daemon(std::vector<std::string> argv,
                                             const std::string& log) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.capture_stdout = true;
  opts.stderr_path = log;
  auto p = subprocess::spawn(opts);
  if (!p)
    die("cannot start " + opts.argv[0]);
  auto line = p->read_line(30s);
  auto at = line ? line->find("127.0.0.1:") : std::string::npos;
  if (at == std::string::npos)
    die(opts.argv[0] + " did not start; see " + log);
  auto port = static_cast<uint16_t>(std::stoi(line->substr(at + 10)));
  return {std::move(*p), port};
}

/// A fresh directory `parent`/`prefix`XXXXXX; exits if it cannot be made.
inline std::string make_scratch_dir(const std::string& parent,
                                    const std::string& prefix) {
  auto tmpl = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    die("cannot create a directory in " + parent);
  return tmpl;
}

/// A dcos-master on loopback with `extra` flags, logging to `log`: the
/// process and its HTTP port.
inline std::pair<subprocess, uint16_t>
start_master(const std::string& log, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{daemon_path("DCOS_MASTER_BIN", "dcos-master"),
                                "--ip=127.0.0.1", "--port=0",
                                "--log_level=warning"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_daemon(std::move(argv), log);
}

/// The metric `name` of the daemon's /metrics/snapshot; -1 if absent.
inline double metric(uint16_t port, const std::string& name) {
  http_call call;
  call.host = "127.0.0.1";
  call.port = port;
  call.target = "/metrics/snapshot";
  auto reply = http_fetch(call);
  if (!reply)
    return -1;
  google::protobuf::Struct doc;
  if (!google::protobuf::util::JsonStringToMessage(reply->body, &doc).ok())
    return -1;
  auto i = doc.fields().find(name);
  return i == doc.fields().end() ? -1 : i->second.number_value();
}

struct footprint {
  long rss_kib = 0;
  long pss_kib = 0; // shared pages split among their users: sums honestly
  long threads = 0;
  int processes = 0;
};

// Whether process `proc` (a /proc entry) works in a directory under
// `prefix`: an executor's working directory is its sandbox, under the agent's
// work_dir, which tells this run's executors from any other agent's.
inline bool works_under(const fs::path& proc, const std::string& prefix) {
  std::error_code ec;
  auto cwd = fs::read_symlink(proc / "cwd", ec).string();
  return !ec && cwd.rfind(prefix + "/", 0) == 0;
}

// Sums VmRSS and Threads over the processes whose command name is `comm`
// (truncated to 15 characters by the kernel) and that work under `dir`, or
// of process `pid`.
inline footprint measure(const std::string& comm, const std::string& dir,
                  pid_t pid = 0) {
  footprint f;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (pid != 0 && name != std::to_string(pid))
      continue;
    std::ifstream status{entry.path() / "status"};
    std::string line;
    bool match = pid != 0;
    long rss = 0, threads = 0;
    while (std::getline(status, line)) {
      if (line.rfind("Name:\t", 0) == 0)
        match = match || line.substr(6) == comm.substr(0, 15);
      else if (line.rfind("VmRSS:", 0) == 0)
        rss = std::stol(line.substr(6));
      else if (line.rfind("Threads:", 0) == 0)
        threads = std::stol(line.substr(8));
    }
    if (match && pid == 0)
      match = works_under(entry.path(), dir);
    if (match) {
      std::ifstream rollup{entry.path() / "smaps_rollup"};
      while (std::getline(rollup, line))
        if (line.rfind("Pss:", 0) == 0)
          f.pss_kib += std::stol(line.substr(4));
      f.rss_kib += rss;
      f.threads += threads;
      ++f.processes;
    }
  }
  return f;
}

} // namespace dcos::bench
