// GET /v2/apps?embed=apps.tasks with --instances tasks: the latency of
// Marathon's heaviest common read (Marathon users report tens of seconds
// at 3-5k tasks), over real HTTP on loopback. Marathon loads one app with
// that many running tasks from its store (no master is needed to answer
// reads), then the same GET is timed --requests times. Prints one JSON
// line (milliseconds).
//
//   build/bench/marathon_http_bench [--instances=10000] [--requests=50]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/flags.hpp"
#include "dcos/http_client.hpp"
#include "dcos/http_server.hpp"
#include "dcos/logging.hpp"
#include "dcos/store_actor.hpp"
#include "app_definition.hpp"
#include "marathon_actor.hpp"
#include "marathon_http.hpp"

using namespace dcos;
using namespace dcos::marathon;
using namespace std::chrono_literals;

namespace {

// A detector that never names a master: Marathon serves what it loaded.
detector_actor spawn_silent_detector(caf::actor_system& sys) {
  return sys.spawn([]() -> detector_actor::behavior_type {
    return {
      [](detect_atom, const master_actor&) -> caf::result<master_actor> {
        return caf::delegated<master_actor>{};
      },
    };
  });
}

// The store of a Marathon that runs one app with `instances` tasks.
store_actor filled_store(caf::actor_system& sys, int instances) {
  auto store = spawn_memory_store(sys);
  caf::scoped_actor self{sys};
  auto put = [&](const std::string& key, const std::string& value) {
    self->request(store, caf::infinite, put_atom::value, key, value)
      .receive([](ok_atom) {},
               [](caf::error& err) {
                 std::fprintf(stderr, "store: %s\n", describe(err).c_str());
               });
  };
  App app;
  app.set_id("/bench/web");
  app.set_cmd("python3 -m http.server $PORT0");
  app.set_instances(instances);
  app.set_cpus(0.1);
  app.set_mem(64);
  app.add_port_definitions();
  apply_defaults(&app);
  app.set_version("2026-12-01T00:00:00.000Z");
  app.mutable_version_info()->set_last_config_change_at(app.version());
  app.mutable_version_info()->set_last_scaling_at(app.version());
  put("apps/bench_web", app.SerializeAsString());
  for (int i = 0; i < instances; ++i) {
    Task t;
    t.set_id(fmt::format("bench_web.{:08x}-0000-4000-8000-000000000000", i));
    t.set_app_id(app.id());
    t.set_host(fmt::format("agent-{}", i % 1000));
    t.add_ports(31000 + i / 1000);
    t.set_slave_id(fmt::format("agent-{}-S0", i % 1000));
    t.set_state("TASK_RUNNING");
    t.set_staged_at("2026-12-01T00:00:01.000Z");
    t.set_started_at("2026-12-01T00:00:02.000Z");
    t.set_version(app.version());
    auto* ip = t.add_ip_addresses();
    ip->set_ip_address(fmt::format("10.0.{}.{}", i / 250 % 250, i % 250));
    ip->set_protocol("IPv4");
    put("tasks/" + t.id(), t.SerializeAsString());
  }
  return store;
}

} // namespace

int main(int argc, char** argv) {
  int64_t instances = 10000, requests = 50;
  flags f{"marathon_http_bench [--instances=N] [--requests=N]",
          "Times GET /v2/apps?embed=apps.tasks on a Marathon with N tasks."};
  f.add(&instances, "instances", "running tasks of the one app");
  f.add(&requests, "requests", "GETs to time");
  parse_or_exit(f, argc, argv);
  logging::init(spdlog::level::err);

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  marathon_config mcfg;
  mcfg.framework.set_name("marathon");
  mcfg.framework.add_roles("*");
  mcfg.detector = spawn_silent_detector(sys);
  mcfg.store = filled_store(sys, static_cast<int>(instances));
  auto marathon = spawn_marathon(sys, mcfg);
  auto server = http_server::start(
    "127.0.0.1", 0, marathon_routes(sys, marathon, {}).handler(), 2);
  if (!server) {
    std::fprintf(stderr, "cannot serve: %s\n",
                 describe(server.error()).c_str());
    return 1;
  }
  http_call call;
  call.host = "127.0.0.1";
  call.port = (*server)->port();
  call.target = "/v2/apps?embed=apps.tasks";
  call.timeout = 60s;
  // Wait until Marathon has loaded its state.
  size_t bytes = 0;
  for (int i = 0; i < 600; ++i) {
    auto r = http_fetch(call);
    if (r && r->status == 200 && r->body.find("\"tasks\":[{") != std::string::npos) {
      bytes = r->body.size();
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (bytes == 0) {
    std::fprintf(stderr, "Marathon did not answer with its tasks\n");
    return 1;
  }
  std::vector<double> ms;
  for (int64_t i = 0; i < requests; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = http_fetch(call);
    auto took = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (!r || r->status != 200) {
      std::fprintf(stderr, "GET failed\n");
      return 1;
    }
    ms.push_back(took);
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&ms](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  std::printf("{\"bench\":\"marathon_get_apps_embed_tasks\",\"tasks\":%lld,"
              "\"requests\":%lld,\"body_bytes\":%zu,\"p50_ms\":%.1f,"
              "\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
              static_cast<long long>(instances),
              static_cast<long long>(requests), bytes, at(0.5), at(0.99),
              ms.back());
  (*server)->stop();
  caf::anon_send_exit(marathon, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mcfg.detector, caf::exit_reason::user_shutdown);
  return 0;
}
