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
// each server. A server is ready once its readiness check passes (which
// takes a few checks). In the simulation "sleep N" runs N seconds, "exit N"
// ends with N, and other commands run until killed.
const char* spec_yaml = R"(name: kv
scheduler: {principal: kv-principal, role: kv-role}
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    volume: {path: data, type: ROOT, size: 1024}
    tasks:
      server: {goal: RUNNING, cmd: kv-server, cpus: 0.5, memory: 256,
               ports: {kv: {port: 0}},
               readiness-check: {cmd: sleep 2, interval: 3, delay: 1,
                                 timeout: 10}}
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

// The reservations the master knows (by resource_id label), on every agent
// or on the active ones only.
std::set<std::string>
reservations_of(const v1::master::Response::GetState& state,
                bool active_only) {
  std::set<std::string> out;
  for (const auto& a : state.get_agents().agents())
    if (a.active() || !active_only)
      for (const auto& r : a.total_resources())
        for (const auto& level : r.reservations())
          for (const auto& l : level.labels().labels())
            if (l.key() == resource_id_label)
              out.insert(l.value());
  return out;
}

// The master's view: an instance's live tasks on one agent, volumes used by
// one instance only, and no more than `max_reservations`.
std::string check_master(std::map<std::string, std::string>& volume_owner,
                         const v1::master::Response::GetState& state,
                         size_t max_reservations = 3,
                         bool active_only = false) {
  std::map<std::string, std::set<std::string>> agents_of;
  for (const auto& t : state.get_tasks().tasks()) {
    auto name = t.name(); // node-<i>-<task>
    auto instance = name.substr(0, name.rfind('-'));
    if (t.state() == v1::TASK_RUNNING || t.state() == v1::TASK_STARTING
        || t.state() == v1::TASK_STAGING)
      agents_of[instance].insert(t.agent_id().value());
    for (const auto& r : t.resources())
      if (r.has_disk() && r.disk().has_persistence()) {
        auto [at, fresh] = volume_owner.emplace(
          r.disk().persistence().id(), instance);
        if (!fresh && at->second != instance)
          return fmt::format("volume {} of {} is used by {}", at->first,
                             at->second, instance);
      }
  }
  // Reservations: at most one per instance (a restarted scheduler finds
  // its own instead of reserving again).
  auto reservations = reservations_of(state, active_only);
  if (reservations.size() > max_reservations)
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

// Whether node-0's server runs, failing its readiness check, while the
// deploy plan waits on it: "" if so.
std::string waits_for_readiness(const outcome& out,
                                const v1::master::Response::GetState& state) {
  for (const auto& t : state.get_tasks().tasks())
    if (t.name() == "node-0-server" && t.state() == v1::TASK_RUNNING
        && t.statuses_size() > 0
        && t.statuses(0).check_status().command().has_exit_code()
        && t.statuses(0).check_status().command().exit_code() == 1)
      return out.deploy == "IN_PROGRESS"
               ? ""
               : "deploy is " + out.deploy + ": " + out.deploy_plan;
  return "node-0's server is not running with a failed readiness check";
}

// `spec_text`: the spec; `ready`: whether its tasks can ever be ready
// (otherwise the run waits until deploy waits on node-0's readiness).
run_result run(uint64_t seed, bool faults, const char* spec_text = spec_yaml,
               bool ready = true) {
  run_result r;
  auto spec = parse_service_spec(spec_text);
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
  s.add_state_check([&r, ready](const v1::master::Response::GetState& state,
                         const v1::MasterInfo&) -> std::string {
    if (auto why = check_master(r.out.volume_owner, state); !why.empty()) {
      r.out.violations.push_back(why);
      return why;
    }
    if (!ready)
      return waits_for_readiness(r.out, state);
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

TEST_CASE("a step waits for its task's readiness check to pass") {
  std::string never_ready = spec_yaml;
  auto at = never_ready.find("cmd: sleep 2, interval");
  REQUIRE(at != std::string::npos);
  never_ready.replace(at, std::string{"cmd: sleep 2"}.size(), "cmd: exit 1");
  auto r = run(3, false, never_ready.c_str(), false);
  CHECK_MESSAGE(r.report.passed, r.report.violation);
  // Running, not ready: its step started, and the serial phase went no
  // further.
  CHECK(r.out.deploy == "IN_PROGRESS");
  CHECK(r.out.deploy_plan.find("\"STARTED\"") != std::string::npos);
  CHECK(r.out.deploy_plan.find("\"COMPLETE\"") == std::string::npos);
  for (const auto& p : r.out.pods)
    if (p.index() > 0)
      CHECK(p.task_ids().empty());
}

// -- replacement ----------------------------------------------------------------------

namespace {

// What an operator's client last learned from the scheduler.
struct service_view {
  std::map<std::string, int32_t> states; // task id -> state
  std::vector<v1::PodInstance> pods;
};

// Asks `service` for its task states, pods and plans, in that order (so
// `on_plans` runs with `view` up to date).
template <class Self>
void poll_service(Self* self, const service_scheduler_actor& service,
                  service_view* view,
                  std::function<void(const std::vector<v1::PlanState>&)>
                    on_plans) {
  self->request(service, 5s, get_atom::value, state_atom::value)
    .then(
      [view](const std::vector<std::pair<std::string, int32_t>>& s) {
        view->states = {s.begin(), s.end()};
      },
      [](caf::error&) {});
  self->request(service, 5s, get_atom::value, pods_atom::value)
    .then(
      [view](const std::vector<v1::PodInstance>& pods) { view->pods = pods; },
      [](caf::error&) {});
  self->request(service, 5s, get_atom::value, plans_atom::value)
    .then(
      [on_plans](const std::vector<v1::PlanState>& plans) {
        on_plans(plans);
      },
      [](caf::error&) {});
}

// "" once an operator's client went through all its stages.
std::string unfinished(const std::vector<std::string>& stages) {
  if (!stages.empty() && stages.back() == "done")
    return "";
  return fmt::format("the operator is at stage {} ({})", stages.size(),
                     fmt::join(stages, ", "));
}

// How many of the instances below `count` have their server running.
size_t servers_running(const service_view& view, uint32_t count) {
  size_t n = 0;
  for (const auto& p : view.pods)
    if (p.index() < count && p.task_ids().count("server") > 0) {
      auto s = view.states.find(p.task_ids().at("server"));
      n += s != view.states.end() && s->second == v1::TASK_RUNNING;
    }
  return n;
}

// The same service under a replacement policy, on five machines of which
// two (agents 0 and 1) are lost for good once it is deployed: the
// operator marks agent-0 gone, and the policy gives up on agent-1. Then an
// operator restarts node-2 and replaces it.
const char* replacing_spec_yaml = R"(name: kv
scheduler: {principal: kv-principal, role: kv-role}
replacement-failure-policy:
  permanent-failure-timeout-secs: 60
  min-replace-delay-secs: 10
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    volume: {path: data, type: ROOT, size: 1024}
    tasks:
      server: {goal: RUNNING, cmd: kv-server, cpus: 0.5, memory: 256,
               ports: {kv: {port: 0}}}
plans:
  deploy:
    strategy: serial
    phases:
      nodes: {pod: node, strategy: serial, steps: [{default: [[server]]}]}
)";

struct replacing_outcome : service_view {
  std::vector<std::string> violations;
  std::string deploy = "never answered";
  // What each instance held once deployed, by name.
  std::map<std::string, v1::PodInstance> deployed;
  // The stages the operator went through; "done" at the end.
  std::vector<std::string> stages;
  v1::PodInstance before_restart, before_replace;
  std::vector<std::string> restart_answer, replace_answer, replace_again;
  std::map<std::string, std::string> volume_owner; // for check_master
};

struct replacing_client_state {
  service_scheduler_actor service;
  replacing_outcome* out = nullptr;
  int stage = 0;
};

bool on_lost_host(const v1::PodInstance& p) {
  return p.hostname() == "agent-0" || p.hostname() == "agent-1";
}

const v1::PodInstance* instance_of(const std::vector<v1::PodInstance>& pods,
                                   uint32_t index) {
  for (const auto& p : pods)
    if (p.index() == index)
      return &p;
  return nullptr;
}

caf::behavior replacing_client(
  caf::stateful_actor<replacing_client_state>* self,
  service_scheduler_actor service, replacing_outcome* out) {
  self->state.service = service;
  self->state.out = out;
  self->send(self, step_atom::value, std::string{"poll"});
  auto advance = [self](std::string stage) {
    self->state.out->stages.push_back(std::move(stage));
    ++self->state.stage;
  };
  // An operator's pod restart or replace of node-2; the answer kept.
  auto on_node2 = [self](auto command, std::vector<std::string>* answer) {
    self->request(self->state.service, 5s, command, std::string{"node-2"})
      .then(
        [answer](const std::vector<std::string>& tasks) { *answer = tasks; },
        [](caf::error&) {});
  };
  return {
    [self, advance, on_node2](step_atom, const std::string&) {
      auto& st = self->state;
      self->delayed_send(self, 2s, step_atom::value, std::string{"poll"});
      poll_service(
        self, st.service, st.out,
        [self, advance, on_node2](const std::vector<v1::PlanState>& plans) {
          auto& st = self->state;
          auto& out = *st.out;
          out.deploy = status_name(plan_status(*find_plan(plans, "deploy")));
          const auto& pods = out.pods;
          bool all_run = pods.size() == 3 && servers_running(out, 3) == 3;
          const auto* node2 = instance_of(pods, 2);
          switch (st.stage) {
            case 0: // deployed
              if (out.deploy == "COMPLETE" && all_run) {
                for (const auto& p : pods)
                  out.deployed[pod_instance_name(p.pod(), p.index())] = p;
                advance("deployed");
              }
              break;
            case 1: { // agents 0 and 1 are lost at 60 s: replaced
              bool moved = all_run;
              for (const auto& p : pods)
                moved = moved && !on_lost_host(p);
              if (moved && out.deploy == "COMPLETE") {
                advance("recovered");
                out.before_restart = *node2;
                on_node2(restart_atom::value, &out.restart_answer);
              }
              break;
            }
            case 2: // restarted in place: a new task, the same reservation
              if (all_run
                  && node2->task_ids().at("server")
                       != out.before_restart.task_ids().at("server")) {
                advance("restarted");
                out.before_replace = *node2;
                // Twice: the second finds it on its way.
                on_node2(replace_atom::value, &out.replace_answer);
                on_node2(replace_atom::value, &out.replace_again);
              }
              break;
            case 3: // replaced: a new reservation
              if (all_run && !node2->reservation_id().empty()
                  && node2->reservation_id()
                       != out.before_replace.reservation_id())
                advance("done");
              break;
            default:
              break;
          }
        });
    },
  };
}

struct replacing_result {
  sim::report report;
  replacing_outcome out;
};

replacing_result run_replacing(uint64_t seed) {
  replacing_result r;
  auto spec = parse_service_spec(replacing_spec_yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  auto sc = scenario(false);
  sc.faults_from = 0s;
  sc.faults_until = 0s;
  // agent-0's machine is marked gone by the operator 20 s after it died
  // (its tasks end as TASK_GONE_BY_OPERATOR); agent-1's never is (its
  // tasks stay unreachable until the policy gives them up).
  sc.faults.push_back({sim::fault_event::kind::lose_node, 60s, {"agent-0"},
                       20s});
  sc.faults.push_back({sim::fault_event::kind::lose_node, 60s, {"agent-1"},
                       {}});
  sim::simulation s{sc, seed};
  s.add_framework([&r, seed, spec = *spec](caf::actor_system& sys,
                                           detector_actor detector) {
    service_config cfg;
    cfg.spec = spec;
    cfg.detector = detector;
    cfg.store = spawn_memory_store(sys);
    cfg.seed = seed;
    cfg.min_backoff = 1s;
    cfg.max_backoff = 10s;
    auto service = spawn_service_scheduler(sys, std::move(cfg));
    auto c = sys.spawn(replacing_client, service, &r.out);
    caf::actor_cast<caf::abstract_actor*>(c)->attach_functor(
      [service](const caf::error&) {
        caf::anon_send_exit(service, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(c);
  });
  s.add_state_check([&r](const v1::master::Response::GetState& state,
                         const v1::MasterInfo&) -> std::string {
    // Four while an operator's replacement waits for its old reservation to
    // be offered back; those on the lost machines stay with them.
    auto why = check_master(r.out.volume_owner, state, 4, true);
    if (!why.empty()) {
      r.out.violations.push_back(why);
      return why;
    }
    if (auto why = unfinished(r.out.stages); !why.empty())
      return why;
    if (auto n = reservations_of(state, true).size(); n != 3)
      return fmt::format("{} reservations on the live agents", n);
    return "";
  });
  r.report = s.run();
  return r;
}

} // namespace

TEST_CASE("a pod on a machine lost for good is replaced on new volumes; "
          "operators restart and replace pods") {
  size_t moved = 0;
  for (auto seed : test::sim_seeds(10)) {
    INFO("seed ", seed, " (DCOS_SIM_SEED)");
    auto r = run_replacing(seed);
    CHECK_MESSAGE(r.report.passed, r.report.violation);
    for (const auto& v : r.out.violations)
      FAIL_CHECK(v);
    REQUIRE_MESSAGE(r.out.stages.size() == 4, fmt::join(r.out.stages, ", "));
    CHECK(r.out.deploy == "COMPLETE");
    REQUIRE(r.out.pods.size() == 3);
    for (const auto& p : r.out.pods) {
      auto name = pod_instance_name(p.pod(), p.index());
      const auto& first = r.out.deployed.at(name);
      CHECK_FALSE(on_lost_host(p));
      CHECK(p.volumes().size() == 1);
      // How the scheduler saw the first server end: the operator marked
      // agent-0 gone; agent-1 never came back.
      auto old_state = r.out.states.find(first.task_ids().at("server"));
      REQUIRE(old_state != r.out.states.end());
      if (first.hostname() == "agent-0")
        CHECK(old_state->second == v1::TASK_GONE_BY_OPERATOR);
      if (first.hostname() == "agent-1")
        CHECK(old_state->second == v1::TASK_UNREACHABLE);
      if (on_lost_host(first) || p.index() == 2) {
        // Moved, or replaced by the operator: fresh reservation and volume.
        CHECK(p.reservation_id() != first.reservation_id());
        CHECK(p.volumes().begin()->second
              != first.volumes().begin()->second);
        moved += on_lost_host(first) ? 1 : 0;
      } else {
        CHECK(p.reservation_id() == first.reservation_id());
      }
    }
    // The restart kept node-2's reservation and volume.
    CHECK(r.out.before_replace.reservation_id()
          == r.out.before_restart.reservation_id());
    auto volumes = [](const v1::PodInstance& p) {
      return std::map<std::string, std::string>(p.volumes().begin(),
                                                p.volumes().end());
    };
    CHECK(volumes(r.out.before_replace) == volumes(r.out.before_restart));
    CHECK(r.out.restart_answer == std::vector<std::string>{"node-2-server"});
    CHECK(r.out.replace_answer == std::vector<std::string>{"node-2-server"});
    CHECK(r.out.replace_again == r.out.replace_answer);
  }
  // Two of five machines hold a pod in most runs.
  CHECK(moved > 0);
}

// -- configuration updates --------------------------------------------------------------

namespace {

// The replacement test's service (three nodes, each on its own machine),
// then the same with a fourth node and bigger, changed servers, then one
// with a changed volume that it must refuse.
std::string updated_spec(const std::string& from, const std::string& to) {
  std::string yaml = replacing_spec_yaml;
  auto at = yaml.find(from);
  REQUIRE(at != std::string::npos);
  return yaml.replace(at, from.size(), to);
}

struct update_outcome : service_view {
  std::vector<std::string> stages;
  std::map<std::string, v1::PodInstance> before, after, refused, unchanged;
  std::string decommission_plan; // once done
  std::string deploy_plan; // while the bad spec ran
  int fewest_running = 3; // of the first three servers, during the update
  std::map<std::string, std::string> volume_owner;
};

struct update_client_state {
  std::vector<v1::ServiceSpec> specs; // in the order they are run
  caf::actor_system* sys = nullptr;
  detector_actor detector;
  store_actor store;
  uint64_t seed = 0;
  service_scheduler_actor service;
  std::shared_ptr<service_scheduler_actor> current;
  update_outcome* out = nullptr;
  size_t stage = 0;
  int polls_in_stage = 0;
};

void start_spec(caf::stateful_actor<update_client_state>* self,
                size_t which) {
  auto& st = self->state;
  if (st.service)
    caf::anon_send_exit(st.service, caf::exit_reason::kill);
  service_config cfg;
  cfg.spec = st.specs[which];
  cfg.detector = st.detector;
  cfg.store = st.store;
  cfg.seed = st.seed;
  st.service = spawn_service_scheduler(*st.sys, std::move(cfg));
  *st.current = st.service;
}

std::map<std::string, v1::PodInstance>
by_name(const std::vector<v1::PodInstance>& pods) {
  std::map<std::string, v1::PodInstance> out;
  for (const auto& p : pods)
    out[pod_instance_name(p.pod(), p.index())] = p;
  return out;
}

caf::behavior update_client(caf::stateful_actor<update_client_state>* self,
                            update_client_state init) {
  self->state = std::move(init);
  start_spec(self, 0);
  self->send(self, step_atom::value, std::string{"poll"});
  return {
    [self](step_atom, const std::string&) {
      auto& st = self->state;
      self->delayed_send(self, 2s, step_atom::value, std::string{"poll"});
      ++st.polls_in_stage;
      poll_service(
        self, st.service, st.out,
        [self](const std::vector<v1::PlanState>& plans) {
          auto& st = self->state;
          auto& out = *st.out;
          auto deploy = plan_status(*find_plan(plans, "deploy"));
          auto running = [&](uint32_t count) {
            return servers_running(out, count);
          };
          auto next = [&](const char* stage, int spec) {
            out.stages.push_back(stage);
            ++st.stage;
            st.polls_in_stage = 0;
            if (spec >= 0)
              start_spec(self, static_cast<size_t>(spec));
          };
          switch (st.stage) {
            case 0: // the first spec deployed: roll out the second
              if (deploy == v1::PlanState::COMPLETE && running(3) == 3) {
                out.before = by_name(out.pods);
                next("deployed", 1);
              }
              break;
            case 1: // rolling: one node at a time
              if (st.polls_in_stage > 2)
                out.fewest_running = std::min(
                  out.fewest_running, static_cast<int>(running(3)));
              if (deploy == v1::PlanState::COMPLETE && running(4) == 4
                  && st.polls_in_stage > 2) {
                out.after = by_name(out.pods);
                next("updated", 2);
              }
              break;
            case 2: // the bad spec: refused, nothing relaunched
              if (deploy == v1::PlanState::ERROR
                  && st.polls_in_stage > 15) {
                out.deploy_plan = plan_json(*find_plan(plans, "deploy"));
                out.refused = by_name(out.pods);
                next("refused", 1);
              }
              break;
            case 3: // the good one again: nothing to do; then two nodes
              if (deploy == v1::PlanState::COMPLETE && running(4) == 4
                  && st.polls_in_stage > 5) {
                out.unchanged = by_name(out.pods);
                next("unchanged", 3);
              }
              break;
            case 4: { // node-3, then node-2, decommissioned
              const auto* d = find_plan(plans, "decommission");
              if (d != nullptr && plan_status(*d) == v1::PlanState::COMPLETE
                  && deploy == v1::PlanState::COMPLETE && running(2) == 2
                  && out.pods.size() == 2) {
                out.decommission_plan = plan_json(*d);
                next("done", -1);
              }
              break;
            }
            default:
              break;
          }
        });
    },
  };
}

struct update_result {
  sim::report report;
  update_outcome out;
  std::vector<std::string> violations;
  std::string live_cpus; // of the servers, once done
};

update_result run_update(uint64_t seed) {
  update_result r;
  std::vector<v1::ServiceSpec> specs;
  for (const auto& yaml :
       {std::string{replacing_spec_yaml},
        updated_spec("count: 3", "count: 4"),
        updated_spec("count: 3", "count: 4"),
        updated_spec("count: 3", "count: 2\n    allow-decommission: true")}) {
    auto spec = parse_service_spec(yaml);
    REQUIRE_MESSAGE(spec, describe(spec.error()));
    specs.push_back(*spec);
  }
  // The second: bigger servers with a new command; the third also changes
  // the volume.
  for (size_t i = 1; i < 4; ++i) {
    auto* server = specs[i].mutable_pods(0)->mutable_tasks(0);
    server->set_cpus(0.6);
    server->set_cmd("kv-server --v2");
  }
  specs[2].mutable_pods(0)->mutable_volumes(0)->set_size_mb(2048);
  auto sc = scenario(false);
  sim::simulation s{sc, seed};
  s.add_framework([&r, seed, specs](caf::actor_system& sys,
                                    detector_actor detector) {
    update_client_state init;
    init.specs = specs;
    init.sys = &sys;
    init.detector = detector;
    init.store = spawn_memory_store(sys);
    init.seed = seed;
    init.out = &r.out;
    init.current = std::make_shared<service_scheduler_actor>();
    auto current = init.current;
    auto c = sys.spawn(update_client, std::move(init));
    caf::actor_cast<caf::abstract_actor*>(c)->attach_functor(
      [current](const caf::error&) {
        if (*current)
          caf::anon_send_exit(*current, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(c);
  });
  s.add_state_check([&r](const v1::master::Response::GetState& state,
                         const v1::MasterInfo&) -> std::string {
    auto why = check_master(r.out.volume_owner, state, 4);
    if (!why.empty()) {
      r.violations.push_back(why);
      return why;
    }
    if (auto why = unfinished(r.out.stages); !why.empty())
      return why;
    std::set<double> cpus;
    for (const auto& t : state.get_tasks().tasks())
      if (t.state() == v1::TASK_RUNNING)
        for (const auto& res : t.resources())
          if (res.name() == "cpus")
            cpus.insert(res.scalar().value());
    r.live_cpus = fmt::format("{}", fmt::join(cpus, ","));
    // The decommissioned nodes' reservations went back.
    if (auto n = reservations_of(state, false).size(); n != 2)
      return fmt::format("{} reservations for 2 nodes", n);
    return "";
  });
  r.report = s.run();
  return r;
}

} // namespace

TEST_CASE("a changed spec rolls out node by node on the same volumes; one "
          "the service cannot take is refused; a smaller one decommissions") {
  for (auto seed : test::sim_seeds(10)) {
    INFO("seed ", seed, " (DCOS_SIM_SEED)");
    auto r = run_update(seed);
    CHECK_MESSAGE(r.report.passed, r.report.violation);
    for (const auto& v : r.violations)
      FAIL_CHECK(v);
    REQUIRE_MESSAGE(r.out.stages.size() == 5, fmt::join(r.out.stages, ", "));
    // Serial: never more than one of the first three nodes down.
    CHECK(r.out.fewest_running >= 2);
    REQUIRE(r.out.after.size() == 4);
    for (const auto& [name, before] : r.out.before) {
      const auto& after = r.out.after.at(name);
      CHECK(after.reservation_id() == before.reservation_id());
      CHECK(after.volumes().begin()->second
            == before.volumes().begin()->second);
      CHECK(after.task_ids().at("server") != before.task_ids().at("server"));
      CHECK(after.config_id() != before.config_id());
    }
    // The refused spec changed nothing; the good one again relaunched
    // nothing.
    for (const auto& [name, after] : r.out.after) {
      CHECK(r.out.refused.at(name).task_ids().at("server")
            == after.task_ids().at("server"));
      CHECK(r.out.unchanged.at(name).task_ids().at("server")
            == after.task_ids().at("server"));
    }
    CHECK_MESSAGE(r.out.deploy_plan.find(
                    "pods.node.volume: a volume cannot change")
                    != std::string::npos,
                  r.out.deploy_plan);
    // Only the new servers run (the executors' share is on the executor).
    CHECK(r.live_cpus == "0.6");
    // Scaled down to two: the others decommissioned, highest first; the
    // two left untouched.
    auto left = by_name(r.out.pods);
    CHECK(left.size() == 2);
    for (const auto& [name, inst] : left)
      CHECK(inst.task_ids().at("server")
            == r.out.after.at(name).task_ids().at("server"));
    CHECK_MESSAGE(r.out.decommission_plan.find("decommission-node-3")
                    < r.out.decommission_plan.find("decommission-node-2"),
                  r.out.decommission_plan);
  }
}
