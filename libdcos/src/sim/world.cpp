// The world: builds the cluster, runs it step by step on the deterministic
// scheduler (a seeded choice among runnable actors at every step; the clock
// jumps to the next timer when nothing can run), applies faults, and ends
// with the final checks and a report.
#include "world.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "dcos/agent.hpp"
#include "dcos/candidacy.hpp"
#include "dcos/type_bridge.hpp"

namespace dcos::sim::detail {

namespace {

thread_local world* current_world = nullptr;

using restart_agent_atom = caf::atom_constant<caf::atom("rs_agent")>;
using restart_master_atom = caf::atom_constant<caf::atom("rs_master")>;
using restart_fw_atom = caf::atom_constant<caf::atom("rs_fw")>;
using heal_atom = caf::atom_constant<caf::atom("heal")>;
using start_fw_atom = caf::atom_constant<caf::atom("start_fw")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;

// Mixes one value into the trace hash (FNV-1a over the 8 bytes).
void mix(uint64_t& h, uint64_t x) {
  for (int i = 0; i < 8; ++i) {
    h ^= (x >> (i * 8)) & 0xff;
    h *= 1099511628211ull;
  }
}

const char* kind_name(fault_event::kind k) {
  switch (k) {
    case fault_event::kind::crash_agent: return "crash_agent";
    case fault_event::kind::crash_executors: return "crash_executors";
    case fault_event::kind::crash_node: return "crash_node";
    case fault_event::kind::lose_node: return "lose_node";
    case fault_event::kind::crash_master: return "crash_master";
    case fault_event::kind::crash_framework: return "crash_framework";
    case fault_event::kind::partition: return "partition";
    case fault_event::kind::drain_agent: return "drain_agent";
    case fault_event::kind::maintenance: return "maintenance";
  }
  return "?";
}

// The director runs the fault schedule and restarts what died, on timers.
caf::behavior director(caf::event_based_actor* self, world* w) {
  return {
    [w](fault_atom, uint64_t index) { w->apply(index); },
    [w](restart_agent_atom, uint64_t i) { w->restart_agent(i); },
    [w](restart_master_atom, uint64_t i) { w->restart_master(i); },
    [w](restart_fw_atom, uint64_t i) { w->restart_framework(i); },
    [w](heal_atom, std::vector<int> nodes) { w->heal(std::move(nodes)); },
    [w](start_fw_atom, uint64_t i) { w->restart_framework(i); },
    [self, w](sample_atom) {
      if (w->sample())
        self->delayed_send(self, std::chrono::seconds(1), sample_atom::value);
    },
  };
}

// Answers a node's "who is the master?" once there is one it can reach.
struct detector_state {
  std::vector<std::pair<master_actor, caf::typed_response_promise<master_actor>>>
    waiting; // (the link the asker had, its promise)
  detector_state() = default;
};

sim_detector::behavior_type
node_detector(sim_detector::stateful_pointer<detector_state> self, world* w,
              int node) {
  auto answer = [self, w, node] {
    auto& waiting = self->state.waiting;
    for (auto i = waiting.begin(); i != waiting.end();) {
      if (auto link = w->master_link(node, i->first)) {
        i->second.deliver(*link);
        i = waiting.erase(i);
      } else {
        ++i;
      }
    }
  };
  return {
    [self, answer](detect_atom, const master_actor& previous) {
      auto rp = self->make_response_promise<master_actor>();
      self->state.waiting.emplace_back(previous, rp);
      answer();
      return rp;
    },
    [answer](ready_atom) { answer(); },
  };
}

// Gives an executor its link to the agent once the agent is up.
struct locator_state {
  std::vector<caf::typed_response_promise<agent_executor_actor>> waiting;
  locator_state() = default;
};

sim_locator::behavior_type
node_locator(sim_locator::stateful_pointer<locator_state> self, world* w,
             int agent) {
  auto answer = [self, w, agent] {
    auto& waiting = self->state.waiting;
    while (!waiting.empty()) {
      auto link = w->agent_link(agent);
      if (!link)
        return;
      waiting.back().deliver(*link);
      waiting.pop_back();
    }
  };
  return {
    [self, answer](detect_atom) {
      auto rp = self->make_response_promise<agent_executor_actor>();
      self->state.waiting.push_back(rp);
      answer();
      return rp;
    },
    [answer](ready_atom) { answer(); },
  };
}

} // namespace

world* current() {
  return current_world;
}

world::world(scenario sc, uint64_t seed)
  : sc_(std::move(sc)), seed_(seed), rng_(seed) {
  cfg_.set("scheduler.policy", caf::atom("testing"));
  cfg_.set("logger.verbosity", caf::atom("quiet"));
  register_types(cfg_);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  start_ = sched_->clock().now();
  previous_source_ = install_fault_source(this);
  current_world = this;
}

void world::prune_spawned() {
  spawned_.erase(std::remove_if(spawned_.begin(), spawned_.end(),
                                [](const caf::actor_addr& a) {
                                  return !caf::actor_cast<caf::actor>(a);
                                }),
                 spawned_.end());
  prune_spawned_at_ = std::max<size_t>(1024, 2 * spawned_.size());
}

world::~world() {
  ending_ = true;
  for (auto& a : agents_)
    a.up = false; // an executor that asks for its agent now waits
  // End every actor still alive, so that the actor system can go. Ending
  // them may spawn more (a tap for an executor registering meanwhile):
  // those end in the next round.
  size_t ended = 0;
  while (ended < spawned_.size()) {
    for (; ended < spawned_.size(); ++ended)
      if (auto a = caf::actor_cast<caf::actor>(spawned_[ended]))
        caf::anon_send_exit(a, caf::exit_reason::kill);
    // Messages still on their way (timers, delayed links) hold their
    // receivers and senders: drop them first.
    sched_->clock().cancel_all();
    while (sched_->has_job())
      sched_->run();
  }
  for (auto& a : agents_) {
    a.actor = nullptr;
    a.disk = nullptr;
    a.containerizer = nullptr;
  }
  masters_.clear();
  coordination_ = nullptr;
  detecting_.clear();
  detectors_.clear();
  locators_.clear();
  framework_actors_.clear();
  director_ = nullptr;
  install_fault_source(previous_source_);
  current_world = nullptr;
}

// -- seeded decisions ---------------------------------------------------------------

caf::timespan world::pick(const span& s) {
  if (s.max <= s.min)
    return s.min;
  auto width = static_cast<uint64_t>((s.max - s.min).count());
  return s.min + caf::timespan{static_cast<int64_t>(draw() % (width + 1))};
}

caf::timespan world::elapsed() const {
  return std::chrono::duration_cast<caf::timespan>(sched_->clock().now()
                                                   - start_);
}

bool world::fire(std::string_view) {
  return sc_.buggify > 0 && chance() < sc_.buggify;
}

bool world::mutant(std::string_view name) {
  return !sc_.mutation.empty() && name == sc_.mutation;
}

// -- nodes ----------------------------------------------------------------------------

bool world::is_master(int node) const {
  return std::any_of(masters_.begin(), masters_.end(),
                     [node](const auto& m) { return m.node == node; });
}

int world::leader_node() const {
  return leader_ < 0 ? -1 : masters_[static_cast<size_t>(leader_)].node;
}

bool world::reaches_master(int node) const {
  if (masters_.size() == 1)
    return reachable(node, master_node);
  return leader_ >= 0 && reachable(node, leader_node());
}

master_actor world::leader_actor() const {
  return leader_ < 0 ? master_actor{}
                     : masters_[static_cast<size_t>(leader_)].actor;
}

std::string world::name(int node) const {
  if (node == coordination_node_)
    return "zk";
  for (size_t i = 0; i < masters_.size(); ++i)
    if (masters_[i].node == node)
      return masters_.size() == 1 ? "master" : fmt::format("master-{}", i);
  if (is_agent(node))
    return fmt::format("agent-{}", agent_index(node));
  auto i = static_cast<size_t>(node - 1);
  if (i < workloads_.size())
    return fmt::format("framework-{} ({})", i, workloads_[i]->spec.name);
  return fmt::format("framework-{}", i);
}

int world::node_of_host(const std::string& hostname) const {
  if (hostname.rfind("agent-", 0) != 0)
    return -1;
  auto i = std::strtoull(hostname.c_str() + 6, nullptr, 10);
  if (i >= agents_.size())
    return -1;
  return agent_node(i);
}

double world::wall_clock(int node) const {
  return 1.7e9 + skew_[static_cast<size_t>(node)];
}

double world::agent_total(int node, std::string_view name) const {
  return agents_[agent_index(node)].cfg.total.scalar(name).value_or(0);
}

bool world::framework_expects_end(int node) const {
  auto i = static_cast<size_t>(node - 1);
  return i < workloads_.size();
}

bool world::framework_takes_lost_as_final(int node) const {
  auto i = static_cast<size_t>(node - 1);
  return i < workloads_.size() && !workloads_[i]->spec.partition_aware;
}

// -- links ------------------------------------------------------------------------------

bool world::reachable(int from, int to) const {
  return island_[static_cast<size_t>(from)] == island_[static_cast<size_t>(to)];
}

route world::decide(int from, int to) {
  route r;
  if (!reachable(from, to)) {
    r.cut = true;
    return r;
  }
  const auto& lf = sc_.links;
  if (lf.drop > 0 && chance() < lf.drop) {
    r.drop = true;
    return r;
  }
  if (lf.duplicate > 0 && chance() < lf.duplicate)
    r.copies = 2;
  r.delay = pick(lf.delay);
  return r;
}

void world::link_event(int from, int to, const char* what, bool dropped) {
  ++stats_.link_messages;
  if (dropped)
    ++stats_.dropped;
  mix(hash_, static_cast<uint64_t>(from) << 32 | static_cast<uint32_t>(to));
  mix(hash_, dropped ? 1 : 0);
  trace_.push_back(trace_rec{elapsed(), from, to, what, dropped});
  if (trace_.size() > 40)
    trace_.pop_front();
}

void world::link_down(int node) {
  // A framework's connection went down: the master drops its offers. An
  // agent's: the master may mark it unreachable before it is back.
  if (is_agent(node))
    model_.agent_disturbed(node);
  else if (!is_master(node))
    model_.framework_lost(node);
}

void world::agent_reregistered(int node) {
  if (master_restarted_at_.count() < 0 || !reregistered_.insert(node).second)
    return;
  if (reregistered_.size() == agents_.size()) {
    stats_.failover_reregistration = elapsed() - master_restarted_at_;
    stats_.failover_wall_seconds = std::chrono::duration<double>(
                                     std::chrono::steady_clock::now()
                                     - master_restarted_wall_)
                                     .count();
  }
}

master_actor world::connect(int node) {
  return track(spawn_connection(*this, node, leader_node(), leader_actor()));
}

detector_actor world::detector_for(int node) {
  auto& d = detectors_[static_cast<size_t>(node)];
  if (!d)
    d = track(sys_->spawn(node_detector, this, node));
  return caf::actor_cast<detector_actor>(d);
}

std::optional<master_actor> world::master_link(int node,
                                               const master_actor& previous) {
  // With several masters a node learns who leads from the coordination
  // service (its detector watches the election there).
  if (leader_ < 0 || !reachable(node, leader_node())
      || (coordination_node_ >= 0 && !reachable(node, coordination_node_))) {
    detecting_.insert(node);
    return std::nullopt;
  }
  auto& link = current_links_[node];
  // The caller lost the link it had: a new connection to the same master.
  if (!link || link == previous)
    link = connect(node);
  return link;
}

void world::answer_detectors() {
  for (int node : detecting_)
    caf::anon_send(detectors_[static_cast<size_t>(node)], ready_atom::value);
  detecting_.clear();
}

std::optional<agent_executor_actor> world::agent_link(int agent) {
  auto& a = agents_[agent_index(agent)];
  if (!a.up) {
    a.located = true;
    return std::nullopt;
  }
  return track(spawn_agent_tap(
    *this, agent, caf::actor_cast<agent_executor_actor>(a.actor)));
}

executor_actor world::spawn_executor(int agent, executor_config cfg) {
  auto& loc = locators_[agent_index(agent)];
  if (!loc)
    loc = track(sys_->spawn(node_locator, this, agent));
  cfg.locator = caf::actor_cast<agent_locator>(loc);
  cfg.seed = draw();
  cfg.start_time = wall_clock(agent);
  return track(dcos::spawn_executor(*sys_, std::move(cfg)));
}

containerizer_actor world::containerizer_of(int agent) {
  return caf::actor_cast<containerizer_actor>(
    agents_[agent_index(agent)].containerizer);
}

// -- starting and restarting nodes ---------------------------------------------------

master_config world::master_settings(size_t i) {
  master_config cfg;
  cfg.hostname = masters_.size() == 1 ? "master" : fmt::format("master-{}", i);
  cfg.ip = fmt::format("10.0.0.{}", 1 + i);
  cfg.seed = draw();
  cfg.start_time = wall_clock(masters_[i].node);
  cfg.allocation_interval = sc_.allocation_interval;
  cfg.agent_ping_timeout = sc_.agent_ping_timeout;
  cfg.max_agent_ping_timeouts = sc_.max_agent_ping_timeouts;
  cfg.agent_reregister_timeout = std::chrono::minutes(2);
  for (const auto& w : workloads_)
    if (w->spec.weight != 1)
      cfg.weights.emplace_back(w->spec.role, w->spec.weight);
  return cfg;
}

void world::start_master(size_t i) {
  auto& m = masters_[i];
  m.up = true;
  ++m.incarnation;
  if (masters_.size() > 1) {
    // As dcos-master --zk: a candidacy, which starts the master once elected.
    auto election = track(spawn_election_client(*this, m.node,
                                                sc_.zk_session_timeout));
    candidacy_hooks hooks;
    hooks.elected = [this, i](caf::event_based_actor*, int64_t member) {
      return elected(i, member);
    };
    hooks.standby = [](caf::event_based_actor*, const std::string&) {};
    hooks.lost = [this, i](caf::event_based_actor*, const std::string& why) {
      // The process exits; its supervisor starts it again.
      end_master(i, std::chrono::seconds(1), why);
    };
    m.process = track(spawn_candidacy(*sys_,
                                      caf::actor_cast<election_actor>(election),
                                      name(m.node), std::move(hooks)));
    return;
  }
  auto cfg = master_settings(i);
  cfg.store = caf::actor_cast<store_actor>(m.disk);
  m.actor = track(spawn_master(*sys_, std::move(cfg)));
  leader_ = 0;
  if (m.incarnation > 1) {
    master_restarted_at_ = elapsed();
    master_restarted_wall_ = std::chrono::steady_clock::now();
    reregistered_.clear();
  }
  monitor_node(caf::actor_cast<caf::actor>(m.actor), m.node);
  current_links_.clear();
  answer_detectors();
}

caf::actor world::elected(size_t i, int64_t member) {
  auto& m = masters_[i];
  if (leader_ >= 0 && static_cast<size_t>(leader_) != i)
    fail(fmt::format("two masters lead at once: {} was elected (member {}) "
                     "while {} still acts as the leader (member {})",
                     name(m.node), member, name(leader_node()),
                     masters_[static_cast<size_t>(leader_)].member));
  trace_.push_back(trace_rec{elapsed(), -1, -1, "elected", false});
  mix(hash_, 0xe1ec7 + i);
  m.member = member;
  m.registry = track(spawn_registry_client(*this, m.node, member));
  auto cfg = master_settings(i);
  cfg.store = caf::actor_cast<store_actor>(m.registry);
  m.actor = track(spawn_master(*sys_, std::move(cfg)));
  leader_ = static_cast<int>(i);
  if (++elections_ > 1) {
    master_restarted_at_ = elapsed();
    master_restarted_wall_ = std::chrono::steady_clock::now();
    if (leader_lost_at_.count() >= 0)
      stats_.failover_election = elapsed() - leader_lost_at_;
    reregistered_.clear();
  }
  current_links_.clear();
  answer_detectors();
  return caf::actor_cast<caf::actor>(m.actor);
}

void world::end_master(size_t i, caf::timespan down, const std::string& why) {
  auto& m = masters_[i];
  if (!m.up)
    return;
  m.up = false;
  watch_masters("master process ends", name(m.node) + " ends: " + why);
  for (const auto& a : {caf::actor_cast<caf::actor>(m.actor), m.process,
                        caf::actor_cast<caf::actor>(m.registry)})
    if (a) {
      watched_.erase(a->id());
      caf::anon_send_exit(a, caf::exit_reason::kill);
    }
  m.actor = nullptr;
  m.process = nullptr;
  m.registry = nullptr;
  m.member = -1;
  if (leader_ == static_cast<int>(i)) {
    leader_ = -1;
    leader_lost_at_ = elapsed();
    model_.master_lost();
  }
  if (m.disk)
    caf::anon_send(m.disk, crash_atom::value);
  caf::delayed_anon_send(director_, down, restart_master_atom::value,
                         uint64_t{i});
}

void world::registry_written(int node, int64_t fence, int64_t leader) {
  if (fence != leader)
    fail(fmt::format("the registry accepted a write from {} (member {}), "
                     "which does not lead (the leader is member {})",
                     name(node), fence, leader));
}

void world::session_expired(int node) {
  watch_masters("session expired", "the session of " + name(node) + " expired");
}

void world::watch_masters(const char* what, const std::string& line) {
  trace_.push_back(trace_rec{elapsed(), -1, -1, what, false});
  if (std::getenv("DCOS_SIM_WATCH_MASTERS") != nullptr)
    std::fprintf(stderr, "%12.6fs  %s\n",
                 std::chrono::duration<double>(elapsed()).count(),
                 line.c_str());
}

void world::drain_agent(int node, caf::timespan grace) {
  auto hostname = fmt::format("agent-{}", agent_index(node));
  // The agent's id, found by its hostname; empty until the master lists it.
  auto agent_id = std::make_shared<std::string>();
  auto drained = std::make_shared<bool>(false);
  auto call_of = [agent_id, grace](v1::master::Call::Type type) {
    v1::master::Call call;
    call.set_type(type);
    if (type == v1::master::Call::DRAIN_AGENT) {
      auto* d = call.mutable_drain_agent();
      d->mutable_agent_id()->set_value(*agent_id);
      d->mutable_max_grace_period()->set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(grace).count());
      d->mutable_max_grace_period()->set_nanos(static_cast<int32_t>(
        (grace - std::chrono::duration_cast<std::chrono::seconds>(grace))
          .count()));
    } else if (type == v1::master::Call::REACTIVATE_AGENT) {
      call.mutable_reactivate_agent()->mutable_agent_id()->set_value(
        *agent_id);
    }
    return call;
  };
  spawn_operator([this, hostname, agent_id, drained, call_of](
                   caf::event_based_actor* self,
                   const std::function<void()>& again) {
    auto type = agent_id->empty() || *drained
                  ? v1::master::Call::GET_AGENTS
                  : v1::master::Call::DRAIN_AGENT;
    self->request(leader_actor(), std::chrono::seconds(30), call_of(type))
      .then(
        [=](const v1::master::Response& r) {
          if (type == v1::master::Call::DRAIN_AGENT) {
            *drained = true; // durable: now wait for DRAINED
            again();
            return;
          }
          for (const auto& a : r.get_agents().agents()) {
            if (agent_id->empty()
                && a.agent_info().hostname() == hostname)
              *agent_id = a.agent_info().id().value();
            if (*drained && a.agent_info().id().value() == *agent_id
                && a.drain_info().state() == v1::DRAINED) {
              self->request(leader_actor(), std::chrono::seconds(30),
                            call_of(v1::master::Call::REACTIVATE_AGENT))
                .then([self](const v1::master::Response&) { self->quit(); },
                      [again](caf::error&) { again(); });
              return;
            }
          }
          again();
        },
        [again](caf::error&) { again(); });
  });
}

void world::mark_gone_later(int node, caf::timespan after) {
  auto hostname = fmt::format("agent-{}", agent_index(node));
  auto agent_id = std::make_shared<std::string>();
  auto due = elapsed() + after;
  spawn_operator([this, hostname, agent_id, due](
                   caf::event_based_actor* self,
                   const std::function<void()>& again) {
    if (agent_id->empty()) {
      v1::master::Call call;
      call.set_type(v1::master::Call::GET_AGENTS);
      self->request(leader_actor(), std::chrono::seconds(30), call)
        .then(
          [=](const v1::master::Response& r) {
            for (const auto& a : r.get_agents().agents())
              if (a.agent_info().hostname() == hostname)
                *agent_id = a.agent_info().id().value();
            again();
          },
          [again](caf::error&) { again(); });
      return;
    }
    if (elapsed() < due) {
      again();
      return;
    }
    v1::master::Call call;
    call.set_type(v1::master::Call::MARK_AGENT_GONE);
    call.mutable_mark_agent_gone()->mutable_agent_id()->set_value(*agent_id);
    self->request(leader_actor(), std::chrono::seconds(30), call)
      .then([self](const v1::master::Response&) { self->quit(); },
            [again](caf::error&) { again(); });
  });
}

void world::schedule_maintenance(int node, caf::timespan window) {
  auto hostname = fmt::format("agent-{}", agent_index(node));
  // The schedule with the machine in it (`join`) or out of it. Its window
  // is far ahead (2100): planned, never reached.
  auto edited = [hostname](const v1::master::MaintenanceSchedule& schedule,
                           bool join) {
    v1::master::MaintenanceSchedule out;
    for (const auto& w : schedule.windows()) {
      v1::master::MaintenanceWindow kept;
      *kept.mutable_unavailability() = w.unavailability();
      for (const auto& m : w.machine_ids())
        if (m.hostname() != hostname)
          *kept.add_machine_ids() = m;
      if (kept.machine_ids_size() > 0)
        *out.add_windows() = std::move(kept);
    }
    if (join) {
      auto* w = out.add_windows();
      w->add_machine_ids()->set_hostname(hostname);
      auto* u = w->mutable_unavailability();
      u->mutable_start()->set_nanoseconds(4'102'444'800'000'000'000);
      u->mutable_duration()->set_nanoseconds(3'600'000'000'000);
    }
    return out;
  };
  auto joined = std::make_shared<bool>(false);
  spawn_operator([this, edited, window, joined](
                   caf::event_based_actor* self,
                   const std::function<void()>& again) {
    // Read, edit, write: what other operators scheduled meanwhile stays.
    v1::master::Call get;
    get.set_type(v1::master::Call::GET_MAINTENANCE_SCHEDULE);
    self->request(leader_actor(), std::chrono::seconds(30), get)
      .then(
        [=](const v1::master::Response& r) {
          v1::master::Call update;
          update.set_type(v1::master::Call::UPDATE_MAINTENANCE_SCHEDULE);
          *update.mutable_update_maintenance_schedule()
             ->mutable_schedule()
            = edited(r.get_maintenance_schedule().schedule(), !*joined);
          self->request(leader_actor(), std::chrono::seconds(30), update)
            .then(
              [=](const v1::master::Response&) {
                if (*joined) {
                  self->quit();
                  return;
                }
                *joined = true;
                self->delayed_send(self, window, retry_atom::value);
              },
              [again](caf::error&) { again(); });
        },
        [again](caf::error&) { again(); });
  });
}

void world::spawn_operator(
  std::function<void(caf::event_based_actor*, const std::function<void()>&)>
    step) {
  track(sys_->spawn([this, step](caf::event_based_actor* self) {
    self->send(self, retry_atom::value);
    std::function<void()> again = [self] {
      self->delayed_send(self, std::chrono::seconds(1), retry_atom::value);
    };
    return caf::behavior{
      [=](retry_atom) {
        if (all_done()) {
          self->quit();
          return;
        }
        if (leader_ < 0) {
          again();
          return;
        }
        step(self, again);
      },
    };
  }));
}

bool world::sample() {
  if (all_done())
    return false;
  if (sc_.fairness > 0)
    sample_shares();
  if (!sc_.guarantees.empty())
    sample_guarantees();
  return true;
}

void world::set_quota() {
  // As an operator would: UPDATE_QUOTA, retried until the master (which may
  // still be recovering its registry) takes it. It binds from then.
  v1::master::Call call;
  call.set_type(v1::master::Call::UPDATE_QUOTA);
  std::map<std::string, v1::master::QuotaConfig> configs;
  auto fill = [](const resources& rs, auto* scalars) {
    for (const auto& r : rs.flatten())
      if (r.type == resource::kind::scalar)
        (*scalars)[r.name].set_value(r.scalar());
  };
  for (const auto& [role, limits] : sc_.quota)
    fill(limits, configs[role].mutable_limits());
  for (const auto& [role, guarantees] : sc_.guarantees)
    fill(guarantees, configs[role].mutable_guarantees());
  for (auto& [role, config] : configs) {
    config.set_role(role);
    *call.mutable_update_quota()->add_quota_configs() = std::move(config);
  }
  track(sys_->spawn([this, call](caf::event_based_actor* self) {
    self->send(self, retry_atom::value);
    return caf::behavior{
      [this, self, call](retry_atom) {
        self->request(leader_actor(), caf::infinite, call)
          .then(
            [this, self](const v1::master::Response&) {
              for (const auto& [role, limits] : sc_.quota)
                model_.quota_set(role, limits);
              guarantees_set_ = true;
              self->quit();
            },
            [self](caf::error&) {
              self->delayed_send(self, std::chrono::milliseconds(100),
                                 retry_atom::value);
            });
      },
    };
  }));
}

void world::start_agent(size_t i) {
  auto& a = agents_[i];
  int node = agent_node(i);
  auto cfg = a.cfg;
  cfg.seed = draw();
  cfg.start_time = wall_clock(node);
  a.actor = track(spawn_agent(*sys_, std::move(cfg)));
  a.up = true;
  ++a.incarnation;
  if (auto id = a.actor->id(); id >= agent_of_actor_.size())
    agent_of_actor_.resize(id + 1, -1);
  agent_of_actor_[a.actor->id()] = node;
  monitor_node(caf::actor_cast<caf::actor>(a.actor), node);
  if (a.located) {
    a.located = false;
    caf::anon_send(locators_[i], ready_atom::value);
  }
}

void world::start_framework(size_t i) {
  if (i < workloads_.size())
    framework_actors_[i] = spawn_workload_framework(*this, *workloads_[i]);
  else
    framework_actors_[i] = user_frameworks_[i - workloads_.size()](
      *sys_, detector_for(framework_node(i)));
  track(framework_actors_[i]);
}

void world::monitor_node(const caf::actor& a, int node) {
  watched_[a.id()] = node;
  caf::anon_send(watcher_, caf::monitor_atom::value, a);
}

void world::node_died(caf::actor_id id) {
  auto i = watched_.find(id);
  if (i == watched_.end())
    return;
  int node = i->second;
  watched_.erase(i);
  if (is_master(node)) {
    // Died on its own (an abort): restart it, as a supervisor would. (With
    // several masters the candidacy watches its master instead.)
    for (size_t k = 0; k < masters_.size(); ++k)
      if (masters_[k].up && masters_[k].actor && masters_[k].actor->id() == id)
        end_master(k, std::chrono::seconds(1), "the master died");
  } else if (is_agent(node)) {
    auto idx = agent_index(node);
    auto& a = agents_[idx];
    if (!a.up || a.actor->id() != id)
      return;
    a.up = false;
    model_.agent_crashed(node);
    caf::anon_send(a.disk, crash_atom::value);
    caf::delayed_anon_send(director_, std::chrono::seconds(1),
                           restart_agent_atom::value, uint64_t{idx});
  }
}

void world::restart_agent(size_t i) {
  if (!agents_[i].up && !agents_[i].lost)
    start_agent(i);
}

void world::restart_master(size_t i) {
  if (!masters_[i].up)
    start_master(i);
}

void world::restart_framework(size_t i) {
  if (!framework_actors_[i])
    start_framework(i);
}

void world::heal(std::vector<int> nodes) {
  std::vector<int> back;
  for (int n : nodes) {
    if (is_agent(n) && !reaches_master(n))
      back.push_back(n);
    island_[static_cast<size_t>(n)] = 0;
  }
  model_.healed(back);
  answer_detectors();
}

// -- faults ---------------------------------------------------------------------------

std::vector<int> world::resolve(const std::vector<std::string>& targets) {
  std::vector<int> nodes;
  for (const auto& t : targets) {
    if (t == "master" || t == "leader") {
      // With several masters: whichever leads at the time.
      if (masters_.size() == 1)
        nodes.push_back(master_node);
      else if (leader_ >= 0)
        nodes.push_back(leader_node());
    } else if (t == "masters") {
      for (const auto& m : masters_)
        nodes.push_back(m.node);
    } else if (t == "zk") {
      if (coordination_node_ >= 0)
        nodes.push_back(coordination_node_);
    } else if (t.rfind("master-", 0) == 0) {
      auto i = std::strtoull(t.c_str() + 7, nullptr, 10);
      if (i < masters_.size())
        nodes.push_back(masters_[i].node);
    } else if (t.rfind("agents:", 0) == 0) {
      auto dash = t.find('-', 7);
      auto from = std::strtoull(t.c_str() + 7, nullptr, 10);
      auto to = dash == std::string::npos
                  ? from
                  : std::strtoull(t.c_str() + dash + 1, nullptr, 10);
      for (auto i = from; i <= to && i < agents_.size(); ++i)
        nodes.push_back(agent_node(i));
    } else if (t.rfind("agent-", 0) == 0) {
      if (int n = node_of_host(t); n >= 0)
        nodes.push_back(n);
    } else if (t.rfind("framework-", 0) == 0) {
      auto i = std::strtoull(t.c_str() + 10, nullptr, 10);
      if (i < frameworks_)
        nodes.push_back(framework_node(i));
    }
  }
  return nodes;
}

void world::crash_agent(int node, caf::timespan down) {
  auto idx = agent_index(node);
  auto& a = agents_[idx];
  if (!a.up)
    return;
  a.up = false;
  watched_.erase(a.actor->id());
  caf::anon_send_exit(a.actor, caf::exit_reason::kill);
  model_.agent_crashed(node);
  caf::anon_send(a.disk, crash_atom::value);
  caf::delayed_anon_send(director_, down, restart_agent_atom::value,
                         uint64_t{idx});
}

void world::apply(size_t index) {
  const auto& f = schedule_[index];
  auto nodes = resolve(f.targets);
  ++stats_.faults;
  mix(hash_, 0xfa17 + index);
  trace_.push_back(trace_rec{elapsed(), -1, -1, kind_name(f.what), false});
  auto down = f.duration.count() > 0 ? f.duration : pick(sc_.random.down_time);
  switch (f.what) {
    case fault_event::kind::crash_agent:
      for (int n : nodes)
        if (is_agent(n))
          crash_agent(n, down);
      break;
    case fault_event::kind::crash_executors:
      for (int n : nodes)
        if (is_agent(n))
          caf::anon_send(agents_[agent_index(n)].containerizer,
                         crash_atom::value);
      break;
    case fault_event::kind::crash_node:
    case fault_event::kind::lose_node:
      // One instant: the agent and its disk, and every process on the node.
      for (int n : nodes)
        if (is_agent(n)) {
          if (f.what == fault_event::kind::lose_node) {
            // Its updates die with it: the master's word is the last.
            agents_[agent_index(n)].lost = true;
            model_.agent_removed(n);
            if (f.duration.count() > 0)
              mark_gone_later(n, f.duration);
          }
          crash_agent(n, down);
          caf::anon_send(agents_[agent_index(n)].containerizer,
                         crash_atom::value);
        }
      break;
    case fault_event::kind::crash_master:
      for (size_t k = 0; k < masters_.size(); ++k)
        if (std::find(nodes.begin(), nodes.end(), masters_[k].node)
            != nodes.end())
          end_master(k, down, "crashed");
      break;
    case fault_event::kind::crash_framework:
      for (int n : nodes) {
        auto i = static_cast<size_t>(n - 1);
        if (is_master(n) || is_agent(n) || n == coordination_node_
            || i >= workloads_.size())
          continue;
        if (auto& fw = framework_actors_[i]) {
          caf::anon_send_exit(fw, caf::exit_reason::kill);
          fw = nullptr;
          model_.framework_lost(n);
          caf::delayed_anon_send(director_, down, restart_fw_atom::value,
                                 uint64_t{i});
        }
      }
      break;
    case fault_event::kind::partition: {
      auto island = next_island_++;
      std::vector<int> cut_agents;
      for (int n : nodes) {
        island_[static_cast<size_t>(n)] = island;
        if (is_agent(n)) {
          model_.agent_disturbed(n);
          if (!reaches_master(n))
            cut_agents.push_back(n);
        }
      }
      model_.partitioned(cut_agents);
      auto heal_after = f.duration.count() > 0
                          ? f.duration
                          : pick(sc_.random.partition_time);
      caf::delayed_anon_send(director_, heal_after, heal_atom::value, nodes);
      break;
    }
    case fault_event::kind::drain_agent:
      for (int n : nodes)
        if (is_agent(n))
          drain_agent(n, f.duration.count() > 0 ? f.duration
                                                : std::chrono::seconds(1));
      break;
    case fault_event::kind::maintenance:
      for (int n : nodes)
        if (is_agent(n))
          schedule_maintenance(n, f.duration.count() > 0
                                    ? f.duration
                                    : std::chrono::seconds(20));
      break;
  }
}

void world::schedule_faults() {
  schedule_ = sc_.faults;
  auto window = sc_.faults_until - sc_.faults_from;
  auto at = [&] {
    return sc_.faults_from + (window.count() > 0
                                ? caf::timespan{static_cast<int64_t>(
                                    draw() % static_cast<uint64_t>(
                                      window.count()))}
                                : caf::timespan{0});
  };
  auto some_agent = [&] {
    return fmt::format("agent-{}", draw() % agents_.size());
  };
  const auto& r = sc_.random;
  for (size_t i = 0; i < r.agent_crashes; ++i)
    schedule_.push_back({fault_event::kind::crash_agent, at(), {some_agent()},
                         {}});
  for (size_t i = 0; i < r.executor_crashes; ++i)
    schedule_.push_back({fault_event::kind::crash_executors, at(),
                         {some_agent()}, {}});
  for (size_t i = 0; i < r.node_crashes; ++i)
    schedule_.push_back({fault_event::kind::crash_node, at(), {some_agent()},
                         {}});
  for (size_t i = 0; i < r.node_losses; ++i) {
    auto when = at();
    auto target = some_agent();
    schedule_.push_back({fault_event::kind::lose_node, when, {target},
                         pick(r.down_time)});
  }
  for (size_t i = 0; i < r.partitions; ++i) {
    auto first = draw() % agents_.size();
    auto width = 1 + draw() % std::max<size_t>(1, agents_.size() / 4);
    schedule_.push_back({fault_event::kind::partition, at(),
                         {fmt::format("agents:{}-{}", first,
                                      std::min(agents_.size() - 1,
                                               first + width - 1))},
                         {}});
  }
  for (size_t i = 0; i < r.master_crashes; ++i)
    schedule_.push_back({fault_event::kind::crash_master, at(), {"master"},
                         {}});
  for (size_t i = 0; i < r.agent_drains; ++i)
    schedule_.push_back({fault_event::kind::drain_agent, at(), {some_agent()},
                         {}});
  for (size_t i = 0; i < r.maintenance_windows; ++i)
    schedule_.push_back({fault_event::kind::maintenance, at(), {some_agent()},
                         {}});
  for (size_t i = 0; i < r.framework_crashes && !workloads_.empty(); ++i)
    schedule_.push_back({fault_event::kind::crash_framework, at(),
                         {fmt::format("framework-{}",
                                      draw() % workloads_.size())},
                         {}});
  faults_end_ = sc_.faults_until;
  for (size_t i = 0; i < schedule_.size(); ++i) {
    const auto& f = schedule_[i];
    auto longest = std::max({f.duration, sc_.random.down_time.max,
                             sc_.random.partition_time.max});
    faults_end_ = std::max(faults_end_, f.at + longest);
    caf::delayed_anon_send(director_, f.at, fault_atom::value, uint64_t{i});
  }
}

bool world::all_done() const {
  if (workloads_.empty())
    return false;
  return std::all_of(workloads_.begin(), workloads_.end(),
                     [](const auto& w) { return w->done; });
}

std::string world::progress() const {
  std::string out;
  for (const auto& w : workloads_) {
    if (w->done)
      continue;
    out += fmt::format(" {} has {} task(s) to launch and {} live", w->spec.name,
                       w->to_launch, w->live.size());
    size_t shown = 0;
    for (const auto& [task, t] : w->live) {
      if (shown++ == 3)
        break;
      out += fmt::format("{} {} ({})", shown == 1 ? ":" : ",", task,
                         v1::TaskState_Name(static_cast<v1::TaskState>(t.state)));
    }
    out += ";";
  }
  return out;
}

void world::fail(std::string violation) {
  if (violation_.empty())
    violation_ = std::move(violation);
}

// -- the run ----------------------------------------------------------------------------

bool world::step() {
  auto& jobs = sched_->jobs;
  if (jobs.empty()) {
    if (!sched_->trigger_timeout())
      return false;
    mix(hash_, static_cast<uint64_t>(elapsed().count()));
    return true;
  }
  if (jobs.size() > 1)
    std::swap(jobs.front(), jobs[draw() % jobs.size()]);
  // Every job of ours is an actor (a broker too is one): the subtype says
  // so without a dynamic_cast at each of the millions of steps.
  auto* job = jobs.front();
  if (auto kind = job->subtype(); kind == caf::resumable::scheduled_actor
                                  || kind == caf::resumable::io_actor) {
    auto* actor = static_cast<caf::scheduled_actor*>(job);
    auto id = actor->id();
    mix(hash_, id);
    if (id < agent_of_actor_.size() && agent_of_actor_[id] >= 0) {
      auto* next_msg = actor->mailbox().peek();
      if (next_msg != nullptr
          && next_msg->content()
               .match_elements<v1::internal::StatusUpdateAcknowledgement>())
        model_.agent_processed(
          agent_of_actor_[id],
          next_msg->content()
            .get_as<v1::internal::StatusUpdateAcknowledgement>(0));
    }
  }
  sched_->run_once();
  ++stats_.steps;
  return true;
}

void world::run_until(caf::timespan until) {
  while (!failed() && elapsed() < until && step()) {
  }
}

report world::run(std::vector<framework_factory> user_frameworks,
                  std::vector<state_check> checks, std::string replay) {
  auto wall_start = std::chrono::steady_clock::now();
  user_frameworks_ = std::move(user_frameworks);
  state_checks_ = std::move(checks);
  frameworks_ = sc_.frameworks.size() + user_frameworks_.size();
  size_t agent_count = 0;
  for (const auto& g : sc_.agents)
    agent_count += g.count;
  agent_count_ = agent_count;
  auto master_count = std::max<size_t>(1, sc_.masters);
  size_t nodes = frameworks_ + agent_count + master_count
                 + (master_count > 1 ? 1 : 0);
  island_.assign(nodes, 0);
  detectors_.resize(nodes);
  skew_.resize(nodes);
  for (auto& s : skew_) {
    auto max = std::chrono::duration<double>(sc_.clock_skew).count();
    s = max > 0 ? (chance() * 2 - 1) * max : 0;
  }
  watcher_ = track(sys_->spawn([this](caf::event_based_actor* self) {
    self->set_down_handler(
      [this](caf::down_msg& msg) { node_died(msg.source.id()); });
    return caf::behavior{
      [self](caf::monitor_atom, const caf::actor& a) { self->monitor(a); },
    };
  }));
  director_ = track(sys_->spawn(director, this));
  // Nodes.
  masters_.resize(master_count);
  for (size_t i = 0; i < master_count; ++i)
    masters_[i].node = master_node_of(i);
  if (master_count > 1) {
    coordination_node_ = master_node_of(master_count - 1) + 1;
    coordination_ = track(spawn_coordination(*this));
  } else {
    masters_[0].disk = track(spawn_disk(*this, master_node));
  }
  for (size_t i = 0; i < sc_.frameworks.size(); ++i) {
    auto st = std::make_unique<workload_state>();
    st->spec = sc_.frameworks[i];
    st->node = framework_node(i);
    st->to_launch = st->spec.tasks;
    workloads_.push_back(std::move(st));
  }
  size_t planned_tasks = 0;
  for (const auto& f : sc_.frameworks)
    planned_tasks += f.tasks;
  model_.expect_tasks(planned_tasks);
  framework_actors_.resize(frameworks_);
  for (size_t i = 0; i < master_count; ++i)
    start_master(i);
  if (!sc_.quota.empty() || !sc_.guarantees.empty())
    set_quota();
  agents_.resize(agent_count);
  locators_.resize(agent_count);
  size_t next = 0;
  for (const auto& g : sc_.agents)
    for (size_t k = 0; k < g.count; ++k, ++next) {
      auto& a = agents_[next];
      int node = agent_node(next);
      a.cfg.hostname = fmt::format("agent-{}", next);
      a.cfg.ip = fmt::format("10.{}.{}.{}", 1 + next / 65536,
                             next / 256 % 256, next % 256);
      a.cfg.total = g.total;
      a.cfg.domain.mutable_fault_domain()->mutable_region()->set_name("sim");
      a.cfg.domain.mutable_fault_domain()->mutable_zone()->set_name(
        g.zone.empty() ? "zone-1" : g.zone);
      a.cfg.work_dir = "/sim/" + a.cfg.hostname;
      a.cfg.executor = "dcos-executor";
      a.cfg.detector = detector_for(node);
      a.disk = track(spawn_disk(*this, node));
      a.containerizer = track(spawn_containerizer(*this, node));
      a.cfg.containerizer = caf::actor_cast<containerizer_actor>(
        a.containerizer);
      a.cfg.store = caf::actor_cast<store_actor>(a.disk);
      start_agent(next);
    }
  for (size_t i = 0; i < frameworks_; ++i) {
    auto at = i < workloads_.size() ? workloads_[i]->spec.start_at
                                    : caf::timespan{0};
    if (at.count() == 0)
      start_framework(i);
    else
      caf::delayed_anon_send(director_, at, start_fw_atom::value,
                             uint64_t{i});
  }
  schedule_faults();
  if (sc_.fairness > 0 || !sc_.guarantees.empty())
    caf::delayed_anon_send(director_, std::chrono::seconds(1),
                           sample_atom::value);
  // Step by step.
  for (;;) {
    if (failed())
      break;
    if (sched_->jobs.empty()) {
      if (all_done() && elapsed() >= faults_end_)
        break;
      if (!audited_after_faults_ && elapsed() >= faults_end_) {
        audited_after_faults_ = true;
        converge(false);
        if (!failed())
          check_services();
        continue;
      }
      if (elapsed() >= sc_.time_limit) {
        if (!workloads_.empty()) {
          auto missing = model_.tasks_without_end();
          fail(fmt::format("the frameworks were not done after {}s of "
                           "virtual time:{}{}",
                           std::chrono::duration_cast<std::chrono::seconds>(
                             sc_.time_limit)
                             .count(),
                           progress(),
                           missing.empty() ? "" : " " + missing));
        }
        break;
      }
    }
    if (!step())
      break;
  }
  if (!failed() && sc_.fairness > 0)
    check_fairness();
  if (!failed() && !sc_.guarantees.empty())
    check_guarantees();
  if (!failed())
    converge(true);
  if (!failed())
    check_services();
  if (!failed())
    model_.final_checks();
  report r;
  r.seed = seed_;
  r.trace_hash = hash_;
  r.passed = !failed();
  r.violation = violation_;
  for (const auto& t : trace_)
    r.trace.push_back(
      t.from < 0 ? fmt::format("{:>12.6f}s  fault: {}",
                               std::chrono::duration<double>(t.at).count(),
                               t.what)
                 : fmt::format("{:>12.6f}s  {} -> {}: {}{}",
                               std::chrono::duration<double>(t.at).count(),
                               name(t.from), name(t.to), t.what,
                               t.dropped ? " (dropped)" : ""));
  r.replay = std::move(replay);
  stats_.virtual_time = elapsed();
  stats_.tasks_launched = model_.tasks_launched();
  stats_.tasks_finished = model_.tasks_terminal();
  if (model_.first_accept.count() >= 0) {
    stats_.launch_phase = model_.last_running - model_.first_accept;
    stats_.launch_wall_seconds = std::chrono::duration<double>(
                                   model_.last_running_wall
                                   - model_.first_accept_wall)
                                   .count();
    stats_.tasks_placed = model_.tasks_placed;
    stats_.placement_wall_seconds = std::chrono::duration<double>(
                                      model_.last_placed_wall
                                      - model_.first_accept_wall)
                                      .count();
  }
  stats_.wall_seconds = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - wall_start)
                          .count();
  r.stats = stats_;
  return r;
}

} // namespace dcos::sim::detail
