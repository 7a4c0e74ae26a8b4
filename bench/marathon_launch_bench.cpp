// Marathon on a real local cluster: one app of --instances instances of
// `sleep 3600` (each under its own command executor, as Marathon runs
// apps) over --agents real agents on loopback. Measures the time from the
// POST until Marathon counts every instance running, the executors'
// footprint then, and the time from the DELETE until every task is gone.
// Prints one JSON line.
//
//   build/bench/marathon_launch_bench [--instances=1000] [--agents=2]
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "daemons.hpp"
#include "dcos/flags.hpp"

using namespace dcos;
using namespace dcos::bench;
using clock_type = std::chrono::steady_clock;

namespace {

struct local_cluster {
  std::string dir;
  std::optional<subprocess> master, marathon;
  std::vector<subprocess> agents;
  uint16_t master_port = 0, marathon_port = 0;

  explicit local_cluster(int agent_count) {
    dir = make_scratch_dir("/tmp", "dcos-marathon-bench-");
    auto [m, mp] = start_master(dir + "/master.log");
    master.emplace(std::move(m));
    master_port = mp;
    for (int i = 0; i < agent_count; ++i) {
      auto [a, ap] = start_daemon(
        {daemon_path("DCOS_AGENT_BIN", "dcos-agent"),
         fmt::format("--master=127.0.0.1:{}", master_port), "--ip=127.0.0.1",
         "--port=0", fmt::format("--work_dir={}/agent-{}", dir, i),
         "--log_level=warning",
         "--resources=cpus:64;mem:262144;disk:1024;ports:[31000-32999]"},
        fmt::format("{}/agent-{}.log", dir, i));
      agents.push_back(std::move(a));
    }
    auto [r, rp] = start_daemon(
      {daemon_path("DCOS_MARATHON_BIN", "dcos-marathon"),
       fmt::format("--master=127.0.0.1:{}", master_port), "--ip=127.0.0.1",
       "--port=0", "--work_dir=" + dir + "/marathon", "--log_level=warning"},
      dir + "/marathon.log");
    marathon.emplace(std::move(r));
    marathon_port = rp;
    auto deadline = clock_type::now() + 30s;
    while (metric(master_port, "master/slaves_active") != agent_count) {
      if (clock_type::now() > deadline)
        return; // registered() says so; the destructor cleans up
      std::this_thread::sleep_for(20ms);
    }
    up = true;
  }

  bool up = false; // every agent registered

  ~local_cluster() {
    if (marathon)
      marathon->terminate(10s);
    // SIGUSR1 makes an agent kill its containers before it goes.
    for (auto& a : agents) {
      a.kill(SIGUSR1);
      a.terminate(60s);
    }
    if (master)
      master->terminate(10s);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::expected<http_reply> call(const std::string& method,
                                 const std::string& target,
                                 const std::string& body = {}) const {
    http_call c;
    c.method = method;
    c.host = "127.0.0.1";
    c.port = marathon_port;
    c.target = target;
    c.body = body;
    if (!body.empty())
      c.content_type = "application/json";
    c.timeout = 30s;
    return http_fetch(c);
  }

  // tasksRunning of /sleep, -1 if it is gone, -2 on no answer.
  int running() const {
    auto r = call("GET", "/v2/apps/sleep");
    if (!r)
      return -2;
    if (r->status == 404)
      return -1;
    google::protobuf::Struct doc;
    if (!google::protobuf::util::JsonStringToMessage(r->body, &doc).ok())
      return -2;
    const auto& app = doc.fields().at("app").struct_value().fields();
    return static_cast<int>(app.at("tasksRunning").number_value());
  }
};

} // namespace

int main(int argc, char** argv) {
  int64_t instances = 1000, agents = 2;
  flags f{"marathon_launch_bench [--instances=N] [--agents=N]",
          "Deploys `sleep 3600` instances with Marathon on a real local "
          "cluster and times it."};
  f.add(&instances, "instances", "instances of the app");
  f.add(&agents, "agents", "real agents on loopback");
  parse_or_exit(f, argc, argv);
  local_cluster c{static_cast<int>(agents)};
  if (!c.up) {
    std::fprintf(stderr, "marathon_launch_bench: the agents did not "
                         "register\n");
    return 1;
  }

  auto start = clock_type::now();
  auto posted = c.call(
    "POST", "/v2/apps",
    fmt::format(R"({{"id": "/sleep", "cmd": "sleep 3600", "instances": {},
                    "cpus": 0.01, "mem": 8, "portDefinitions": []}})",
                instances));
  // From here on failures return (die() would skip the clean-up).
  auto failed = [](const std::string& why) {
    std::fprintf(stderr, "marathon_launch_bench: %s\n", why.c_str());
    return 1;
  };
  if (!posted || posted->status != 201)
    return failed("Marathon refused the app: "
                  + (posted ? posted->body : std::string{"no answer"}));
  int running = 0;
  while (running < instances) {
    if (clock_type::now() - start > 900s)
      return failed(fmt::format("only {} of {} running after 900 s",
                                running, instances));
    std::this_thread::sleep_for(200ms);
    running = c.running();
  }
  auto to_running
    = std::chrono::duration<double>(clock_type::now() - start).count();
  auto executors = measure("dcos-executor", c.dir);

  auto removing = clock_type::now();
  auto removed = c.call("DELETE", "/v2/apps/sleep");
  if (!removed || removed->status != 200)
    return failed("Marathon did not remove the app");
  auto live = [&c] {
    double n = 0;
    for (const char* state : {"staging", "starting", "running", "killing"})
      n += metric(c.master_port, fmt::format("master/tasks_{}", state));
    return n;
  };
  while (live() > 0) {
    if (clock_type::now() - removing > 600s)
      return failed("the tasks were not all gone after 600 s");
    std::this_thread::sleep_for(200ms);
  }
  auto to_gone
    = std::chrono::duration<double>(clock_type::now() - removing).count();
  std::printf("{\"bench\":\"marathon_launch\",\"instances\":%lld,"
              "\"agents\":%lld,\"post_to_all_running_s\":%.1f,"
              "\"delete_to_all_gone_s\":%.1f,\"executors\":%d,"
              "\"executors_pss_mib\":%.0f}\n",
              static_cast<long long>(instances),
              static_cast<long long>(agents), to_running, to_gone,
              executors.processes, executors.pss_kib / 1024.0);
  return 0;
}
