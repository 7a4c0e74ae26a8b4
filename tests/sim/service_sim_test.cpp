// A stateful service written with the SDK (dcos/service_scheduler_actor.hpp)
// in the deterministic simulation: the real scheduler actor beside the real
// master, agents and default executors, under agent crashes and lost
// messages, and killed itself mid-deploy (the next one starts from the same
// store). A client drives it as an operator would: waits for `deploy`,
// starts the `backup` plan, then restarts one deploy step. Checks, for
// every seed:
//  - deploy and backup reach COMPLETE (or the run names the step and why),
//    and the restarted step too, with a new task;
//  - a pod instance's tasks never run on two agents at once;
//  - a persistent volume is only ever used by the instance that made it;
//  - each instance holds one reservation, on its own host (placement
//    UNIQUE), and a restarted scheduler did not reserve again;
//  - the kernel's own invariants hold (the simulation checks them).
//
// DCOS_SIM_SEEDS: how many seeds (default 10; CI runs 100); a failing seed
// reproduces alone with DCOS_SIM_SEED. The sweep found two kernel bugs (a
// default executor that ended while its agent was away, whether or not
// the agent's re-registration still listed it, kept its resources, a
// pod's volume included, in the master for good) and a scheduler one (a
// first launch dropped after its RESERVE left a reservation no instance
// claimed).
#include <map>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "dcos/plan.hpp"
#include "dcos/pod_launch.hpp"
#include "dcos/service_scheduler_actor.hpp"
#include "dcos/service_spec.hpp"
#include "dcos/sim.hpp"
#include "support/seed.hpp"

using namespace dcos;
using namespace std::chrono_literals;

namespace {

using step_atom = caf::atom_constant<caf::atom("step")>;

// Three nodes, one per host, each with a data volume; a backup task beside
// each server. In the simulation "sleep N" runs N seconds and other
// commands run until killed.
const char* spec_yaml = R"(name: kv
scheduler: {principal: kv-principal, role: kv-role}
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    volume: {path: data, type: ROOT, size: 1024}
    tasks:
      server: {goal: RUNNING, cmd: kv-server, cpus: 0.5, memory: 256,
               ports: {kv: {port: 0}}}
      backup: {goal: FINISH, cmd: sleep 20, cpus: 0.1, memory: 32}
plans:
  deploy:
    strategy: serial
    phases:
      nodes: {pod: node, strategy: serial, steps: [{default: [[server]]}]}
  backup:
    strategy: serial
    phases:
      save: {pod: node, strategy: parallel, steps: [{default: [[backup]]}]}
)";

struct outcome {
  std::vector<std::string> violations;
  std::string deploy = "never answered", backup = "never answered";
  std::string deploy_plan, backup_plan; // as JSON, for failures
  int restarts = 0;
  // node-1's server task when an operator restarted its deploy step.
  std::string restarted_task;
  std::vector<v1::PodInstance> pods;
  // Persistence id -> the instance whose task used it first.
  std::map<std::string, std::string> volume_owner;
};

sim::scenario scenario(bool faults) {
  sim::scenario sc;
  sc.name = "service";
  sc.masters = 1;
  sim::agent_group g;
  g.count = 5;
  g.total = *resources::parse("cpus:2;mem:2048;disk:4096;ports:[31000-31009]");
  sc.agents.push_back(g);
  sc.links.delay = {100us, 5ms};
  if (faults) {
    sc.links.drop = 0.001;
    sc.faults_from = 10s;
    sc.faults_until = 4min;
    sc.random.agent_crashes = 3;
    sc.random.down_time = {5s, 30s};
  } else {
    sc.faults_from = 10min;
    sc.faults_until = 10min;
  }
  sc.agent_ping_timeout = 5s;
  sc.max_agent_ping_timeouts = 6;
  sc.allocation_interval = 1s;
  sc.time_limit = 10min;
  sc.converge_within = 3min;
  return sc;
}

struct client_state {
  v1::ServiceSpec spec;
  caf::actor_system* sys = nullptr;
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  service_scheduler_actor service;
  std::shared_ptr<service_scheduler_actor> current;
  outcome* out = nullptr;
  bool backup_started = false;
  bool step_restarted = false;
};

service_scheduler_actor make_service(client_state& st) {
  service_config cfg;
  cfg.spec = st.spec;
  cfg.detector = st.detector;
  cfg.store = st.store;
  cfg.seed = st.seed;
  cfg.min_backoff = 1s;
  cfg.max_backoff = 10s;
  auto s = spawn_service_scheduler(*st.sys, std::move(cfg));
  if (st.current)
    *st.current = s;
  return s;
}

const v1::PlanState* find_plan(const std::vector<v1::PlanState>& plans,
                               const std::string& name) {
  for (const auto& p : plans)
    if (p.name() == name)
      return &p;
  return nullptr;
}

// The master's view: an instance's live tasks on one agent, and volumes
// used by one instance only.
std::string check_master(outcome& out,
                         const v1::master::Response::GetState& state) {
  std::map<std::string, std::set<std::string>> agents_of;
  for (const auto& t : state.get_tasks().tasks()) {
    auto name = t.name(); // node-<i>-<task>
    auto instance = name.substr(0, name.rfind('-'));
    if (t.state() == v1::TASK_RUNNING || t.state() == v1::TASK_STARTING
        || t.state() == v1::TASK_STAGING)
      agents_of[instance].insert(t.agent_id().value());
    for (const auto& r : t.resources())
      if (r.has_disk() && r.disk().has_persistence()) {
        auto [at, fresh] = out.volume_owner.emplace(
          r.disk().persistence().id(), instance);
        if (!fresh && at->second != instance)
          return fmt::format("volume {} of {} is used by {}", at->first,
                             at->second, instance);
      }
  }
  // Reservations: at most one per instance (a restarted scheduler finds
  // its own instead of reserving again).
  std::set<std::string> reservations;
  for (const auto& a : state.get_agents().agents())
    for (const auto& r : a.total_resources())
      for (const auto& level : r.reservations())
        for (const auto& l : level.labels().labels())
          if (l.key() == resource_id_label)
            reservations.insert(l.value());
  if (reservations.size() > 3)
    return fmt::format("{} reservations for 3 pod instances: {}",
                       reservations.size(), fmt::join(reservations, ", "));
  for (const auto& [instance, agents] : agents_of)
    if (agents.size() > 1)
      return fmt::format("{} runs on {} agents at once", instance,
                         agents.size());
  return "";
}

caf::behavior client(caf::stateful_actor<client_state>* self,
                     client_state init, std::vector<caf::timespan> kills) {
  auto& st = self->state;
  st = std::move(init);
  st.service = make_service(st);
  self->send(self, step_atom::value, std::string{"poll"});
  for (auto at : kills)
    self->delayed_send(self, at, step_atom::value, std::string{"kill"});
  return {
    [self](step_atom, const std::string& what) {
      auto& st = self->state;
      if (what == "kill") {
        caf::anon_send_exit(st.service, caf::exit_reason::kill);
        ++st.out->restarts;
        self->delayed_send(self, 5s, step_atom::value,
                           std::string{"start"});
        return;
      }
      if (what == "start") {
        st.service = make_service(st);
        return;
      }
      // Poll: the plans, and once deploy is done, start the backup.
      self->delayed_send(self, 2s, step_atom::value, std::string{"poll"});
      self->request(st.service, 5s, get_atom::value, plans_atom::value)
        .then(
          [self](const std::vector<v1::PlanState>& plans) {
            auto& st = self->state;
            const auto* deploy = find_plan(plans, "deploy");
            const auto* backup = find_plan(plans, "backup");
            st.out->deploy = status_name(plan_status(*deploy));
            st.out->backup = status_name(plan_status(*backup));
            st.out->deploy_plan = plan_json(*deploy);
            st.out->backup_plan = plan_json(*backup);
            if (plan_status(*deploy) == v1::PlanState::COMPLETE
                && !st.backup_started)
              self->request(st.service, 5s, operate_atom::value,
                            std::string{"backup"}, std::string{"start"},
                            std::string{}, std::string{}, v1::Environment{})
                .then([self](bool) { self->state.backup_started = true; },
                      [](caf::error&) {});
            // Then an operator restarts node-1's deploy step: its server
            // is killed and launched again, in place.
            if (plan_status(*backup) == v1::PlanState::COMPLETE
                && !st.step_restarted) {
              std::string before;
              for (const auto& p : st.out->pods)
                if (p.index() == 1 && p.task_ids().count("server") > 0)
                  before = p.task_ids().at("server");
              self
                ->request(st.service, 5s, operate_atom::value,
                          std::string{"deploy"}, std::string{"restart"},
                          std::string{"nodes"},
                          std::string{"node-1:[server]"}, v1::Environment{})
                .then(
                  [self, before](bool) {
                    self->state.step_restarted = true;
                    self->state.out->restarted_task = before;
                  },
                  [](caf::error&) {});
            }
          },
          [](caf::error&) {});
      self->request(st.service, 5s, get_atom::value, pods_atom::value)
        .then(
          [self](const std::vector<v1::PodInstance>& pods) {
            self->state.out->pods = pods;
          },
          [](caf::error&) {});
    },
  };
}

struct run_result {
  sim::report report;
  outcome out;
};

run_result run(uint64_t seed, bool faults) {
  run_result r;
  auto spec = parse_service_spec(spec_yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  sim::simulation s{scenario(faults), seed};
  std::vector<caf::timespan> kills;
  if (faults)
    kills = {std::chrono::seconds(5 + seed % 20),
             std::chrono::seconds(60 + seed % 30)};
  s.add_framework([&r, seed, kills, spec = *spec](caf::actor_system& sys,
                                                   detector_actor detector) {
    client_state init;
    init.spec = spec;
    init.sys = &sys;
    init.detector = detector;
    init.store = spawn_memory_store(sys);
    init.seed = seed;
    init.out = &r.out;
    init.current = std::make_shared<service_scheduler_actor>();
    auto current = init.current;
    auto c = sys.spawn(client, std::move(init), kills);
    caf::actor_cast<caf::abstract_actor*>(c)->attach_functor(
      [current](const caf::error&) {
        if (*current)
          caf::anon_send_exit(*current, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(c);
  });
  s.add_state_check([&r](const v1::master::Response::GetState& state,
                         const v1::MasterInfo&) -> std::string {
    if (auto why = check_master(r.out, state); !why.empty()) {
      r.out.violations.push_back(why);
      return why;
    }
    if (r.out.deploy != "COMPLETE")
      return "deploy is " + r.out.deploy + ": " + r.out.deploy_plan;
    return "";
  });
  r.report = s.run();
  return r;
}

void check_outcome(const run_result& r) {
  CHECK_MESSAGE(r.report.passed, r.report.violation);
  for (const auto& v : r.out.violations)
    FAIL_CHECK(v);
  CHECK_MESSAGE(r.out.deploy == "COMPLETE", r.out.deploy_plan);
  CHECK_MESSAGE(r.out.backup == "COMPLETE", r.out.backup_plan);
  REQUIRE(r.out.pods.size() == 3);
  std::set<std::string> hosts, reservations;
  for (const auto& p : r.out.pods) {
    hosts.insert(p.hostname());
    reservations.insert(p.reservation_id());
    CHECK(p.confirmed());
    CHECK(p.volumes().size() == 1);
  }
  CHECK(hosts.size() == 3);
  CHECK(reservations.size() == 3);
  // The restarted step ran again: a new server task, on the same agent
  // and reservation.
  REQUIRE_MESSAGE(!r.out.restarted_task.empty(), "the step was not restarted");
  for (const auto& p : r.out.pods)
    if (p.index() == 1)
      CHECK(p.task_ids().at("server") != r.out.restarted_task);
}

} // namespace

TEST_CASE("a service deploys, backs up and recovers in place under agent "
          "crashes and scheduler restarts") {
  for (auto seed : test::sim_seeds(10)) {
    INFO("seed ", seed, " (DCOS_SIM_SEED)");
    auto r = run(seed, true);
    check_outcome(r);
    CHECK(r.out.restarts == 2);
    MESSAGE("seed ", seed, ": ", r.report.stats.steps, " steps, ",
            r.report.stats.wall_seconds, " s wall");
  }
}

TEST_CASE("without faults, a service's run is a function of its seed") {
  auto a = run(7, false), b = run(7, false);
  check_outcome(a);
  CHECK(a.report.trace_hash == b.report.trace_hash);
}
