// A dcos-marathon process for integration tests: started against a
// master, its "listening on" line read, its URLs at hand.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/checks.hpp"
#include "support/processes.hpp"

namespace dcos::test {

// A dcos-marathon with its state in `work_dir`.
struct marathon_process {
  subprocess process;
  uint16_t port = 0;

  marathon_process(const std::string& master, const std::string& work_dir,
                   uint16_t http_port, std::vector<std::string> extra = {})
    : process(start(master, work_dir, http_port, std::move(extra))),
      port(http_port) {
  }

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port, path);
  }

private:
  static subprocess start(const std::string& master,
                          const std::string& work_dir, uint16_t port,
                          std::vector<std::string> extra) {
    std::vector<std::string> argv{binary("DCOS_MARATHON_BIN"),
                                  "--master=" + master, "--ip=127.0.0.1",
                                  fmt::format("--port={}", port),
                                  "--log_level=info"};
    // Several Marathons keep their state in ZooKeeper: `work_dir` only
    // names the log then.
    bool ha = std::any_of(extra.begin(), extra.end(), [](const auto& f) {
      return f.rfind("--zk=", 0) == 0;
    });
    if (!ha)
      argv.push_back("--work_dir=" + work_dir);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return start_serving(std::move(argv), work_dir + ".log");
  }
};

} // namespace dcos::test
