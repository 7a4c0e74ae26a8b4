// Protocol peers for testing the master before the real agent exists: an
// agent that speaks the master/agent protocol from a script, and a
// framework that records every event. Both are plain actors; the master and
// the scheduler SDK under test are the real ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "dcos/agent_actor.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/scheduler_driver_actor.hpp"

namespace dcos::test {

// -- agent ------------------------------------------------------------------------

struct agent_log {
  std::string agent_id;
  std::string register_error;
  std::vector<v1::internal::RunTask> runs;
  std::vector<v1::internal::RunTaskGroup> groups;
  std::vector<v1::internal::KillTask> kills;
  std::vector<v1::internal::StatusUpdateAcknowledgement> acks;
  std::vector<v1::internal::ShutdownFramework> framework_shutdowns;
  std::vector<v1::internal::ShutdownExecutor> executor_shutdowns;
  std::vector<v1::internal::FrameworkToExecutor> messages;
  std::vector<v1::internal::CheckpointResources> checkpoints;
  std::vector<v1::internal::AcknowledgeOperationStatus> operation_acks;
  int operation_statuses = 0; // made for the operations checkpointed
  bool answer_operations = true; // finish each operation checkpointed
  std::vector<v1::internal::DrainAgent> drains;
  std::vector<std::string> shutdowns;
  bool responsive = true; // answers pings
  // Every task runs and finishes at once (RUNNING then FINISHED).
  bool auto_complete = false;
  int pings = 0;
};

using reregister_atom = caf::atom_constant<caf::atom("reregister")>;

/// The scripted agent: its own interface plus test controls.
using scripted_agent_actor = agent_actor::extend<
  // Send this update to the master (as the agent).
  caf::reacts_to<v1::internal::StatusUpdate>,
  caf::reacts_to<v1::internal::ExecutorToFramework>,
  caf::reacts_to<v1::internal::ExitedExecutor>,
  // Re-register with this report.
  caf::reacts_to<reregister_atom, v1::internal::ReregisterAgent>>;

/// Spawns an agent that registers with `master` at once.
scripted_agent_actor spawn_scripted_agent(caf::actor_system& sys,
                                          master_actor master,
                                          v1::AgentInfo info,
                                          std::shared_ptr<agent_log> log);

/// Spawns an agent that re-registers with `report` instead.
scripted_agent_actor
spawn_reregistering_agent(caf::actor_system& sys, master_actor master,
                          v1::internal::ReregisterAgent report,
                          std::shared_ptr<agent_log> log);

// -- framework ---------------------------------------------------------------------

struct framework_log {
  std::vector<call::Event::Subscribed> subscribed;
  std::vector<v1::Offer> offers; // every offer ever received
  size_t offers_taken = 0;
  std::vector<v1::TaskStatus> updates;
  std::vector<v1::OfferID> rescinds;
  std::vector<std::string> errors;
  std::vector<call::Event::Message> messages;
  std::vector<call::Event::Failure> failures;
  std::vector<v1::InverseOffer> inverse_offers; // every one received
  std::vector<v1::OfferID> inverse_rescinds;
  std::vector<v1::OperationStatus> operation_updates;
  int disconnected = 0;

  /// Offers received since the last call.
  std::vector<v1::Offer> take_offers();
  /// Updates for `task_id`, in order of arrival.
  std::vector<v1::TaskStatus> updates_of(const std::string& task_id) const;
};

framework_actor spawn_recording_framework(caf::actor_system& sys,
                                          std::shared_ptr<framework_log> log);

} // namespace dcos::test
