// Marathon at scale in the simulation: --instances instances (of --apps
// apps) posted at once onto --agents simulated agents, the real master,
// agents and executors and the real Marathon actors, its store in memory.
// Measures the time from the POST (Marathon's put call) until Marathon
// reports the deployment done (every instance running), in virtual and
// wall-clock time, then how long Marathon takes to list every app with its
// tasks (what GET /v2/apps?embed=apps.tasks asks of it). Prints one JSON
// line.
//
//   build/bench/marathon_sim_bench [--agents=1000] [--instances=10000]
//                                  [--apps=1] [--seed=1]
#include <chrono>
#include <cstdio>
#include <memory>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/sim.hpp"
#include "dcos/store_actor.hpp"
#include "app_definition.hpp"
#include "marathon_actor.hpp"

using namespace dcos;
using namespace dcos::marathon;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

struct figures {
  bool done = false;
  caf::timespan virtual_to_running{0};
  double wall_to_running = 0;
  double list_wall_ms = 0;
  size_t listed_tasks = 0;
};

// Posts the apps once Marathon is up, then polls its deployments every
// 100 ms of virtual time until none is left; then lists the apps once.
caf::behavior client(caf::event_based_actor* self, marathon_actor m,
                     int apps, int instances, figures* out) {
  auto posted_at = std::make_shared<caf::actor_clock::time_point>();
  auto posted_wall = std::make_shared<wall::time_point>();
  auto post = [=] {
    *posted_at = self->clock().now();
    *posted_wall = wall::now();
    for (int i = 0; i < apps; ++i) {
      App app;
      app.set_id(fmt::format("/bench/app-{}", i));
      app.set_cmd("sleep 3600");
      app.set_instances(instances / apps + (i < instances % apps ? 1 : 0));
      app.set_cpus(0.1);
      app.set_mem(32);
      app.add_port_definitions();
      apply_defaults(&app); // Marathon's, as a POST gets them
      self->request(m, caf::infinite, put_atom::value, app, true, false)
        .then([](const Deployment&) {},
              [](caf::error& err) {
                std::fprintf(stderr, "post refused: %s\n",
                             describe(err).c_str());
              });
    }
  };
  // Marathon answers once it has loaded its (empty) state.
  self->delayed_send(self, 1s, poll_atom::value);
  return {
    [=](poll_atom) {
      if (*posted_wall == wall::time_point{}) {
        post();
        self->delayed_send(self, 100ms, poll_atom::value);
        return;
      }
      self->request(m, caf::infinite, get_atom::value, deploys_atom::value)
        .then([=](const std::vector<Deployment>& left) {
          if (!left.empty()) {
            self->delayed_send(self, 100ms, poll_atom::value);
            return;
          }
          out->done = true;
          out->virtual_to_running = self->clock().now() - *posted_at;
          out->wall_to_running
            = std::chrono::duration<double>(wall::now() - *posted_wall)
                .count();
          auto list_start = wall::now();
          self->request(m, caf::infinite, get_atom::value, apps_atom::value)
            .then([=](const std::vector<App>& listed) {
              out->list_wall_ms = std::chrono::duration<double, std::milli>(
                                    wall::now() - list_start)
                                    .count();
              for (const auto& app : listed)
                out->listed_tasks += static_cast<size_t>(app.tasks_size());
            });
        });
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  uint64_t agents = 1000, instances = 10000, apps = 1, seed = 1;
  flags f{"marathon_sim_bench [--agents=N] [--instances=N] [--apps=N] "
          "[--seed=N]",
          "Deploys Marathon apps onto simulated agents and times it."};
  f.add(&agents, "agents", "simulated agents");
  f.add(&instances, "instances", "instances in all");
  f.add(&apps, "apps", "apps they are spread over");
  f.add(&seed, "seed", "the simulation's seed");
  parse_or_exit(f, argc, argv);
  logging::init(spdlog::level::err);

  sim::scenario sc;
  sc.name = "marathon_deploy";
  sim::agent_group g;
  g.count = agents;
  g.total = *resources::parse(
    "cpus:16;mem:65536;disk:100000;ports:[31000-32999]");
  sc.agents.push_back(g);
  sc.faults_from = 0s;
  sc.faults_until = 0s;
  sc.time_limit = std::chrono::minutes(5);
  figures out;
  sim::simulation sim{sc, seed};
  sim.add_framework([&](caf::actor_system& sys, detector_actor detector) {
    marathon_config cfg;
    cfg.framework.set_name("marathon");
    cfg.framework.set_user("root");
    cfg.framework.add_roles("*");
    cfg.framework.set_failover_timeout(604800);
    cfg.detector = detector;
    cfg.store = spawn_memory_store(sys);
    cfg.seed = seed;
    cfg.start_time = 1.8e9;
    auto m = spawn_marathon(sys, cfg);
    sys.spawn(client, m, static_cast<int>(apps), static_cast<int>(instances),
              &out);
    return caf::actor_cast<caf::actor>(m);
  });
  auto r = sim.run();
  std::printf(
    "{\"bench\":\"marathon_sim\",\"agents\":%llu,\"instances\":%llu,"
    "\"apps\":%llu,\"deployed\":%s,\"post_to_running_virtual_s\":%.3f,"
    "\"post_to_running_wall_s\":%.3f,\"list_apps_with_tasks_ms\":%.1f,"
    "\"listed_tasks\":%zu,\"sim_passed\":%s,\"sim_wall_s\":%.1f}\n",
    static_cast<unsigned long long>(agents),
    static_cast<unsigned long long>(instances),
    static_cast<unsigned long long>(apps), out.done ? "true" : "false",
    std::chrono::duration<double>(out.virtual_to_running).count(),
    out.wall_to_running, out.list_wall_ms, out.listed_tasks,
    r.passed ? "true" : "false", r.stats.wall_seconds);
  if (!r.passed)
    std::fprintf(stderr, "simulation: %s\n", r.violation.c_str());
  return out.done && r.passed ? 0 : 1;
}
