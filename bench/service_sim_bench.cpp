// A stateful service at scale in the simulation: --pods pod instances, one
// per agent (placement UNIQUE), each with a persistent volume, on --agents
// simulated agents, with the real master, agents and default executors and
// the real service scheduler actor (its store in memory). Measures, wall
// and virtual:
//  - deploy: from the scheduler's start until the deploy plan is COMPLETE,
//    its phase --strategy serial or parallel;
//  - recovery: --lose percent of the agents' machines crash at once (every
//    task on them dies; the machines boot again after --down seconds with
//    their disks), until every server runs again, each in place on its
//    reservation and volume. With --for_good the machines never come back:
//    the operator marks them gone after --down seconds, and the scheduler
//    replaces their pods on new reservations and volumes on the spare
//    agents (give more --agents than --pods).
// Prints one JSON line.
//
//   build/bench/service_sim_bench [--pods=1000] [--agents=1000]
//       [--strategy=serial|parallel] [--lose=10] [--down=30] [--for_good]
//       [--seed=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/logging.hpp"
#include "dcos/plan.hpp"
#include "dcos/resources.hpp"
#include "dcos/service_scheduler_actor.hpp"
#include "dcos/service_spec.hpp"
#include "dcos/sim.hpp"
#include "dcos/store_actor.hpp"

using namespace dcos;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

struct figures {
  double deploy_virtual_s = -1, deploy_wall_s = -1;
  double recovery_virtual_s = -1, recovery_wall_s = -1;
  int running_after = 0;
};

struct client_state {
  service_scheduler_actor service;
  figures* out = nullptr;
  int pods = 0;
  caf::timespan crash_at{0};
  // With --for_good: the lost machines, which no instance may be on once
  // recovered.
  std::set<std::string> gone_hosts;
  caf::actor_clock::time_point started;
  wall::time_point wall_started, crash_wall;
  bool deployed = false, crashed = false, lost = false, recovered = false;
  // The server task ids running before the crash.
  std::map<std::string, std::string> before;
};

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

caf::behavior client(caf::stateful_actor<client_state>* self,
                     service_scheduler_actor service, int pods,
                     caf::timespan crash_at, std::set<std::string> gone_hosts,
                     figures* out) {
  auto& st = self->state;
  st.gone_hosts = std::move(gone_hosts);
  st.service = std::move(service);
  st.out = out;
  st.pods = pods;
  st.crash_at = crash_at;
  st.started = self->clock().now();
  st.wall_started = wall::now();
  self->send(self, poll_atom::value);
  return {
    [self](poll_atom) {
      auto& st = self->state;
      self->delayed_send(self, 100ms, poll_atom::value);
      auto now = self->clock().now() - st.started;
      if (!st.deployed) {
        self->request(st.service, caf::infinite, get_atom::value,
                      plans_atom::value)
          .then([self, now](const std::vector<v1::PlanState>& plans) {
            auto& st = self->state;
            if (st.deployed
                || plan_status(plans.front()) != v1::PlanState::COMPLETE)
              return;
            st.deployed = true;
            st.out->deploy_virtual_s = seconds(now);
            st.out->deploy_wall_s
              = std::chrono::duration<double>(wall::now() - st.wall_started)
                  .count();
          },
          [](caf::error&) {}); // loading: asked again soon
        return;
      }
      if (now < st.crash_at || st.recovered)
        return;
      if (!st.crashed) {
        st.crashed = true;
        st.crash_wall = wall::now();
      }
      // Recovered: every instance's server (its latest launch) runs.
      self->request(st.service, caf::infinite, get_atom::value,
                    pods_atom::value)
        .then([self, now](const std::vector<v1::PodInstance>& insts) {
          self->request(self->state.service, caf::infinite, get_atom::value,
                        state_atom::value)
            .then([self, now, insts](
                    const std::vector<std::pair<std::string, int32_t>>& s) {
              auto& st = self->state;
              std::map<std::string, int32_t> state_of(s.begin(), s.end());
              int running = 0;
              bool moved = true;
              for (const auto& inst : insts) {
                moved = moved && st.gone_hosts.count(inst.hostname()) == 0;
                auto id = inst.task_ids().find("server");
                if (id == inst.task_ids().end())
                  continue;
                auto at = state_of.find(id->second);
                if (at != state_of.end() && at->second == v1::TASK_RUNNING)
                  ++running;
              }
              st.out->running_after = running;
              // First the loss shows (the master tells of the tasks on
              // the crashed machines), then the servers come back.
              if (running < st.pods || !moved)
                st.lost = true;
              if (st.lost && running == st.pods && moved && !st.recovered) {
                st.recovered = true;
                st.out->recovery_virtual_s = seconds(now - st.crash_at);
                st.out->recovery_wall_s
                  = std::chrono::duration<double>(wall::now() - st.crash_wall)
                      .count();
              }
            },
            [](caf::error&) {});
        },
        [](caf::error&) {});
    },
  };
}

std::string spec_yaml(uint64_t pods, const std::string& strategy) {
  return fmt::format(R"(name: bench
scheduler: {{principal: bench-principal, role: bench-role}}
pods:
  node:
    count: {}
    placement: '[["hostname", "UNIQUE"]]'
    volume: {{path: data, type: ROOT, size: 1024}}
    tasks:
      server: {{goal: RUNNING, cmd: server, cpus: 0.5, memory: 256}}
plans:
  deploy:
    strategy: serial
    phases:
      nodes: {{pod: node, strategy: {}}}
)",
                     pods, strategy);
}

} // namespace

int main(int argc, char** argv) {
  uint64_t pods = 1000, agents = 1000, lose = 10, down = 30, seed = 1;
  bool for_good = false;
  std::string strategy = "serial";
  flags f{"service_sim_bench [--pods=N] [--agents=N] "
          "[--strategy=serial|parallel] [--lose=PERCENT] [--down=S] "
          "[--for_good] [--seed=N]",
          "Deploys a stateful service on simulated agents, crashes some of "
          "their machines, and times both."};
  f.add(&pods, "pods", "pod instances, one per agent");
  f.add(&agents, "agents", "simulated agents");
  f.add(&strategy, "strategy", "the deploy phase's strategy");
  f.add(&lose, "lose", "percent of the agents whose machines crash");
  f.add(&down, "down", "seconds until a crashed machine boots again (with "
        "--for_good: until the operator marks it gone)");
  f.add(&for_good, "for_good", "the machines never come back");
  f.add(&seed, "seed", "the simulation's seed");
  parse_or_exit(f, argc, argv);
  if (lose < 1 || lose > 100 || pods > agents) {
    std::fprintf(stderr, "--lose must be 1 to 100 and --pods at most "
                         "--agents (one pod per agent)\n");
    return 2;
  }
  if (std::getenv("DCOS_LOG_LEVEL") == nullptr)
    logging::init(spdlog::level::err);
  auto spec = parse_service_spec(spec_yaml(pods, strategy));
  if (!spec) {
    std::fprintf(stderr, "%s\n", describe(spec.error()).c_str());
    return 2;
  }

  // A first run finds how long the deploy takes, so that the crash of the
  // second comes after it.
  std::set<std::string> gone_hosts;
  auto run = [&](caf::timespan crash_at, figures& out) {
    sim::scenario sc;
    sc.name = "service_scale";
    sim::agent_group g;
    g.count = agents;
    g.total = *resources::parse(
      "cpus:2;mem:4096;disk:10000;ports:[31000-31099]");
    sc.agents.push_back(g);
    sc.allocation_interval = 1s;
    sc.agent_ping_timeout = 15s;
    sc.max_agent_ping_timeouts = 5;
    sc.faults_from = 0s;
    sc.faults_until = 0s;
    if (crash_at > caf::timespan{0}) {
      gone_hosts.clear();
      sim::fault_event crash;
      crash.what = for_good ? sim::fault_event::kind::lose_node
                            : sim::fault_event::kind::crash_node;
      crash.at = crash_at;
      crash.duration = std::chrono::seconds(down);
      for (uint64_t i = 0; i < agents * lose / 100; ++i) {
        crash.targets.push_back(fmt::format("agent-{}", i * 100 / lose));
        if (for_good)
          gone_hosts.insert(crash.targets.back());
      }
      sc.faults.push_back(crash);
      sc.time_limit = crash_at + std::chrono::minutes(15);
    } else {
      sc.time_limit = std::chrono::minutes(30);
    }
    sim::simulation sim{sc, seed};
    sim.add_framework([&](caf::actor_system& sys, detector_actor detector) {
      service_config cfg;
      cfg.spec = *spec;
      cfg.detector = detector;
      cfg.store = spawn_memory_store(sys);
      cfg.seed = seed;
      auto s = spawn_service_scheduler(sys, cfg);
      sys.spawn(client, s, static_cast<int>(pods),
                crash_at > caf::timespan{0} ? crash_at : caf::timespan::max(),
                gone_hosts, &out);
      return caf::actor_cast<caf::actor>(s);
    });
    return sim.run();
  };
  figures first;
  auto deploy_run = run(caf::timespan{0}, first);
  if (first.deploy_virtual_s < 0) {
    std::fprintf(stderr, "the deploy did not complete (%.0f virtual s): %s\n",
                 seconds(deploy_run.stats.virtual_time),
                 deploy_run.passed ? "no violation"
                                   : deploy_run.violation.c_str());
    return 1;
  }
  figures second;
  auto crash_at = std::chrono::seconds(
    static_cast<int64_t>(first.deploy_virtual_s) + 30);
  auto r = run(crash_at, second);
  std::printf(
    "{\"bench\":\"service_sim\",\"pods\":%llu,\"agents\":%llu,"
    "\"strategy\":\"%s\",\"deploy_virtual_s\":%.1f,\"deploy_wall_s\":%.2f,"
    "\"lost_agents\":%llu,\"for_good\":%s,\"down_s\":%llu,"
    "\"recovery_virtual_s\":%.1f,"
    "\"recovery_wall_s\":%.2f,\"running_after\":%d,\"sim_steps\":%llu,"
    "\"sim_passed\":%s}\n",
    static_cast<unsigned long long>(pods),
    static_cast<unsigned long long>(agents), strategy.c_str(),
    first.deploy_virtual_s, first.deploy_wall_s,
    static_cast<unsigned long long>(agents * lose / 100),
    for_good ? "true" : "false",
    static_cast<unsigned long long>(down), second.recovery_virtual_s,
    second.recovery_wall_s, second.running_after,
    static_cast<unsigned long long>(r.stats.steps),
    r.passed ? "true" : "false");
  return 0;
}
