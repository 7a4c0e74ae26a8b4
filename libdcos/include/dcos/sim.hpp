// Deterministic cluster simulation: the real master, agents and executors
// (and your own schedulers) in one process, on CAF's deterministic
// scheduler, with a virtual clock and seeded faults.
//
//   auto sc = dcos::sim::load_scenario("launch_storm.yaml");
//   dcos::sim::simulation sim{*sc, /*seed=*/42};
//   sim.add_framework([](caf::actor_system& sys, dcos::detector_actor d) {
//     return my_scheduler::spawn(sys, d);  // uses spawn_scheduler_driver
//   });
//   auto r = sim.run();
//   if (!r.passed) std::puts(r.violation.c_str());   // and r.replay
//
// A run is a function of (scenario, seed): which runnable actor goes next,
// every timer, every fault decision and every id the kernel makes come from
// the seed, and the run ends with the same trace hash every time.
//
// The seams (nothing else of the kernel is replaced):
//  - the containerizer: executors are the real executor actors; the processes
//    they run are modelled from their command line (see below);
//  - the disk: each node's store is an in-memory disk with write latency,
//    failed writes and, on a crash, loss of writes not yet durable;
//  - the links: every handle one node holds to another goes through a link
//    actor that drops, delays, duplicates and reorders messages, and
//    partitions sets of nodes;
//  - the clock: CAF's test clock; each node's wall clock may be skewed.
//
// Modelled commands (a task's shell command, whitespace-separated words):
//   sleep <seconds>   run that long, then exit (default: run until killed)
//   exit <code>       the exit code (default 0)
//   oom               exceed the memory limit once started
//   hang              ignore SIGTERM (killed after the grace period)
//
// Thread-safety: a simulation runs on the thread that calls run(); one
// simulation per thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>

#include <dcos/detector_actor.hpp>
#include <dcos/resources.hpp>
#include <dcos/v1/master.pb.h>

namespace dcos::sim {

/// A uniformly drawn duration in [min, max].
struct span {
  caf::timespan min{0};
  caf::timespan max{0};
};

struct agent_group {
  size_t count = 1;
  resources total;          // cpus, mem, disk, ports of each agent
  std::string zone;         // fault domain (region "sim", this zone)
};

/// A built-in framework that runs a workload (a scenario can also rely on
/// frameworks added with simulation::add_framework).
struct framework_spec {
  std::string name = "workload";
  std::string role = "*";
  double weight = 1;
  size_t tasks = 0;               // launched in total
  resources task_resources;       // each
  span task_duration;             // zero: runs until killed
  double task_failure = 0;        // chance a task exits 1
  double task_oom = 0;            // chance a task exceeds its memory
  /// Tasks per default-executor task group; 0 runs each task under its
  /// own command executor.
  size_t group_size = 0;
  caf::timespan start_at{0};
  /// Launch a replacement when a task fails or is lost (as Marathon does).
  bool relaunch = false;
  /// Kill every task still running at this time (0: never).
  caf::timespan kill_at{0};
  /// A VIP every task declares (DC/OS' "/name:port" or "IP:port"): the
  /// VIP_0 label of the one port of its DiscoveryInfo. Empty: none.
  std::string vip;
  /// Declares PARTITION_AWARE. Without it the framework hears TASK_LOST
  /// for the tasks of an unreachable agent, and nothing more of them: the
  /// master kills them when the agent returns, as Mesos does.
  bool partition_aware = true;
};

struct link_faults {
  /// Chance one message is lost. As over TCP, the connection it travels on
  /// breaks with it: both ends see the other go down and reconnect.
  double drop = 0;
  double duplicate = 0;     // chance one message arrives twice
  span delay;               // latency added to every message
  bool reorder = false;     // FIFO per link unless set
};

/// A fault at a chosen time. `targets` name nodes: "master",
/// "agent-<i>", "framework-<i>", or "agents:<from>-<to>".
struct fault_event {
  enum class kind {
    crash_agent,      // the agent actor dies; restarted after `duration`
    crash_executors,  // every executor on the targets dies
    /// The whole machine dies at once: the agent, every executor and task
    /// on it, and its disk's writes not yet durable; it boots again after
    /// `duration` (the agent recovers from what the disk kept).
    crash_node,
    /// The machine dies as for crash_node and never comes back (its
    /// hardware is gone): the master finds it unreachable, and the
    /// convergence check leaves it out. After `duration` (never if 0) the
    /// operator marks it gone (MARK_AGENT_GONE): its tasks end as
    /// TASK_GONE_BY_OPERATOR. (The operator finds its id by hostname as the
    /// fault happens, while the master still lists it.)
    lose_node,
    crash_master,     // restarted (from its registry) after `duration`
    crash_framework,  // its driver dies; a new one fails over after `duration`
    partition,        // targets are cut off from everyone else for `duration`
    /// The operator drains the target agents (DRAIN_AGENT, each task's
    /// grace period capped at `duration`, or 1 s) and reactivates each
    /// once the master reports it DRAINED, as for a maintenance.
    drain_agent,
    /// The operator schedules a maintenance window for the target agents'
    /// machines (UPDATE_MAINTENANCE_SCHEDULE): the frameworks there get
    /// inverse offers, which the simulated ones accept. The machines leave
    /// the schedule again after `duration` (or 20 s).
    maintenance,
  };
  kind what = kind::crash_agent;
  caf::timespan at{0};
  std::vector<std::string> targets;
  caf::timespan duration{0};
};

/// Faults drawn from the seed within [faults_from, faults_until].
struct random_faults {
  size_t agent_crashes = 0;
  size_t executor_crashes = 0;
  size_t node_crashes = 0;
  /// Machines gone for good (lose_node), each marked gone by the operator
  /// after a `down_time`.
  size_t node_losses = 0;
  size_t partitions = 0;          // each cuts off a few agents
  size_t master_crashes = 0;
  size_t framework_crashes = 0;
  size_t agent_drains = 0;        // each drains one agent, then reactivates it
  size_t maintenance_windows = 0; // each schedules one agent's machine
  span down_time{std::chrono::seconds(5), std::chrono::seconds(30)};
  span partition_time{std::chrono::seconds(10), std::chrono::seconds(120)};
};

struct disk_model {
  span write_latency{std::chrono::microseconds(200),
                     std::chrono::milliseconds(5)};
  double write_failure = 0;       // chance a write fails (the agent aborts)
  /// On a crash, writes not yet durable are lost (true) or kept.
  bool lose_unsynced = true;
};

struct scenario {
  std::string name = "unnamed";
  std::string description;
  std::vector<agent_group> agents;
  std::vector<framework_spec> frameworks;
  link_faults links;
  /// Latency of every message between an agent and its executors. Their
  /// link is a local socket: FIFO, and never loses a message on its own
  /// (it breaks when the agent or the executor dies).
  span executor_link_delay;
  std::vector<fault_event> faults;
  random_faults random;
  disk_model disk;
  /// The DRF check (0: off): while every built-in framework still has
  /// tasks to launch, each role's dominant share of the tasks that run,
  /// sampled every virtual second and averaged, must be within this of its
  /// weight's part of all weights (identical demands contend by weight).
  double fairness = 0;
  /// Quota limits by role, set with the operator API (UPDATE_QUOTA) as the
  /// run starts; the master keeps them in its registry across restarts.
  std::map<std::string, resources> quota;
  /// Quota guarantees by role, set with the same UPDATE_QUOTA. The check:
  /// once a guaranteed role's built-in frameworks have wanted more than
  /// they held for `guarantee_within` (they have tasks left to launch),
  /// what the role holds (outstanding offers and running tasks) is sampled
  /// every virtual second until they have launched everything; on average
  /// it must cover at least 90% of the guarantee, kind by kind. Other roles'
  /// running tasks are never preempted, so the time must allow theirs to
  /// end.
  std::map<std::string, resources> guarantees;
  caf::timespan guarantee_within{std::chrono::minutes(1)};
  caf::timespan clock_skew{0};    // each node's wall clock off by up to this
  double buggify = 0;             // chance an enabled fault point fires
  caf::timespan faults_from{std::chrono::seconds(5)};
  caf::timespan faults_until{std::chrono::minutes(5)};
  /// The run ends once every framework is done and faults are over, or at
  /// this virtual time (a violation if frameworks are not done).
  caf::timespan time_limit{std::chrono::hours(1)};
  /// Once the frameworks are done and faults are over, the master's view
  /// must match the agents' truth within this virtual time: every agent
  /// registered and active, and on each the tasks the master counts as live
  /// are exactly those whose containers run there (none unreachable).
  caf::timespan converge_within{std::chrono::minutes(3)};
  /// Master timing (smaller than Mesos' defaults keeps runs short).
  caf::timespan agent_ping_timeout{std::chrono::seconds(15)};
  uint32_t max_agent_ping_timeouts = 5;
  caf::timespan allocation_interval{std::chrono::seconds(1)};
  /// Masters. With more than one, they contend in an election on a
  /// simulated coordination service (a modelled ZooKeeper: sessions,
  /// ephemeral sequential members, watches, fenced writes) as dcos-master
  /// --zk does, and the registry lives there. Fault targets then include
  /// "leader" (whichever master leads at the time; "master" means the
  /// same), "master-<i>", "masters" and "zk" (the coordination service).
  size_t masters = 1;
  /// The masters' session timeout with the coordination service.
  caf::timespan zk_session_timeout{std::chrono::seconds(10)};
  /// A known kernel fault to switch on (see dcos/buggify.hpp): proves the
  /// invariants catch it.
  std::string mutation;
};

/// No error if `name` is empty or one of dcos::known_mutants(); otherwise an
/// invalid_argument error that lists the known ones.
caf::error check_mutation(std::string_view name);

/// Parses a scenario from YAML (fields as in `scenario`, durations as
/// "250ms", "30s", "5m"); errors name the offending field.
caf::expected<scenario> parse_scenario(const std::string& yaml);
caf::expected<scenario> load_scenario(const std::string& path);

struct stats {
  uint64_t steps = 0;             // messages processed
  uint64_t link_messages = 0;     // messages between nodes
  uint64_t dropped = 0;
  uint64_t faults = 0;            // crashes, partitions
  uint64_t tasks_launched = 0;    // as seen at the master (ACCEPTs)
  uint64_t tasks_finished = 0;    // terminal states seen by frameworks
  caf::timespan virtual_time{0};
  caf::timespan launch_phase{0};  // virtual: first ACCEPT to last task running
  double launch_wall_seconds = 0; // the same in wall-clock time
  /// Placements: tasks the master sent to an agent to run (RunTask and
  /// RunTaskGroup), and the wall-clock time from the first ACCEPT to the
  /// last of them. This is the scheduling decision alone, as Nomad and the
  /// Kubernetes scheduler count "placed"; the rest of the cluster keeps
  /// running meanwhile, so the time includes its work too.
  uint64_t tasks_placed = 0;
  double placement_wall_seconds = 0;
  /// With several masters, after the last loss of a leader: until the next
  /// master was elected and serves.
  caf::timespan failover_election{0};
  /// After the last master restart (or election of a new leader): until
  /// every agent re-registered.
  caf::timespan failover_reregistration{0};
  double failover_wall_seconds = 0;
  /// With state checks: the longest virtual time from the master's view
  /// converging to every check agreeing with it.
  caf::timespan services_agreed{0};
  double wall_seconds = 0;
};

struct report {
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  bool passed = false;
  std::string violation;          // the first one, empty if passed
  std::vector<std::string> trace; // the last events before it
  std::string replay;             // the command that replays this run
  struct stats stats;
};

/// Starts your framework: spawn a framework actor and its driver with
/// spawn_scheduler_driver(sys, ..., detector) and answer the driver.
using framework_factory =
  std::function<caf::actor(caf::actor_system&, detector_actor)>;

/// A service's check of its own view of the cluster (its DNS records, its
/// virtual IPs) against the leading master's: given the master's answers to
/// GET_STATE and GET_MASTER, "" when the service agrees, else what differs.
using state_check = std::function<std::string(
  const v1::master::Response::GetState&, const v1::MasterInfo&)>;

class simulation {
public:
  /// REQUIRES: no other simulation runs on this thread.
  simulation(scenario sc, uint64_t seed);
  ~simulation();
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  /// Adds a framework that runs in the simulation (before run()). A
  /// service that only follows the master (a cluster view, e.g. Mesos-DNS')
  /// is added the same way: its detector hands it its own link to the
  /// master, which carries the operator event stream with the scenario's
  /// faults.
  void add_framework(framework_factory factory);

  /// Adds a check (before run()), made once the faults are over and again
  /// when the frameworks are done, each time after the master's view has
  /// converged. While a check disagrees, the cluster runs on
  /// (the service may be an event behind, or waiting to subscribe again)
  /// and every check is made again each 100 ms of virtual time, against the
  /// master's state then, until all agree (stats::services_agreed says
  /// when) or `converge_within` has passed: the run then fails with what
  /// the failing check said.
  void add_state_check(state_check check);

  /// The command line that replays this run (printed on failure).
  void set_replay_hint(std::string scenario_path);

  /// Runs to the end; at most once.
  report run();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace dcos::sim
