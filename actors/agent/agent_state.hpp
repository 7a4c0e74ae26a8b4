// The agent's model: frameworks, executors, tasks, the status update
// manager's streams and the journal that makes them durable.
//
// Files: agent.cpp (behavior, identity), journal.cpp (durability and
// recovery), master_link.cpp (finding, registering with and answering the
// master), executors.cpp (launching, registering and ending executors),
// status_updates.cpp (the status update manager), agent_state_json.cpp,
// agent_api.cpp (the v1 operator API's view).
//
// Thread-safety: owned by the agent actor.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "agent_http.hpp"
#include "dcos/agent.hpp"
#include "dcos/executor_actor.hpp"
#include "dcos/logging.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/task_state.hpp"

namespace dcos::kernel {

// -- the agent's full interface ------------------------------------------------

using retry_atom = caf::atom_constant<caf::atom("retry")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using register_atom = caf::atom_constant<caf::atom("register")>;

// What the master, the executors and the HTTP edge see, plus the agent's
// messages to itself.
using agent_impl = agent_actor::extend_with<agent_executor_actor,
                                            agent_edge_actor>::extend<
  // Internal: journal group commit, update retries, (re)registration,
  // master ping watchdog, executor registration timeouts.
  caf::reacts_to<flush_atom>,
  caf::reacts_to<retry_atom, std::string, std::string, uint64_t>,
  caf::reacts_to<retry_atom, uint64_t /*operation updates' generation*/>,
  caf::reacts_to<register_atom>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<timeout_atom, std::string, std::string, std::string>,
  caf::reacts_to<logging_atom, uint64_t>>;

/// Where the persistent volume `id` of `role` lives on this agent.
std::string persistent_volume_dir(const std::string& work_dir,
                                  const std::string& role,
                                  const std::string& id);

struct agent_state;
using agent_self = agent_impl::stateful_pointer<agent_state>;

// -- records -----------------------------------------------------------------------


// A launch that is durable, on its way to its executor.
using pending_launch
  = std::variant<v1::internal::RunTask, v1::internal::RunTaskGroup>;

/// The ids of the tasks `launch` carries.
std::vector<std::string> task_ids(const pending_launch& launch);

struct agent_task {
  v1::TaskInfo info;
  v1::TaskState state = v1::TASK_STAGING; // latest known
  // The newest state whose update is on disk: the only state the agent
  // tells the master, since a crash loses the rest. (Found by the
  // simulation: a TASK_FINISHED still on its way to disk reached the
  // framework as a retried update's latest state; the agent's machine
  // then crashed, the update was lost, and the framework also saw
  // TASK_FAILED.)
  v1::TaskState durable_state = v1::TASK_STAGING;
  v1::TaskStatus last_status;
};

struct executor_record {
  enum class phase { launching, registering, running, terminating, ended };

  v1::ExecutorInfo info;
  std::string framework_id;
  std::string container_id;
  std::string sandbox;
  uint32_t pid = 0;
  bool command_executor = false;
  phase state = phase::launching;
  executor_actor handle;
  // Durable launches, sent to the executor in order once it registers.
  std::vector<pending_launch> queued;
  std::map<std::string, agent_task> tasks;
  std::optional<container_termination> termination;
  std::string end_reason; // why we ended it, if we did
};

/// What the journal keeps of an executor (pid 0 until it runs).
v1::internal::ExecutorCheckpoint checkpoint_of(const executor_record& e);

struct agent_framework {
  v1::FrameworkInfo info;
  bool removed = false; // the master removed it: its updates have no taker
  std::map<std::string, executor_record> executors;
  std::deque<executor_record> completed_executors;
};

// One task's ordered stream of status updates (the status update manager).
struct update_stream {
  std::string framework_id;
  std::string task_id;
  // Durable, not acknowledged; oldest first. Rarely more than one or two:
  // a vector, because an empty std::deque allocates half a kilobyte and a
  // stream lives as long as its task.
  std::vector<v1::internal::StatusUpdate> pending;
  std::set<std::string> recording; // uuids accepted, on their way to disk
  std::set<std::string> uuids; // seen: drops executor retransmissions
  bool in_flight = false;
  // The head's acknowledgement is on its way to disk: the head is settled
  // and must not be sent again (unless a crash loses the acknowledgement).
  bool acking = false;
  caf::timespan backoff{};
  uint64_t generation = 0;
};

struct agent_metrics {
  uint64_t executors_launched = 0;
  uint64_t executors_terminated = 0;
  uint64_t tasks_launched = 0;
  std::map<v1::TaskState, uint64_t> tasks_terminal;
  uint64_t status_updates_sent = 0;
  uint64_t status_updates_retried = 0;
  uint64_t journal_flushes = 0;
  uint64_t journal_records = 0;
};



/// A task's sandbox: a command executor's task shares its executor's; any
/// other task has the directory "tasks/<task id>" inside it (Mesos' layout).
std::string task_sandbox(const executor_record& e, const std::string& task_id);

// -- the state ---------------------------------------------------------------------------

struct agent_state {
  static inline const char* name = "dcos.agent";
  agent_state() = default;

  agent_self self = nullptr;
  agent_config cfg;
  std::shared_ptr<spdlog::logger> log;
  std::mt19937_64 rng;
  caf::actor_clock::time_point started_at;
  v1::AgentInfo info; // id set once registered
  resources total;    // with reservations and volumes (checkpointed)
  logging::verbosity_lease verbosity; // SET_LOGGING_LEVEL's

  // -- master --
  master_actor master;
  bool registered = false;
  // Executors that ended while a re-registration that listed them was on
  // its way, with their exit status: reported once it is answered.
  std::map<std::pair<std::string, std::string>, int> unreported_exits;
  bool registering = false;
  // The master has answered our (re-)registration on the current link
  // (see stale_launch).
  bool admitted = false;
  bool detecting = false;     // a detect request is out
  // Counts links to a master; a reply or a journaled id that belongs to an
  // earlier link must not make the agent believe it is registered.
  uint64_t master_epoch = 0;
  caf::timespan registration_backoff{};
  caf::actor_clock::time_point last_ping{};
  // Set while the agent drains (the master's DrainAgent): new launches are
  // refused, and the ends of killed tasks say why. Cleared once drained.
  // Not journaled: the master sends it again when the agent re-registers.
  std::optional<v1::DrainConfig> drain_config;
  double drain_started = 0;

  // -- what runs here --
  std::map<std::string, agent_framework> frameworks;
  std::deque<agent_framework> completed_frameworks; // for /state and logs
  std::map<std::pair<std::string, std::string>, update_stream> streams;
  // Operation statuses the master has not acknowledged (for their
  // frameworks), by operation uuid; sent again every backoff, doubling.
  std::map<std::string, v1::internal::UpdateOperationStatus>
    operation_updates;
  caf::timespan operation_backoff{};
  uint64_t operation_generation = 0;
  std::map<caf::actor_addr, std::pair<std::string, std::string>> executor_by_addr;
  agent_metrics metrics;
  // Debug sessions that have not ended, by container id, each with whether
  // it is to be killed (asked while it was still starting). Not journaled:
  // they end with the agent.
  std::map<std::string, bool> sessions;

  // -- journal (group commit) --
  bool recovered = false;
  std::string journal_pending;  // encoded records not yet written
  std::vector<std::function<void()>> after_flush;
  std::vector<std::function<void()>> in_flush;
  bool flush_queued = false;
  bool flushing = false;
  uint64_t journal_live_bytes = 0;
  uint64_t journal_snapshot_bytes = 0; // its size at the last compaction

  // -- agent.cpp --
  void init(agent_self s, agent_config config);
  double now() const;
  std::string new_uuid();
  std::string new_container_id();
  agent_framework* find_framework(const std::string& id);
  executor_record* find_executor(const std::string& framework_id,
                                 const std::string& executor_id);
  agent_task* find_task(const std::string& framework_id,
                         const std::string& task_id,
                         executor_record** executor = nullptr);
  std::string sandbox_of(const std::string& framework_id,
                         const std::string& executor_id,
                         const std::string& container_id) const;
  /// Kills every executor and ends the agent; `leave` tells the master the
  /// agent is gone (an operator's shutdown, not a refusal).
  void shutdown(const std::string& why, bool leave = false);

  // -- journal.cpp --
  void record(const v1::internal::JournalRecord& rec,
              std::function<void()> then = {});
  void flush();
  void recover();
  void recovered_from(const std::string& bytes);
  void replay(const v1::internal::JournalRecord& rec);
  void compact();
  std::string snapshot() const;

  // -- master_link.cpp --
  void detect_master();
  void try_register();
  void registered_with(const v1::internal::AgentRegistered& reply);
  void master_lost(const std::string& why);
  void check_master_pings();
  v1::internal::ReregisterAgent reregistration() const;
  // True (and logged) for a launch the agent must drop: one that did not
  // come over the current link after the master admitted this agent.
  bool stale_launch(const std::string& task_id) const;
  void run_task(v1::internal::RunTask msg);
  void run_task_group(v1::internal::RunTaskGroup msg);
  void kill_task(const v1::internal::KillTask& msg);
  // Kills every task, each with its kill policy's grace period capped by
  // the drain's max_grace_period, and refuses launches until drained.
  void drain(const v1::internal::DrainAgent& msg);
  // Ends the drain once every task has ended and every update of theirs
  // is acknowledged.
  void update_drain_status();
  // Refuses a launch that comes while the agent drains (TASK_DROPPED, or
  // TASK_LOST for a framework that is not partition-aware); true if it did.
  bool refused_while_draining(const v1::FrameworkInfo& framework,
                              const std::vector<std::string>& task_ids);
  void shutdown_framework(const std::string& framework_id);
  void checkpoint_resources(const v1::internal::CheckpointResources& msg);
  // -- agent_api.cpp: the v1 operator API's view of the agent --
  caf::result<v1::agent::Response> api_call(const v1::agent::Call& call);
  // LAUNCH_NESTED_CONTAINER_SESSION: a debug session in a task's (or an
  // executor's) running container.
  caf::result<container_io_ptr> api_session(const v1::agent::Call& call);
  // WAIT_NESTED_CONTAINER and KILL_NESTED_CONTAINER.
  caf::result<v1::agent::Response> api_wait_nested(const v1::agent::Call& call);
  caf::result<v1::agent::Response> api_kill_nested(const v1::agent::Call& call);
  v1::agent::Response::GetFrameworks api_frameworks() const;
  v1::agent::Response::GetExecutors api_executors() const;
  v1::agent::Response::GetTasks api_tasks() const;
  v1::agent::Response::GetContainers api_containers() const;
  // /monitor/statistics (Mesos' format), from the containerizer's figures.
  caf::result<std::string> monitor_statistics();
  // metrics_response() with the containers' total usage (monitor.cpp).
  caf::result<v1::master::Response> metrics_with_usage();
  /// GET_CONTAINERS, each container with its resource_statistics (unless
  /// it ended while asked).
  caf::result<v1::agent::Response> api_containers_with_usage();
  // Mounts the task's persistent volumes (disk resources with persistence
  // and volume) through its container's volumes.
  void add_persistent_volumes(v1::TaskInfo& task) const;
  // Tells the master that an executor ended.
  void report_exit(const std::string& framework_id,
                   const std::string& executor_id, int status);
  /// The same for the persistent volumes among `rs` (an executor's).
  void add_persistent_volumes(
    v1::TaskInfo& task,
    const google::protobuf::RepeatedPtrField<v1::Resource>& rs) const;

  // -- executors.cpp --
  executor_record& ensure_executor(const v1::FrameworkInfo& framework,
                                   const v1::ExecutorInfo& info,
                                   bool command_executor);
  void launch_executor(executor_record& e);
  caf::result<v1::internal::ExecutorRegistered>
  register_executor(const executor_actor& handle,
                    const v1::internal::RegisterExecutor& msg);
  caf::result<v1::internal::ExecutorRegistered>
  reregister_executor(const executor_actor& handle,
                      const v1::internal::ReregisterExecutor& msg);
  // The one way a launch reaches an executor: sent at once if the executor
  // is attached, else queued until it registers (deliver_queued).
  void deliver_launch(executor_record& e, pending_launch launch);
  void deliver_queued(executor_record& e);
  /// Sends the executor the staging tasks of its record that are not in
  /// `has` (it never got them: the agent restarted in between).
  void send_unsent_tasks(executor_record& e, const std::set<std::string>& has);
  // Makes `handle` the executor of `e`, watches it, and answers its
  // (re-)registration request; returns the answered promise.
  caf::typed_response_promise<v1::internal::ExecutorRegistered>
  attach_executor(executor_record& e, const executor_actor& handle);
  void shutdown_executor(executor_record& e, const std::string& why);
  void executor_timeout(const std::string& framework_id,
                        const std::string& executor_id,
                        const std::string& container_id);
  void executor_terminated(const std::string& framework_id,
                           const std::string& executor_id,
                           const std::string& container_id,
                           container_termination t);
  void watch_container(executor_record& e);
  void maybe_retire_executor(const std::string& framework_id,
                             const std::string& executor_id);
  void executor_down(const caf::down_msg& msg);

  // -- status_updates.cpp --
  void status_update(v1::internal::StatusUpdate update, bool from_executor);
  v1::internal::StatusUpdate agent_update(const std::string& framework_id,
                                          const executor_record& e,
                                          const std::string& task_id,
                                          v1::TaskState state,
                                          v1::TaskStatus::Reason reason,
                                          const std::string& message);
  void forward_head(update_stream& s);
  void retry(const std::string& framework_id, const std::string& task_id,
             uint64_t generation);
  void acknowledge(const v1::internal::StatusUpdateAcknowledgement& ack);
  void resend_all();

  // -- operation_updates.cpp ----------------------------------------------------------
  /// The checkpoint applying `ops` is on disk: each gets OPERATION_FINISHED,
  /// journaled, then sent to the master until acknowledged.
  void finish_operations(
    const google::protobuf::RepeatedPtrField<v1::Operation>& ops);
  void acknowledge_operation(
    const v1::internal::AcknowledgeOperationStatus& ack);
  /// Sends every unacknowledged operation status (at registration, and on
  /// the retry timer of `generation`).
  void resend_operation_updates();
  void retry_operation_updates(uint64_t generation);

  // -- agent_state_json.cpp --
  std::string state_json() const;
  v1::master::Response metrics_response() const;
};

} // namespace dcos::kernel
