// Real processes for integration tests: daemons started from the build tree
// and always ended (subprocess ends its child in its destructor), and curl.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/checks.hpp"
#include "support/files.hpp"
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>

#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"
#include "support/checks.hpp"

namespace dcos::test {

using namespace std::chrono_literals;

/// The path of a binary of the build, passed by meson in `variable`.
inline std::string binary(const char* variable) {
  const char* path = std::getenv(variable);
  REQUIRE_MESSAGE(path != nullptr, variable << " is not set");
  return path;
}

/// Starts a daemon of the build (`argv`; its stderr to `log`) and waits for
/// the line it prints once it serves ("NAME listening on http://...").
inline subprocess start_serving(std::vector<std::string> argv,
                                const std::string& log) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.capture_stdout = true;
  opts.stderr_path = log;
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  auto line = p->read_line(30s);
  DCOS_REQUIRE_OK(line);
  REQUIRE_MESSAGE(line->find("listening on") != std::string::npos, *line);
  return std::move(*p);
}

/// A running dcos-master on loopback with free ports.
struct master_process {
  subprocess process;
  std::string ip;
  uint16_t port = 0;

  /// A master on `ip` (any loopback address: several masters may each
  /// have one, as on several machines).
  explicit master_process(std::vector<std::string> extra = {},
                          std::string on_ip = "127.0.0.1")
    : process(start(std::move(extra), on_ip)), ip(std::move(on_ip)) {
    auto line = process.read_line(30s);
    DCOS_REQUIRE_OK(line);
    auto at = line->find(ip + ":");
    REQUIRE_MESSAGE(at != std::string::npos, *line);
    port = static_cast<uint16_t>(std::stoi(line->substr(at + ip.size() + 1)));
  }

  std::string address() const { return ip + ":" + std::to_string(port); }

private:
  static subprocess start(std::vector<std::string> extra,
                          const std::string& ip) {
    subprocess_options opts;
    opts.argv = {binary("DCOS_MASTER_BIN"), "--ip=" + ip, "--port=0",
                 "--log_level=warning"};
    opts.argv.insert(opts.argv.end(), extra.begin(), extra.end());
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  }
};

/// A running dcos-agent for `master`, with its own work directory.
struct agent_process {
  subprocess process;
  uint16_t port = 0;
  std::string work_dir;

  /// `nice`: the agent's (and so its executors') nice value, above 0 to let
  /// masters and ZooKeeper on the same two cores answer in time during a
  /// launch storm (on a real cluster they have machines of their own).
  agent_process(const std::string& master, std::string dir,
                std::vector<std::string> extra = {}, int nice = 0)
    : process(start(master, dir, std::move(extra), nice)),
      work_dir(std::move(dir)) {
    auto line = process.read_line(30s);
    DCOS_REQUIRE_OK(line);
    auto at = line->find("127.0.0.1:");
    REQUIRE_MESSAGE(at != std::string::npos, *line);
    port = static_cast<uint16_t>(std::stoi(line->substr(at + 10)));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

private:
  static subprocess start(const std::string& master, const std::string& dir,
                          std::vector<std::string> extra, int nice) {
    subprocess_options opts;
    opts.argv = {binary("DCOS_AGENT_BIN"), "--master=" + master,
                 "--ip=127.0.0.1", "--port=0", "--work_dir=" + dir,
                 "--log_level=warning", "--status_update_retry_min=500ms",
                 "--registration_backoff=200ms"};
    if (nice != 0)
      opts.argv.insert(opts.argv.begin(),
                       {"nice", "-n", std::to_string(nice)});
    opts.argv.insert(opts.argv.end(), extra.begin(), extra.end());
    opts.capture_stdout = true;
    opts.stderr_path = dir + ".log";
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    return std::move(*p);
  }
};

/// Ends every container an agent left in `work_dir` (after kill -9): runs
/// `dcos-agent --recover=cleanup` on it, which kills them and exits.
inline void cleanup_agent_dir(const std::string& master,
                              const std::string& work_dir) {
  subprocess_options opts;
  opts.argv = {binary("DCOS_AGENT_BIN"), "--master=" + master,
               "--ip=127.0.0.1", "--port=0", "--work_dir=" + work_dir,
               "--recover=cleanup", "--log_level=error",
               "--executor_shutdown_grace_period=1secs"};
  opts.stdout_path = "/dev/null";
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  if (p) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!p->poll() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
  }
}

/// Ends `agent` for good, with its containers, when it goes out of scope
/// (SIGUSR1), and cleans up whatever is left in its work directory.
/// Declare it before anything that talks to the agent (a scheduler
/// driver): it then ends after them.
struct agent_stopper {
  agent_process& agent;
  std::string master;
  ~agent_stopper() {
    agent.process.kill(SIGUSR1);
    agent.process.terminate(15s);
    cleanup_agent_dir(master, agent.work_dir);
  }
};

struct http_result {
  int status = 0;
  std::string body;
};

/// Runs curl (a real HTTP client) and returns status and body.
inline http_result curl(std::vector<std::string> args) {
  subprocess_options opts;
  opts.argv = {"curl", "-s", "-o", "-", "-w", "\n%{http_code}"};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.capture_stdout = true;
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  auto out = p->read_all(30s);
  DCOS_REQUIRE_OK(out);
  p->wait();
  while (!out->empty() && out->back() == '\n')
    out->pop_back();
  auto nl = out->rfind('\n');
  http_result result;
  result.status = std::stoi(out->substr(nl == std::string::npos ? 0 : nl + 1));
  result.body = nl == std::string::npos ? "" : out->substr(0, nl);
  return result;
}

struct run_result {
  int status = -1;
  std::string out;
};

/// Runs `argv` to its end (waiting at most `timeout` for its output): its
/// exit status and its stdout and stderr together.
inline run_result run_to_end(std::vector<std::string> argv,
                             std::chrono::milliseconds timeout = 60s) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/stdout";
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  auto out = p->read_all(timeout);
  DCOS_REQUIRE_OK(out);
  return {p->wait(), std::move(*out)};
}

/// Runs one of the Python frameworks of tests/integration (its path in the
/// environment `variable`) with `args`, to its end: its exit status and
/// output. Its stderr goes to `stderr_path` if given.
inline run_result run_framework_script(const char* variable,
                                       std::vector<std::string> args,
                                       const std::string& stderr_path = {}) {
  subprocess_options opts;
  opts.argv = {"python3", binary(variable)};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.capture_stdout = true;
  opts.stderr_path = stderr_path;
  auto framework = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(framework);
  auto out = framework->read_all(300s);
  DCOS_REQUIRE_OK(out);
  return {framework->wait(), std::move(*out)};
}

/// Runs tests/integration/http_framework.py against `master` for `tasks`
/// tasks; with `operations`, it first reserves with operation feedback.
inline run_result run_http_framework(const std::string& master, int tasks,
                                     bool operations = false) {
  std::vector<std::string> args{"--master=" + master,
                                "--tasks=" + std::to_string(tasks)};
  if (operations)
    args.push_back("--operations");
  return run_framework_script("DCOS_HTTP_FRAMEWORK", std::move(args));
}

/// Parses `body` as JSON; fails the test if it is not well-formed.
inline google::protobuf::Struct parse_json_object(const std::string& body) {
  google::protobuf::Struct doc;
  auto status = google::protobuf::util::JsonStringToMessage(body, &doc);
  REQUIRE_MESSAGE(status.ok(), "not well-formed JSON: " << body);
  return doc;
}

/// Polls `pred` every 50 ms until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

/// The exit status of `p` once it ends within `timeout`; nullopt if it
/// still runs then (a test must never wait for a child without a bound).
inline std::optional<int> exit_status_within(subprocess& p,
                                             std::chrono::milliseconds timeout) {
  std::optional<int> status;
  eventually([&] { return (status = p.poll()).has_value(); }, timeout);
  return status;
}

} // namespace dcos::test
