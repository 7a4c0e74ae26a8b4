// The master's in-memory model of the cluster and the operations on it.
//
// The behavior (master.cpp) decodes messages and calls member functions
// here; each file of this directory implements one area: frameworks.cpp,
// offers.cpp, tasks.cpp, agents.cpp, agent_admin.cpp (the operator's
// deactivation, draining and marking gone of agents), maintenance.cpp (the
// maintenance schedule and machines going down), inverse_offers.cpp (asking
// frameworks to leave machines scheduled for maintenance), operations.cpp
// (operation feedback), operator_api.cpp,
// events.cpp (the operator event stream), registrar.cpp.
//
// Records are compact C++ structs (converted to protobuf only at the edges):
// the master tracks every task of the cluster, so a task costs what it must
// and no more (see bench/master_memory_bench.cpp).
//
// Thread-safety: owned by the master actor; no locks.
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

#include "dcos/allocator_actor.hpp"
#include "dcos/logging.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/metrics.hpp"
#include "dcos/resources.hpp"
#include "dcos/task_state.hpp"
#include "dcos/wire_types.hpp"
#include "master_id.hpp"

namespace dcos::kernel {

// -- the master's full interface: public calls plus internal triggers -----------

using inverse_atom = caf::atom_constant<caf::atom("inverse")>;

using master_impl = master_actor::extend<
  caf::reacts_to<alloc::offer_batch>,
  // Ping an agent (agent id, generation of its ping loop).
  caf::reacts_to<ping_atom, std::string, uint64_t>,
  // A framework's failover timeout (framework id, generation).
  caf::reacts_to<timeout_atom, std::string, uint64_t>,
  // Heartbeats to frameworks.
  caf::reacts_to<tick_atom>,
  // Agents that did not re-register after a master restart.
  caf::reacts_to<timeout_atom>,
  // SET_LOGGING_LEVEL's duration is over (generation).
  caf::reacts_to<logging_atom, uint64_t>,
  // Time to send inverse offers (one allocation interval passed).
  caf::reacts_to<inverse_atom>>;

struct master_state;
using master_self = master_impl::stateful_pointer<master_state>;

// -- records ------------------------------------------------------------------------


struct task_record {
  std::string id;
  std::string name;
  std::string framework_id;
  std::string agent_id;
  std::string executor_id; // empty: the command executor
  v1::TaskState state = v1::TASK_STAGING;
  // The state operator event subscribers were last told (TASK_ADDED or
  // TASK_UPDATED): a change of state with no new status (an update's
  // latest_state, an agent's report) is an event too.
  v1::TaskState published_state = v1::TASK_STAGING;
  resources used;                // allocated form
  v1::TaskStatus last_status;    // latest status seen (data stripped)
  // The update forwarded to the framework and not yet acknowledged.
  std::string unacked_uuid;
  v1::TaskState unacked_state = v1::TASK_STAGING;
  // Labels, discovery, container, health check, kill policy: only kept when
  // the task has any (state endpoints and service discovery read them).
  std::shared_ptr<const v1::TaskInfo> details;

  /// The protobuf form for the operator API.
  v1::Task to_proto() const;
};

struct offer_record {
  std::string framework_id;
  std::string agent_id;
  resources amount; // allocated form
};


// What an ACCEPT took out of its offers (offers.cpp).
struct accepted_offers {
  std::string agent_id; // of the first valid offer; empty if none
  resources remaining;  // of the offers on that agent, not yet used
  std::string error;    // why the ACCEPT is invalid; empty if it is not
};

struct framework_record {
  v1::FrameworkInfo info; // id set
  scheduler_actor handle;
  bool connected = false;
  bool active = false;  // connected and not being torn down
  bool recovered = false; // from the registry or agents; not re-subscribed
  double registered_time = 0;
  double reregistered_time = 0;
  // When it lost its scheduler; its failover timeout runs from here.
  double unregistered_time = 0;
  uint64_t failover_generation = 0;
  std::vector<std::string> roles;
  std::set<std::string> suppressed_roles;
  bool partition_aware = false;
  bool killing_state = false;
  std::unordered_map<std::string, task_record> tasks; // includes unreachable
  std::deque<task_record> completed_tasks;
  // Launches refused before they reached an agent (bounded like
  // completed_tasks): reconciliation answers with the end the framework
  // was told.
  std::deque<task_record> refused_launches;
  std::unordered_set<std::string> offers;

  bool has_capability(v1::FrameworkInfo::Capability::Type type) const;
  /// Takes `new_info` (validated, its roles filled in) and the suppressed
  /// roles, and what follows from them.
  void set_info(v1::FrameworkInfo new_info,
                const std::vector<std::string>& suppressed);
};

struct executor_key {
  std::string framework_id;
  std::string executor_id;
  friend bool operator<(const executor_key& a, const executor_key& b) {
    return std::tie(a.framework_id, a.executor_id)
           < std::tie(b.framework_id, b.executor_id);
  }
};

struct agent_record {
  v1::AgentInfo info; // id set
  std::string ip;     // where it serves, if it said (else its hostname)
  agent_actor handle;
  std::string version;
  resources total; // with reservations and volumes
  std::unordered_map<std::string, resources> used; // by framework
  std::unordered_set<std::string> offers;
  // Walk it through tasks_in_order(): its own order is by address, which
  // differs between runs of a seed.
  std::unordered_set<task_record*> tasks;
  std::map<executor_key, v1::ExecutorInfo> executors;
  // Running tasks of frameworks that are not partition-aware, told LOST
  // while the agent was unreachable (final for them) and killed with their
  // executors since it came back: what they hold stays used (in `used`)
  // until the agent reports their end, and no update of theirs reaches the
  // framework. By (framework id, task id). Not persisted: after a master
  // failover the agent re-registers as recovered, and such a task is
  // adopted like any other.
  std::map<std::pair<std::string, std::string>, resources> lost_tasks;
  bool connected = true;
  bool active = true; // offered: connected and not deactivated
  double drain_started = 0; // when it was told to drain; 0: it was not
  uint32_t missed_pings = 0;
  uint64_t ping_generation = 0;
  caf::actor_clock::time_point last_ping{};
  double registered_time = 0;
  double reregistered_time = 0;

  /// Its tasks ordered by (framework, task id): the updates sent for them
  /// go out in the same order in every run of a seed. A copy, so that the
  /// walk may end tasks.
  std::vector<task_record*> tasks_in_order() const;
  resources offered(const std::unordered_map<std::string, offer_record>&
                      offers) const;
  resources used_total() const;
};

// A machine of the maintenance schedule (maintenance.cpp).
struct machine_record {
  v1::MachineID id;
  v1::Unavailability unavailability;
  bool down = false; // DOWN (START_MAINTENANCE); else DRAINING
};

// An inverse offer sent and not yet answered (inverse_offers.cpp).
struct inverse_offer_record {
  std::string framework_id;
  std::string agent_id;
};

// The frameworks' part in an agent's maintenance (inverse_offers.cpp), by
// framework id; forgotten when the agent's unavailability changes.
struct agent_maintenance_record {
  std::map<std::string, std::string> outstanding; // inverse offer id
  std::map<std::string, v1::master::InverseOfferStatus> statuses; // answers
  std::map<std::string, caf::actor_clock::time_point> filtered_until;
};

/// The role resources of an offer are allocated to (offers.cpp).
std::string role_of(const resources& rs);

/// The key of a machine in master_state::machines.
std::string machine_key(const v1::MachineID& id);

struct unreachable_agent {
  v1::AgentInfo info;
  double since = 0;
};

struct master_metrics {
  // Terminal task counts since start, by state.
  std::map<v1::TaskState, uint64_t> tasks_terminal;
  uint64_t valid_status_updates = 0;
  uint64_t invalid_status_updates = 0;
  uint64_t frameworks_removed = 0;
  uint64_t agents_registered = 0;
  uint64_t agents_reregistered = 0;
  uint64_t agents_unreachable = 0;
  uint64_t agents_removed = 0;
  uint64_t offers_sent = 0;
  uint64_t offers_declined = 0;
  uint64_t offers_accepted = 0;
  uint64_t offers_rescinded = 0;
  uint64_t tasks_launched = 0;
  uint64_t invalid_launches = 0;
};



// -- the state --------------------------------------------------------------------------

struct master_state {
  static inline const char* name = "dcos.master";

  master_self self = nullptr;
  master_config cfg;
  allocator_actor allocator;
  std::shared_ptr<spdlog::logger> log;
  std::mt19937_64 rng;
  std::string master_id;
  caf::actor_clock::time_point started_at;
  bool recovered = false; // registry read back (or none to read)
  double recovered_at = 0; // wall seconds; agents re-register from here
  uint64_t next_framework = 0;
  uint64_t next_agent = 0;
  uint64_t next_offer = 0;

  std::unordered_map<std::string, framework_record> frameworks;
  std::deque<framework_record> completed_frameworks;
  std::unordered_map<std::string, agent_record> agents;
  std::unordered_map<std::string, unreachable_agent> unreachable;
  std::unordered_set<std::string> gone_agents; // removed for good
  // Being marked gone: in gone_agents, the registry write in flight.
  std::unordered_set<std::string> marking_gone;
  // By agent id, whatever the agent's state; both in the registry.
  std::unordered_set<std::string> deactivated_agents;
  std::unordered_map<std::string, v1::DrainInfo> draining_agents;
  // The maintenance schedule and its machines, by machine_key().
  v1::master::MaintenanceSchedule maintenance_schedule;
  std::map<std::string, machine_record> machines;
  std::unordered_map<std::string, inverse_offer_record> inverse_offers;
  std::unordered_map<std::string, agent_maintenance_record> agent_maintenance;
  bool inverse_offer_timer = false; // an inverse_atom is on its way
  // Mesos' verbosity set by SET_LOGGING_LEVEL, and the generation of its
  // revert timer.
  logging::verbosity_lease verbosity; // SET_LOGGING_LEVEL's
  // Admitted in the registry of an earlier run and not yet re-registered.
  std::unordered_map<std::string, v1::AgentInfo> recovering_agents;
  std::unordered_map<std::string, offer_record> offers;
  // Operations asking for feedback, by operation uuid, until their
  // framework acknowledged a terminal status or their agent was removed
  // (operations.cpp). Ordered:
  // reconciliation answers in the same order in every run of a seed.
  std::map<std::string, v1::Operation> operations;
  // Statuses acknowledged (or whose framework is gone) after the master
  // forgot their operation, by operation uuid: the agent's copies sent
  // again before it heard are acknowledged again, not forwarded. The
  // oldest are dropped past a bound.
  std::map<std::string, std::string> acknowledged_operations;
  std::deque<std::string> acknowledged_order;
  // Who is who among monitored peers (schedulers and agents).
  std::unordered_map<caf::actor_addr, std::string> framework_by_addr;
  std::unordered_map<caf::actor_addr, std::string> agent_by_addr;
  // "hostname:port" -> agent id: a new agent at a disconnected one's
  // address replaces it.
  std::unordered_map<std::string, std::string> agent_by_endpoint;
  std::map<std::string, double> weights;
  std::map<std::string, v1::master::QuotaConfig> quotas;
  master_metrics metrics;
  // Followers of the operator event stream (monitored), in the order they
  // came in: events go out in that order in every run of a seed, and the
  // oldest go first when there are too many. Few enough to find by a walk.
  std::map<uint64_t, master_subscriber_actor> subscribers;
  uint64_t next_subscriber = 0;
  std::map<uint64_t, master_subscriber_actor>::iterator
  find_subscriber(const caf::actor_addr& addr);

  // Registry writes are batched: one in flight, the rest coalesced, and the
  // callbacks of a batch run once it is durable.
  bool registry_write_in_flight = false;
  std::vector<std::function<void()>> registry_waiting;  // next batch
  std::vector<std::function<void()>> registry_writing;  // in flight

  // -- master.cpp: identity, time, ids, events --------------------------------------
  void init(master_self s, master_config config);
  double now() const; // wall-clock seconds (derived from the actor clock)
  v1::MasterInfo master_info() const;
  std::string new_id(std::string_view prefix, uint64_t& counter);
  void send_update(framework_record& fw, v1::TaskStatus status);
  void send_error(const std::string& framework_id, const std::string& message);
  void on_down(const caf::down_msg& msg);

  // -- frameworks.cpp ----------------------------------------------------------------
  caf::result<call::Event::Subscribed>
  subscribe(const scheduler_actor& handle, const call::Call::Subscribe& call);
  void disconnect_framework(const std::string& id);
  /// Removes `fw` at the end of its failover timeout, counted from its
  /// unregistered_time; a recovered framework not before the agents' time
  /// to re-register is over (they may still report its tasks).
  void start_failover_timeout(framework_record& fw);
  void failover_expired(const std::string& id, uint64_t generation);
  void remove_framework(const std::string& id, const std::string& why);
  void suppress(const std::string& id, const call::Call::Suppress& call);
  void revive(const std::string& id, const call::Call::Revive& call);
  /// UPDATE_FRAMEWORK: the new info and suppressed roles, validated as at
  /// SUBSCRIBE (and the id, user, principal and checkpointing unchanged).
  caf::result<v1::FrameworkInfo>
  update_framework(const std::string& id,
                   const call::Call::UpdateFramework& call);
  void request(const std::string& id, const call::Call::Request& call);
  void heartbeat_frameworks();
  framework_record* find_framework(const std::string& id,
                                   std::string_view call_name);

  // -- offers.cpp ---------------------------------------------------------------------
  void make_offers(alloc::offer_batch batch);
  // Takes the offers, applies the operations in order, launches, and gives
  // back what is left. Takes `call` apart: its task infos move on to the
  // agent.
  void accept(const std::string& framework_id, call::Call::Accept call);
  // Takes `call`'s offers out, whatever happens next. Offers on another
  // agent than the first go straight back; any problem is in `error`.
  accepted_offers take_offers(framework_record& fw,
                              const call::Call::Accept& call);
  // An invalid ACCEPT: what it took goes back, and each task it tried to
  // launch ends dropped (or lost, for a framework not partition-aware).
  void refuse_accept(framework_record& fw, const call::Call::Accept& call,
                     accepted_offers taken,
                     std::optional<caf::timespan> refuse);
  // RESERVE, UNRESERVE, CREATE or DESTROY on the taken resources: dropped
  // (logged) if invalid or not within them.
  // `op`: the operation, when it asks for feedback (an id).
  void convert_offered(framework_record& fw, agent_record& agent,
                       accepted_offers& taken,
                       caf::expected<struct conversion> conv,
                       std::string_view what,
                       const v1::Offer::Operation* op = nullptr);
  // LAUNCH: each valid task is booked and sent to the agent, each invalid
  // one refused; LAUNCH_GROUP: all of the group, or none of it.
  void launch_tasks(framework_record& fw, agent_record& agent,
                    resources& remaining, const std::string& role,
                    v1::Offer::Operation::Launch& op);
  void launch_group(framework_record& fw, agent_record& agent,
                    resources& remaining, const std::string& role,
                    v1::Offer::Operation::LaunchGroup& op);
  void decline(const std::string& framework_id, const call::Call::Decline& call);
  void rescind(const std::string& offer_id, bool recover_resources);
  void rescind_agent_offers(agent_record& agent);
  void rescind_framework_offers(framework_record& fw);
  /// Sends the agent its total; `feedback`: the operations this applies
  /// that ask for feedback (track_operation()).
  void checkpoint_resources(agent_record& agent,
                            std::vector<v1::Operation> feedback = {});

  // -- tasks.cpp ------------------------------------------------------------------------
  // Records `task` (run by `executor`, null for a command task) as staging
  // on `agent`, with its executor if the plan says it is new, and takes
  // what they use out of `remaining`.
  // REQUIRES: `plan` is `task`'s validated plan (validation.hpp).
  void launch_task(framework_record& fw, agent_record& agent,
                   const v1::TaskInfo& task, const v1::ExecutorInfo* executor,
                   struct launch_plan plan, resources& remaining);
  // Ends a launch that fails before it reaches an agent: tells the
  // framework `state` and remembers it for reconciliation.
  void refuse_launch(framework_record& fw, const std::string& task_id,
                     const std::string& agent_id, v1::TaskState state,
                     v1::TaskStatus::Reason reason,
                     const std::string& message);
  void status_update(const v1::internal::StatusUpdate& update);
  // Whether the task `status` is about has ended in the master's view (`t`:
  // its entry in `fw.tasks`, or the end); a task completed and forgotten
  // counts if `fw.completed_tasks` still holds it.
  bool ended_here(const framework_record& fw,
                  std::unordered_map<std::string, task_record>::const_iterator t,
                  const v1::TaskStatus& status) const;
  // Whether the terminal `status` would be a second end: the task was
  // completed with another end (one the master made, such as TASK_LOST, or
  // the agent's under another uuid). A retry of the same end is not.
  bool ended_otherwise(
    const framework_record& fw,
    std::unordered_map<std::string, task_record>::const_iterator t,
    const v1::TaskStatus& status) const;
  // A non-terminal update of a task that ended: the framework may have been
  // told the end (by reconciliation, which answers with the task's latest
  // state), so it must not hear the task is alive again; nor may it hear a
  // second end. Not forwarded, and acknowledged to the agent in the
  // framework's stead. (The simulation found TASK_RUNNING retried after
  // reconciliation had said TASK_FINISHED, and a task's TASK_FINISHED
  // reaching a framework that was not partition-aware after its
  // TASK_LOST.)
  void drop_stale_update(const v1::internal::StatusUpdate& update);
  void kill(const std::string& framework_id, const call::Call::Kill& call);
  void acknowledge(const std::string& framework_id,
                   const call::Call::Acknowledge& call);
  void reconcile(const std::string& framework_id,
                 const call::Call::Reconcile& call);
  void shutdown_executor(const std::string& framework_id,
                         const call::Call::Shutdown& call);
  void framework_message(const std::string& framework_id,
                         const call::Call::Message& call);
  void executor_message(const v1::internal::ExecutorToFramework& msg);
  void executor_exited(const v1::internal::ExitedExecutor& msg);
  // Forgets an executor of `agent` and frees what it held (nothing if the
  // master does not know it).
  void release_executor(agent_record& agent, const executor_key& key);
  v1::TaskStatus master_status(const task_record& task, v1::TaskState state,
                               v1::TaskStatus::Reason reason,
                               const std::string& message) const;
  void task_terminated(task_record& task); // recover its resources
  // Kills a task of agent.lost_tasks, and shuts its executor down.
  void kill_lost_task(const agent_record& agent, const v1::Task& task);
  // Gives back what a task of agent.lost_tasks held, and forgets it.
  void release_lost_task(agent_record& agent, const std::string& framework_id,
                         const std::string& task_id);
  void complete_task(framework_record& fw, const std::string& task_id);
  void count_terminal(v1::TaskState state);

  // -- agents.cpp -----------------------------------------------------------------------
  caf::result<v1::internal::AgentRegistered>
  register_agent(const agent_actor& handle,
                 const v1::internal::RegisterAgent& msg);
  caf::result<v1::internal::AgentRegistered>
  reregister_agent(const agent_actor& handle,
                   const v1::internal::ReregisterAgent& msg);
  void ping_agent(const std::string& agent_id, uint64_t generation);
  void agent_disconnected(const std::string& agent_id);
  void mark_unreachable(const std::string& agent_id, const std::string& why);
  void unregister_agent(const std::string& agent_id);
  void reregister_timeout();
  v1::internal::AgentRegistered registered_reply(const std::string& agent_id);
  void start_pinging(agent_record& agent);
  static std::string endpoint_of(const v1::AgentInfo& info);
  /// Tells the allocator about a (re-)registering agent, inactive.
  void admit(agent_record& agent,
             std::vector<std::pair<std::string, resources>> used);
  /// The admission is durable: answers the agent, then lets its resources
  /// be offered.
  void admitted(const std::string& agent_id,
                caf::typed_response_promise<v1::internal::AgentRegistered>& rp);
  void remove_agent(const std::string& agent_id, v1::TaskState aware_state,
                    const std::string& why,
                    v1::TaskStatus::Reason reason
                    = v1::TaskStatus::REASON_AGENT_REMOVED);
  // Adopts what a re-registering agent reports it runs.
  void adopt_tasks(agent_record& agent,
                   const v1::internal::ReregisterAgent& msg,
                   bool kill_lost_tasks);
  /// An agent back from unreachable: its tasks still unreachable here that
  /// it did not report become TASK_GONE.
  void forget_unreported_tasks(const std::string& agent_id,
                               const v1::internal::ReregisterAgent& msg);
  /// A framework known from the registry or from an agent's report, until
  /// it re-subscribes: inactive, its failover timeout running since
  /// `disconnected_at` (wall seconds), or since now when it had a scheduler
  /// when the last leader went. Returns the record if it already exists.
  framework_record& framework_placeholder(
    const std::string& id, const v1::FrameworkInfo* info,
    std::optional<double> disconnected_at = std::nullopt);
  /// Whether `id` was removed (it is among the completed frameworks).
  bool framework_removed_before(const std::string& id) const;

  // -- agent_admin.cpp -----------------------------------------------------------------
  /// Registered, unreachable, or admitted by an earlier master and not yet
  /// back.
  bool known_agent(const std::string& agent_id) const;
  /// Whether the agent's resources may be offered: connected, and not
  /// deactivated by the operator.
  bool offerable(const agent_record& agent) const;
  /// No more offers of `agent`; its outstanding ones are rescinded.
  void deactivate(agent_record& agent);
  caf::result<v1::master::Response>
  deactivate_agent(const v1::master::Call::DeactivateAgent& call);
  caf::result<v1::master::Response>
  reactivate_agent(const v1::master::Call::ReactivateAgent& call);
  caf::result<v1::master::Response>
  drain_agent(const v1::master::Call::DrainAgent& call);
  /// Tells a registered agent that is DRAINING to drain (again, after it
  /// re-registered).
  void start_draining(agent_record& agent);
  /// A DRAINING agent without tasks (all ended, their ends acknowledged)
  /// becomes DRAINED, or gone with mark_gone.
  void check_drained(const std::string& agent_id);
  caf::result<v1::master::Response>
  mark_agent_gone(const v1::master::Call::MarkAgentGone& call);
  /// The agent's gone is durable: a registered one is shut down and
  /// removed, the tasks of an unreachable one end.
  void agent_gone(const std::string& agent_id);

  // -- maintenance.cpp -----------------------------------------------------------------
  /// The scheduled machine `info`'s agent runs on, or null.
  const machine_record* machine_of(const v1::AgentInfo& info) const;
  /// Whether that machine is DOWN: its agents are refused.
  bool machine_down(const v1::AgentInfo& info) const;
  caf::result<v1::master::Response> update_maintenance_schedule(
    const v1::master::Call::UpdateMaintenanceSchedule& call);
  caf::result<v1::master::Response>
  start_maintenance(const v1::master::Call::StartMaintenance& call);
  caf::result<v1::master::Response>
  stop_maintenance(const v1::master::Call::StopMaintenance& call);
  v1::master::MaintenanceStatus maintenance_status() const;
  void load_maintenance(const v1::internal::Registry& reg);
  void save_maintenance(v1::internal::Registry& reg) const;

  // -- operations.cpp -------------------------------------------------------------------
  /// UPDATE_OPERATION_STATUS to a connected framework.
  void send_operation_status(const framework_record& fw,
                             v1::OperationStatus status);
  /// A LAUNCH or LAUNCH_GROUP with an id: its tasks end in TASK_ERROR.
  void refuse_launch_with_id(framework_record& fw, const agent_record& agent,
                             const v1::Offer::Operation& op);
  /// OPERATION_ERROR for an invalid operation with an id (nothing of it is
  /// applied; nothing to acknowledge).
  void operation_error(framework_record& fw, const agent_record& agent,
                       const v1::Offer::Operation& op, const std::string& why);
  /// Keeps `op` (with an id, applied now) as pending: the operation the
  /// agent's checkpoint names, with a fresh uuid.
  v1::Operation track_operation(const framework_record& fw,
                                const agent_record& agent,
                                const v1::Offer::Operation& op);
  /// An agent's status of an operation: kept as its latest, and forwarded
  /// to the framework (every time, until acknowledged).
  void operation_update(const v1::internal::UpdateOperationStatus& msg);
  /// Forgets the operations on an agent being removed (remove_agent), as
  /// Mesos does. If `feedback` is set (OPERATION_UNREACHABLE or
  /// OPERATION_GONE_BY_OPERATOR), each framework first hears it, with
  /// `why`, for each of its operations there, pending or not yet
  /// acknowledged; these statuses carry no uuid (nothing to acknowledge,
  /// never retried), and a framework that missed one learns the state by
  /// reconciliation. An operation the agent did apply comes back with the
  /// agent's retried update once it has re-registered (operation_update);
  /// one it never got is not sent to it again.
  void forget_operations_of_agent(
    const std::string& agent_id,
    std::optional<v1::OperationState> feedback, const std::string& why);
  void forget_operations_of_framework(const std::string& framework_id);
  /// The checkpoint naming operations still pending on `agent` may have
  /// been lost with its link: it goes again (the agent answers each one
  /// it has not answered yet, and repeats its answer to the others).
  void resend_pending_operations(agent_record& agent);
  /// Tells the agent that sent `update` that its status is acknowledged.
  void acknowledge_to_agent(const v1::Operation& op);
  void acknowledge_operation_status(
    const std::string& framework_id,
    const call::Call::AcknowledgeOperationStatus& call);
  void reconcile_operations(const std::string& framework_id,
                            const call::Call::ReconcileOperations& call);
  v1::master::Response::GetOperations get_operations() const;

  // -- inverse_offers.cpp ----------------------------------------------------------------
  /// Whether a scheduled machine is not yet DOWN.
  bool maintenance_draining() const;
  /// Starts the inverse offer timer if a machine is draining and it is not
  /// running.
  void arm_inverse_offers();
  void inverse_offer_tick();
  /// Sends the inverse offers that are due (see the file's comment).
  void make_inverse_offers();
  /// ACCEPT_INVERSE_OFFERS or DECLINE_INVERSE_OFFERS (`answer`).
  void answer_inverse_offers(
    const std::string& framework_id,
    const google::protobuf::RepeatedPtrField<v1::OfferID>& ids,
    const v1::Filters& filters, v1::master::InverseOfferStatus::Status answer);
  /// Rescinds the agent's outstanding inverse offers; with `forget_answers`
  /// also what frameworks answered and their filters (a new unavailability,
  /// or the agent is gone).
  void rescind_inverse_offers(const std::string& agent_id,
                              bool forget_answers);
  /// Forgets the framework's outstanding inverse offers, untold (it is not
  /// there to hear).
  void drop_inverse_offers(const std::string& framework_id);

  // -- operator_api.cpp -----------------------------------------------------------------
  caf::result<v1::master::Response> operator_call(const v1::master::Call& call);
  v1::master::Response::GetState get_state() const;
  v1::master::Response::GetAgents get_agents() const;
  v1::master::Response::GetAgents::Agent agent_entry(
    const agent_record& agent) const;
  v1::master::Response::GetFrameworks get_frameworks() const;
  v1::master::Response::GetFrameworks::Framework framework_entry(
    const framework_record& fw) const;
  v1::master::Response::GetTasks get_tasks() const;
  v1::master::Response::GetRoles get_roles() const;
  metrics_snapshot current_metrics() const;
  /// RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES,
  /// DESTROY_VOLUMES, GROW_VOLUME, SHRINK_VOLUME: `conv` applied to the
  /// agent's free resources (its offers rescinded first), or refused
  /// (errc::conflict) if they are not free.
  caf::result<v1::master::Response>
  operator_convert(const std::string& agent_id,
                   caf::expected<struct conversion> conv);
  caf::result<v1::master::Response>
  update_quota(const v1::master::Call::UpdateQuota& call);
  caf::result<v1::master::Response>
  update_weights(const v1::master::Call::UpdateWeights& call);
  caf::result<v1::master::Response>
  set_quota(const v1::master::Call::SetQuota& call);
  caf::result<v1::master::Response>
  remove_quota(const v1::master::Call::RemoveQuota& call);
  caf::result<v1::master::Response>
  teardown(const v1::master::Call::Teardown& call);
  caf::result<v1::master::Response>
  set_logging_level(const v1::master::Call::SetLoggingLevel& call);
  /// The revert timer of SET_LOGGING_LEVEL fired.
  void logging_level_expired(uint64_t generation);

  // -- events.cpp: the operator event stream ----------------------------------------
  caf::result<v1::master::Event>
  subscribe_events(const master_subscriber_actor& subscriber);
  /// Records `status` as the task's latest; subscribers hear TASK_UPDATED
  /// if its state is not the previous status's, or the task's state is not
  /// the one they last heard (Mesos' rule: one event per new state).
  /// REQUIRES: `task.state` is already the task's new state.
  void record_status(task_record& task, v1::TaskStatus status);
  void task_added(task_record& task);
  /// FRAMEWORK_ADDED or FRAMEWORK_UPDATED (`type`) with the framework's
  /// entry as GET_FRAMEWORKS has it.
  void framework_changed(const framework_record& fw,
                         v1::master::Event::Type type);
  void framework_removed(const v1::FrameworkInfo& info);
  void agent_added(const agent_record& agent);
  void agent_removed(const std::string& agent_id);
  void heartbeat_subscribers();
  /// Sends `event` to every subscriber, in the order of the calls.
  void publish(const v1::master::Event& event);

  // -- registrar.cpp --------------------------------------------------------------------
  void load_registry();
  void registry_loaded(const std::string& bytes);
  void write_registry();
  /// Persists the registry; `done` runs once the change is durable.
  void persist(std::function<void()> done = {});
  v1::internal::Registry registry() const;
};

} // namespace dcos::kernel
