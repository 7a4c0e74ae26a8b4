// A master, one agent with a port range of its own, and Marathon, as real
// processes on loopback: what the services' integration tests run their
// service beside. The agent kills its tasks when the cluster ends.
#pragma once

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/files.hpp"
#include "support/marathon_process.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"

namespace dcos::test {

struct marathon_cluster {
  scratch_dir dir;
  master_process master;
  std::unique_ptr<agent_process> agent;
  std::optional<marathon_process> marathon;

  /// The agent offers `ports` free ports, with `agent_flags` besides;
  /// Marathon runs with `marathon_flags`.
  explicit marathon_cluster(std::vector<std::string> agent_flags = {},
                            size_t ports = 250,
                            std::vector<std::string> marathon_flags = {}) {
    auto first = free_port_run(ports);
    agent_flags.push_back(fmt::format(
      "--resources=cpus:8;mem:8192;disk:1000;ports:[{}-{}]", first,
      first + ports - 1));
    agent = std::make_unique<agent_process>(master.address(), dir / "agent",
                                            std::move(agent_flags));
    marathon.emplace(master.address(), dir / "marathon", free_port(),
                     std::move(marathon_flags));
  }

  ~marathon_cluster() {
    marathon.reset();
    agent->process.kill(SIGUSR1);
    exit_status_within(agent->process, 30s);
  }

  http_result post_app(const std::string& json) {
    return curl({"-X", "POST", "-H", "Content-Type: application/json",
                 "--data-binary", json, marathon->url("/v2/apps")});
  }
};

} // namespace dcos::test
