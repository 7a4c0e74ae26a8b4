// The simulation's world: the nodes, the seeded source of every decision,
// the links between nodes, the fault schedule, the invariant model and the
// trace. Private to libdcos/src/sim.
//
// Files: world.cpp (nodes, run loop, faults), links.cpp (link actors),
// containerizer.cpp (modelled processes), disk.cpp (stores), workload.cpp
// (built-in frameworks), model.cpp (invariants), scenario.cpp (YAML).
//
// Thread-safety: everything runs on the thread that runs the simulation.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>

#include "dcos/agent.hpp"
#include "dcos/buggify.hpp"
#include "dcos/containerizer_actor.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/executor.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/scheduler_driver_actor.hpp"
#include "dcos/sim.hpp"
#include "dcos/store_actor.hpp"

namespace dcos::sim::detail {

using release_atom = caf::atom_constant<caf::atom("release")>;
using durable_atom = caf::atom_constant<caf::atom("durable")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using fault_atom = caf::atom_constant<caf::atom("fault")>;

/// A simulated disk: the store interface plus what the world does to it.
using sim_store = store_actor::extend<caf::reacts_to<durable_atom, uint64_t>,
                                      caf::reacts_to<crash_atom>>;

/// A modelled node-local process table: the containerizer interface plus
/// its timers and the world's executor crashes.
using sim_containerizer = containerizer_actor::extend<
  caf::reacts_to<end_atom, std::string, uint64_t>,
  caf::reacts_to<crash_atom>>;

/// A node's master detector, and an executor's way to its agent: the
/// kernel's interfaces plus the world's word that an answer may be ready.
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using sim_detector = detector_actor::extend<caf::reacts_to<ready_atom>>;
using sim_locator = agent_locator::extend<caf::reacts_to<ready_atom>>;

class world;

// -- the coordination service (coordination.cpp) ----------------------------------
// A modelled ZooKeeper for several masters: sessions that expire when their
// client stays silent, ephemeral sequential members of one election with a
// watch on them, and a key-value registry whose writes are checked against
// the writer's membership (ZooKeeper's multi with a check op).

using zk_call_atom = caf::atom_constant<caf::atom("zkcall")>;
using zk_pong_atom = caf::atom_constant<caf::atom("zkpong")>;
using zk_expired_atom = caf::atom_constant<caf::atom("zkexpired")>;
using zk_created_atom = caf::atom_constant<caf::atom("zkcreated")>;
using zk_members_atom = caf::atom_constant<caf::atom("zkmembers")>;
using zk_expire_atom = caf::atom_constant<caf::atom("zkexpire")>;
using zk_store_atom = caf::atom_constant<caf::atom("zkstore")>;
using zk_done_atom = caf::atom_constant<caf::atom("zkdone")>;
using zk_tick_atom = caf::atom_constant<caf::atom("zktick")>;
using zk_deadline_atom = caf::atom_constant<caf::atom("zkdeadln")>;

/// The election's members: sequence number to data, the leader first.
using members_map = std::map<int64_t, std::string>;

/// What a session's client sends: ping, create its member, or watch.
enum class zk_op : int { ping, create, watch };
/// What a registry client sends; and how the service answers it.
enum class zk_store_op : int { get, keys, put, append, erase };
enum class zk_answer : int { ok, not_found, conflict };

/// A master's election client: the election interface, and what the
/// service sends it.
using sim_election = election_actor::extend<
  caf::reacts_to<zk_pong_atom, caf::timespan>, caf::reacts_to<zk_expired_atom>,
  caf::reacts_to<zk_created_atom, int64_t>,
  caf::reacts_to<zk_members_atom, members_map>, caf::reacts_to<zk_tick_atom>,
  caf::reacts_to<zk_deadline_atom, caf::timespan>>;

/// A leader's registry client: the store interface, fenced by its
/// membership, and the service's answers.
using sim_registry = store_actor::extend<
  caf::reacts_to<zk_done_atom, uint64_t, int, std::string,
                 std::vector<std::string>>,
  caf::reacts_to<zk_tick_atom>>;

using sim_coordination = caf::typed_actor<
  // session, its timeout, what, data, when sent, the client and its node
  caf::reacts_to<zk_call_atom, uint64_t, caf::timespan, int, std::string,
                 caf::timespan, sim_election, int>,
  caf::reacts_to<zk_expire_atom, uint64_t, caf::timespan>,
  // client, request, what, fence (-1: none), key, value, the client, node
  caf::reacts_to<zk_store_atom, uint64_t, uint64_t, int, int64_t, std::string,
                 std::string, sim_registry, int>>;

/// What one message crossing a link suffers.
struct route {
  bool cut = false;  // the ends cannot reach each other (a partition)
  bool drop = false; // lost on a live link, which breaks the connection
  int copies = 1;
  caf::timespan delay{0};
};

/// The invariant model: what nodes sent and saw, checked as it happens.
class model {
public:
  explicit model(world& w) : w_(w) {}

  // -- observations (at the moment a message is sent) -------------------------
  void offers(int framework, const v1::scheduler::Event::Offers& ev);
  void rescind(const v1::OfferID& id);
  void accept_sent(const v1::scheduler::Call::Accept& call);
  void accept_delivered(int framework,
                        const v1::scheduler::Call::Accept& call);
  void decline(const v1::scheduler::Call::Decline& call);
  void framework_seen(int framework, const v1::TaskStatus& status);
  void agent_sent(int agent, const v1::internal::StatusUpdate& update);
  void agent_processed(int agent,
                       const v1::internal::StatusUpdateAcknowledgement& ack);
  /// A container started on `agent`; `task` names the task of framework
  /// `framework_id` it runs (empty for executors and the helpers of tasks,
  /// such as health checks).
  void container_started(int agent, const std::string& container,
                         const std::string& framework_id,
                         const std::string& task, const resources& limits);
  /// An executor sent its agent a status update.
  void executor_sent(int agent, const v1::internal::StatusUpdate& update);
  /// The agent acknowledged an executor's update: it has taken it over.
  void executor_acked(int agent,
                      const v1::internal::StatusUpdateAcknowledgement& ack);
  /// The master told the agent it is no longer part of the cluster.
  void agent_removed(int agent);
  /// Prints the message if it concerns the task DCOS_SIM_WATCH names.
  void watch(int node, const char* what, const std::string& task);
  void container_ended(int agent, const std::string& container,
                       const resources& limits);
  /// cpus and mem of the tasks of `role` running anywhere now.
  std::pair<double, double> running(const std::string& role) const;
  /// cpus and mem that `role` and its sub-roles hold: outstanding offers
  /// and tasks running on steady agents (a lower bound of what the
  /// allocator counts).
  std::pair<double, double> held(const std::string& role) const;
  /// The tasks whose containers run on `agent` now (the agent's truth).
  std::set<std::string> tasks_running(int agent) const;

  // -- what the world tells it ------------------------------------------------
  void framework_lost(int framework);
  void master_lost();
  void agent_crashed(int agent);
  /// `agents` were cut off from the master.
  void partitioned(const std::vector<int>& agents);
  /// They are back. If the cut lasted long enough for the master to notice,
  /// every task that ran on them must have been reported unreachable or
  /// lost to its framework, or have ended as the framework saw (unless the
  /// master or the framework lost its state or link meanwhile).
  void healed(const std::vector<int>& agents);
  /// The master confirmed a role's quota limits.
  void quota_set(const std::string& role, const resources& limits);
  /// The agent (re-)registered with the current master.
  void agent_joined(int agent);
  /// The agent was cut off or lost its connection: until it joins again,
  /// the master may free its tasks' resources, so they do not count toward
  /// quota consumption.
  void agent_disturbed(int agent);

  /// The end-of-run checks: every launched task reached one terminal state
  /// its framework saw; no update an agent took over from an executor was
  /// lost (or changed the end the framework saw).
  void final_checks();
  /// The launched tasks whose framework expects their end and saw none, as
  /// "N launched task(s) never reached ...: the first few"; empty if none.
  /// (At the time limit too: the likeliest reason a framework is not done.)
  std::string tasks_without_end() const;

  /// Sizes its tables for `tasks` launches (the scenario's own frameworks'),
  /// so that they are not rebuilt again and again while a storm launches.
  void expect_tasks(size_t tasks);

  uint64_t tasks_launched() const { return launched_; }
  uint64_t tasks_terminal() const { return terminal_; }
  caf::timespan first_accept{-1};
  caf::timespan last_running{0};
  std::chrono::steady_clock::time_point first_accept_wall, last_running_wall;
  /// The master sent `tasks` tasks to an agent to run.
  void placed(int tasks);
  uint64_t tasks_placed = 0;
  std::chrono::steady_clock::time_point last_placed_wall;

private:
  struct offer_rec {
    int framework;
    int agent;
    double cpus, mem;
    std::string role; // allocated to
  };
  struct amounts {
    double cpus = 0, mem = 0;
  };
  struct task_container {
    int framework = -1; // node, if known
    std::string task;
    std::string role; // the role its resources were allocated to
    amounts used;
  };
  struct agent_rec {
    double offered_cpus = 0, offered_mem = 0;
    double used_cpus = 0, used_mem = 0;
    // The acknowledgements it processed, by task: at most one per update
    // of the task.
    std::unordered_map<std::string, std::unordered_set<std::string>> acked;
    std::unordered_set<std::string> ended_by_agent; // tasks it sent its own
                                                    // end of
    std::map<std::string, task_container> task_containers; // by container
    bool steady = false; // joined the current master, not disturbed since
    bool joined = false; // registered with the current master
  };
  struct task_rec {
    int framework = 0;
    int terminal = -1; // a v1::TaskState once terminal
    int last_seen = -1; // the latest v1::TaskState its framework saw
    bool running = false;
    std::string role; // its resources were allocated to
  };
  struct cut {
    caf::timespan since{0};
    bool joined = false; // the master pinged it when it was cut off
    std::vector<std::pair<int, std::string>> tasks; // framework, task id
  };
  void drop_offer(const std::string& id);
  /// Reserved resources go only to their role (or its sub-roles).
  void check_reservations(int framework, const v1::Offer& offer);
  /// A role's outstanding offers and running tasks stay within its limits.
  void check_quota(int framework, const v1::Offer& offer);
  /// What `role` and its sub-roles hold: offers and the tasks running on
  /// steady agents (a lower bound of what the allocator counts).
  amounts consumption(const std::string& role, bool running = true) const;
  agent_rec& agent(int node);

  world& w_;
  std::unordered_map<std::string, offer_rec> offers_;
  std::unordered_map<int, agent_rec> agents_;
  std::unordered_map<std::string, task_rec> tasks_; // "framework/task"
  struct executor_update {
    int agent;
    std::string task;
    int state; // a v1::TaskState
  };
  std::unordered_map<std::string, executor_update> sent_by_executors_; // uuid
  // By uuid, until the framework has seen the update. Ordered: the final
  // check names the same violation first in every build.
  std::map<std::string, executor_update> handed_over_;
  std::unordered_set<std::string> seen_uuids_;     // by the frameworks
  std::unordered_set<int> removed_agents_;
  std::map<std::string, resources> quota_;            // limits by role
  std::unordered_map<std::string, int> framework_node_; // by framework id
  std::unordered_map<int, cut> cuts_;                  // by agent node
  std::unordered_map<int, caf::timespan> framework_lost_at_;
  caf::timespan master_lost_at_{-1};
  std::map<std::string, amounts> offered_by_role_;
  uint64_t launched_ = 0, terminal_ = 0;
};

/// A built-in framework's durable memory (what a real one keeps in ZooKeeper):
/// survives failovers of its driver.
struct workload_state {
  framework_spec spec;
  int node = 0;
  std::string framework_id;
  uint64_t next_task = 0;
  size_t to_launch = 0;
  struct live_task {
    int state = 0;          // the last v1::TaskState heard
    std::string agent;      // the agent id it runs on
    caf::timespan launched_at{0}; // virtual time
  };
  std::map<std::string, live_task> live; // by task id
  bool suppressed = false;
  bool done = false;
  std::mt19937_64 rng;
};

class world : public fault_source {
public:
  world(scenario sc, uint64_t seed);
  ~world() override;

  caf::actor_system& sys() { return *sys_; }
  const scenario& sc() const { return sc_; }
  uint64_t seed() const { return seed_; }

  // -- seeded decisions -----------------------------------------------------------
  uint64_t draw() { return rng_(); }
  double chance() { return std::uniform_real_distribution<double>{}(rng_); }
  caf::timespan pick(const span& s);
  /// Virtual time since the run started.
  caf::timespan elapsed() const;
  bool fire(std::string_view site) override;
  bool mutant(std::string_view name) override;

  // -- nodes ------------------------------------------------------------------------
  // Node 0 is the first master, then come the frameworks and the agents;
  // the other masters and the coordination service (with several masters)
  // come last, so that a scenario with one master numbers its nodes as
  // before.
  static constexpr int master_node = 0;
  int framework_node(size_t i) const { return 1 + static_cast<int>(i); }
  int agent_node(size_t i) const {
    return 1 + static_cast<int>(frameworks_) + static_cast<int>(i);
  }
  bool is_agent(int node) const {
    return node > static_cast<int>(frameworks_)
           && node <= static_cast<int>(frameworks_ + agent_count_);
  }
  int master_node_of(size_t i) const {
    return i == 0 ? master_node : agent_node(agent_count_) + static_cast<int>(i - 1);
  }
  bool is_master(int node) const;
  /// The node of the master acting as the leader, or -1 while none does.
  int leader_node() const;
  /// Whether `node` can reach the master: the only one (up or not), or
  /// the leader (false while none leads).
  bool reaches_master(int node) const;
  /// The coordination service's node (-1 with one master).
  int coordination_node() const { return coordination_node_; }
  size_t agent_index(int node) const {
    return static_cast<size_t>(node) - 1 - frameworks_;
  }
  std::string name(int node) const;
  /// The node an agent hostname ("agent-7") names, or -1.
  int node_of_host(const std::string& hostname) const;
  double wall_clock(int node) const; // skewed start time of a node
  double agent_total(int node, std::string_view name) const;
  /// Built-in frameworks end every task they launch (user ones may not).
  bool framework_expects_end(int node) const;
  /// Whether framework `node` is a built-in workload that is not
  /// partition-aware: TASK_LOST is the last it hears of a task.
  bool framework_takes_lost_as_final(int node) const;

  // -- several masters (coordination.cpp models the service) ---------------------------
  sim_coordination coordination() const { return coordination_; }
  /// The coordination service accepted a registry write fenced by member
  /// `fence`, while `leader` is the election's lowest member (-1: none).
  void registry_written(int node, int64_t fence, int64_t leader);
  /// The service expired the session of the master on `node`.
  void session_expired(int node);
  /// Sends a message of the coordination protocol from node `from` to node
  /// `to`: delayed as any link, in order (as over the TCP connection of a
  /// ZooKeeper session, whose order the clients rely on), and lost while a
  /// partition separates them.
  /// `after`: the sender's own time before it sends (a write's fsync).
  template <class Handle, class... Ts>
  void send_over(int from, int to, const char* what, caf::timespan after,
                 const Handle& dest, Ts&&... xs) {
    bool cut = !reachable(from, to);
    link_event(from, to, what, cut);
    if (cut)
      return;
    auto& last = arrivals_[{from, to}];
    last = std::max(last, elapsed() + after + pick(sc_.links.delay));
    caf::delayed_anon_send(dest, last - elapsed(), std::forward<Ts>(xs)...);
  }

  // -- links --------------------------------------------------------------------------
  route decide(int from, int to);
  bool reachable(int from, int to) const;
  /// A new connection from `node` to the current master.
  master_actor connect(int node);
  /// Asks a node's detector to answer once the master is reachable.
  detector_actor detector_for(int node);
  void link_event(int from, int to, const char* what, bool dropped);
  void link_down(int node);
  /// An agent got the master's answer to its re-registration.
  void agent_reregistered(int node);

  // -- what link actors report -------------------------------------------------------
  model& invariants() { return model_; }
  void fail(std::string violation);
  bool failed() const { return !violation_.empty(); }

  // -- detectors and locators (pending until their peer is back) ----------------------
  // Each promise is delivered in its own actor's turn: CAF 0.17 delivers
  // with the promise's actor's execution unit, which under the test
  // coordinator lives only during that actor's step (a promise delivered
  // from another actor's turn crashed a run).
  /// The link `node` should now use as the master (a new connection if it
  /// lost `previous`), or none while the master is down or cut off; the
  /// node's detector is then sent `ready_atom` once that may change.
  std::optional<master_actor> master_link(int node, const master_actor& previous);
  /// A tap on the link to the agent, or none while it is down; the agent's
  /// locator is then sent `ready_atom` once it is back.
  std::optional<agent_executor_actor> agent_link(int agent);

  // -- the executors a node's containerizer runs --------------------------------------
  executor_actor spawn_executor(int agent, executor_config cfg);
  containerizer_actor containerizer_of(int agent);

  // -- faults -------------------------------------------------------------------------
  void apply(size_t fault_index);
  /// Kills the agent actor and loses its disk's unsynced writes; it is
  /// restarted after `down`.
  void crash_agent(int node, caf::timespan down);
  void restart_agent(size_t i);
  void restart_master(size_t i);
  void restart_framework(size_t i);
  void heal(std::vector<int> nodes);

  /// The DRF check (fairness.cpp): samples the roles' dominant shares once
  /// a virtual second while the frameworks contend (false once they are
  /// done), and compares their averages with the weights at the end.
  /// Every virtual second while frameworks run: the DRF and quota
  /// guarantee samples the scenario asks for. False once all are done.
  bool sample();
  void sample_shares();   // fairness.cpp
  void check_fairness();
  void sample_guarantees(); // guarantees.cpp
  void check_guarantees();

  /// Keeps a weak reference, to end the actor when the world goes.
  template <class Handle>
  Handle track(Handle h) {
    if (spawned_.size() >= prune_spawned_at_ && !ending_)
      prune_spawned();
    spawned_.push_back(caf::actor_cast<caf::actor_addr>(h));
    return h;
  }
  /// Forgets the actors that ended: a weak reference keeps an ended actor's
  /// memory (CAF frees it with the last one), and a long run spawns an
  /// executor per task.
  void prune_spawned();

  /// Runs the whole scenario.
  report run(std::vector<framework_factory> user_frameworks,
             std::vector<state_check> checks, std::string replay);

private:
  struct agent_slot {
    agent_config cfg;
    sim_store disk;
    sim_containerizer containerizer;
    agent_actor actor;
    bool up = false;
    bool lost = false; // gone for good (lose_node): never restarted
    uint32_t incarnation = 0;
    bool located = false; // its locator waits for it
  };
  struct master_node_state {
    int node = 0;
    sim_store disk;       // its registry, with one master
    master_actor actor;   // the master, while it runs (with several: leads)
    caf::actor process;   // with several: its candidacy, while it runs
    sim_registry registry; // the fenced registry, while it leads
    bool up = false;       // its process runs
    uint32_t incarnation = 0;
    int64_t member = -1;   // its election member, once elected
  };

  /// One step: the next job (a seeded choice among the runnable actors) or,
  /// when nothing can run, the clock to the next timer. False if neither.
  bool step();
  /// Steps until the virtual clock reaches `until` (or nothing is left).
  void run_until(caf::timespan until);
  /// The convergence check (convergence.cpp): audits the master's view
  /// until it matches the agents' truth, or fails the run. `settled`: the
  /// frameworks are done, so every task the master counts must run too.
  void converge(bool settled);
  /// The services' state checks (convergence.cpp): made against the
  /// master's state until all agree, or the run fails.
  void check_services();
  /// The leading master's answer to operator call `type`, stepping the
  /// world until it comes (empty if it did not come before `deadline`).
  std::optional<v1::master::Response>
  master_answer(v1::master::Call::Type type, caf::timespan deadline);
  /// How the master's view differs from the truth (empty: it matches).
  std::string divergence(const v1::master::Response::GetState& st,
                         bool settled) const;

  /// Starts master `i`: with one master, the master itself on its disk;
  /// with several, its candidacy (the master starts once it is elected).
  void start_master(size_t i);
  master_config master_settings(size_t i);
  /// The candidacy of master `i` won: starts the master on the fenced
  /// registry; checks that no other master acts as leader.
  caf::actor elected(size_t i, int64_t member);
  /// Master `i`'s process ends (crashed, or its leadership is lost):
  /// restarted by its supervisor after `down`.
  void end_master(size_t i, caf::timespan down, const std::string& why);
  /// The acting leader's master (invalid while none).
  master_actor leader_actor() const;
  /// Notes a master's end or a session's expiry in the trace, and prints
  /// `line` if DCOS_SIM_WATCH_MASTERS is set.
  void watch_masters(const char* what, const std::string& line);
  /// Sets the scenario's quota through the operator API.
  void set_quota();
  /// As an operator maintaining a machine: DRAIN_AGENT on the agent of
  /// `node` (tasks' grace capped at `grace`), then REACTIVATE_AGENT once the
  /// master reports it DRAINED; each call retried until the master (which
  /// may be down or recovering) answers.
  void drain_agent(int node, caf::timespan grace);
  /// As an operator planning maintenance: the machine of `node`'s agent
  /// joins the maintenance schedule, and leaves it `window` later; each
  /// change retried until the master answers.
  void schedule_maintenance(int node, caf::timespan window);
  /// As an operator told the machine is gone: MARK_AGENT_GONE for `node`'s
  /// agent `after` from now, retried until the master answers.
  void mark_gone_later(int node, caf::timespan after);
  /// A simulated operator: `step` runs at once, and again a second after
  /// each call of its `again` (or at a retry_atom it sends itself), while
  /// the master is up, until the run is over or the actor quits.
  void spawn_operator(
    std::function<void(caf::event_based_actor*, const std::function<void()>&)>
      step);
  void start_agent(size_t i);
  void start_framework(size_t i);
  void answer_detectors();
  void schedule_faults();
  bool all_done() const;
  std::string progress() const; // of unfinished frameworks, for reports
  /// Restarts a node whose actor dies on its own (an abort), as a
  /// supervisor would.
  void monitor_node(const caf::actor& a, int node);
  void node_died(caf::actor_id id);
  std::vector<int> resolve(const std::vector<std::string>& targets);

  scenario sc_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  size_t frameworks_ = 0;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  caf::actor_clock::time_point start_;
  std::vector<caf::actor_addr> spawned_;
  size_t prune_spawned_at_ = 1024;
  bool ending_ = false; // the destructor walks spawned_
  fault_source* previous_source_ = nullptr;

  std::vector<master_node_state> masters_;
  int leader_ = -1; // the index of the master acting as leader
  size_t agent_count_ = 0;
  int coordination_node_ = -1;
  sim_coordination coordination_;
  uint64_t elections_ = 0;
  caf::timespan leader_lost_at_{-1};
  std::map<std::pair<int, int>, caf::timespan> arrivals_; // send_over's, last
  std::vector<agent_slot> agents_;
  std::vector<std::unique_ptr<workload_state>> workloads_;
  std::vector<caf::actor> framework_actors_; // drivers, by framework index
  std::vector<framework_factory> user_frameworks_;
  std::vector<state_check> state_checks_;
  std::set<int> detecting_;                  // nodes whose detector waits
  std::vector<sim_detector> detectors_;      // by node
  std::vector<sim_locator> locators_;        // by agent index
  std::unordered_map<int, master_actor> current_links_; // by node
  caf::actor watcher_;
  std::unordered_map<caf::actor_id, int> watched_;
  caf::timespan faults_end_{0};
  bool audited_after_faults_ = false;
  std::map<std::string, double> share_sums_; // by role
  uint64_t share_samples_ = 0;
  struct guarantee_sample {
    std::optional<caf::timespan> wanting_since; // its frameworks want more
    double cpus = 0, mem = 0; // sums of the sampled cover, each up to 1
    uint64_t samples = 0;
  };
  bool guarantees_set_ = false; // the master confirmed them
  std::map<std::string, guarantee_sample> guarantee_samples_; // by role
  caf::timespan master_restarted_at_{-1};
  std::chrono::steady_clock::time_point master_restarted_wall_;
  std::unordered_set<int> reregistered_;
  // By actor id (ids count up from 1): the node of each agent actor, -1
  // for any other. It reaches the newest agent actor's id (a restarted
  // agent's is late), at 4 bytes per actor spawned before it.
  std::vector<int> agent_of_actor_;
  std::vector<uint32_t> island_;              // partitions: by node
  uint32_t next_island_ = 1;
  std::vector<fault_event> schedule_;
  std::vector<double> skew_;                  // seconds, by node
  caf::actor director_;

  model model_{*this};
  std::string violation_;
  struct trace_rec {
    caf::timespan at;
    int from, to;
    const char* what;
    bool dropped;
  };
  std::deque<trace_rec> trace_;
  uint64_t hash_ = 1469598103934665603ull;
  stats stats_;
  bool done_ = false;
};

/// The one simulation running on this thread (links and the kernel's fault
/// points reach it through here).
world* current();

// -- spawn functions of the parts -------------------------------------------------------
sim_store spawn_disk(world& w, int node);
sim_containerizer spawn_containerizer(world& w, int agent);
caf::actor spawn_workload_framework(world& w, workload_state& st);

/// A connection between `node` and `master` (see links.cpp).
master_actor spawn_connection(world& w, int node, int master_node,
                              master_actor master);

sim_coordination spawn_coordination(world& w);
/// A master's client of the coordination service (its session and
/// candidacy); `timeout` is the session's.
sim_election spawn_election_client(world& w, int node, caf::timespan timeout);
/// A leader's registry in the coordination service, writes fenced by its
/// election member `fence`.
sim_registry spawn_registry_client(world& w, int node, int64_t fence);

/// What an executor on `agent` holds as its agent: a tap that shows the
/// model the link's traffic (see executor_links.cpp).
agent_executor_actor spawn_agent_tap(world& w, int agent,
                                     agent_executor_actor target);

} // namespace dcos::sim::detail
