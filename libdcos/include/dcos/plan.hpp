// Plans: the ordered work of a stateful service (deploy, update, backup,
// restore), as dcos-commons runs them. A plan is phases, a phase is steps,
// a step launches a group of tasks of one pod instance and is done when
// they reach their goal (RUNNING and ready, or finished).
//
// The progress is a v1::PlanState, a plain protobuf message: the service
// scheduler changes it as it works (set_step_status), operators change it
// through plan_operation (interrupt, continue, force-complete, restart,
// start, stop), and the scheduler persists it after each change so that a
// restarted scheduler resumes it (resume_plan), operators' overrides
// included.
//
// Strategies decide which steps may be worked on (steps_to_work_on):
//  - plan "serial": one phase at a time, in order; "parallel": all phases;
//  - phase "serial": one step at a time, in order; "parallel": every step,
//    but a pod instance's steps still one after another;
//  - phase "serial-canary" / "parallel-canary": as serial / parallel once
//    the first two steps have each been released by a `continue`.
// An interrupted plan, phase or step starts nothing new (what is under way
// goes on); a step in ERROR blocks a serial phase until it is restarted or
// force-completed.
//
// Statuses: a step is PENDING, PREPARED, STARTING, STARTED, COMPLETE,
// DELAYED or ERROR as the scheduler sets it, and shows WAITING while it is
// interrupted or waits for a canary `continue`. A phase or plan shows the
// aggregate of its children (plan_status): ERROR if any child is, COMPLETE
// when all are, WAITING when interrupted or when nothing runs and something
// waits for an operator, IN_PROGRESS while some work is under way or done,
// DELAYED when all that is left is waiting out a backoff, else PENDING.
//
// Thread-safety: plain functions over values.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <dcos/v1/service.pb.h>

namespace dcos {

/// The plans of `spec`, in the spec's order, with `deploy` first: the
/// spec's own deploy plan, or the default one (a serial phase per pod, in
/// the spec's order, named after the pod, with one step per pod instance
/// launching all the pod's tasks). Plans other than deploy, update,
/// recovery and decommission start interrupted: they run when started.
/// REQUIRES: `spec` came from parse_service_spec (it is consistent).
std::vector<v1::PlanState> plans_of(const v1::ServiceSpec& spec);

/// The plan `plan` of `spec` with every step PENDING.
/// REQUIRES: `spec` came from parse_service_spec and holds `plan`.
v1::PlanState plan_of(const v1::ServiceSpec& spec,
                      const v1::ServiceSpec::Plan& plan);

/// The status an operator sees for a step, phase or plan.
v1::PlanState::Status step_status(const v1::PlanState::Step& step);
v1::PlanState::Status phase_status(const v1::PlanState::Phase& phase);
v1::PlanState::Status plan_status(const v1::PlanState& plan);

/// A status by its name, as dcos-commons prints it: "IN_PROGRESS".
std::string status_name(v1::PlanState::Status status);

/// The steps of `plan` the scheduler may start now (PENDING ones the
/// strategies and interrupts allow), in plan order, skipping those of a pod
/// instance in `busy` (instances another plan is working on, by
/// pod_instance_name).
std::vector<const v1::PlanState::Step*>
steps_to_work_on(const v1::PlanState& plan,
                 const std::set<std::string>& busy = {});

/// The step with id or name `step` in phase `phase` (a name), or nullptr.
v1::PlanState::Step* find_step(v1::PlanState& plan, const std::string& phase,
                               const std::string& step);

/// Sets a step's status as the scheduler's work goes (a message for ERROR
/// and DELAYED). Answers false if `plan` has no step with id `step_id`.
bool set_step_status(v1::PlanState& plan, const std::string& step_id,
                     v1::PlanState::Status status, std::string message = {});

/// The operations operators have, by dcos-commons' names (the last part of
/// POST /v1/plans/{plan}/{operation}).
enum class plan_operation {
  start,          // restart it all, then continue; with parameters
  stop,           // interrupt, then restart it all
  proceed,        // "continue": lift an interrupt, release a canary step
  interrupt,      // start nothing new
  force_complete, // mark COMPLETE without doing the work
  restart,        // back to PENDING, to be done again
};

/// "start", "stop", "continue", "interrupt", "forceComplete", "restart".
caf::expected<plan_operation> parse_plan_operation(const std::string& name);

/// Applies `op` to the whole plan, to phase `phase` (a name), or to step
/// `step` (id or name) of that phase. Parameters are for `start` only.
/// Answers whether anything changed (false: it was already so), or
/// errc::not_found naming the missing phase or step, or
/// errc::invalid_argument if the operation does not apply at that level
/// (start and stop take a whole plan; interrupt and continue a plan or a
/// phase) or a step is given without its phase.
caf::expected<bool>
apply_plan_operation(v1::PlanState& plan, plan_operation op,
                     const std::string& phase = {},
                     const std::string& step = {},
                     v1::Environment parameters = {});

/// `fresh` (built from the spec now) with the progress `saved` had: the
/// statuses and messages of the steps that still exist (by id), the
/// interrupts of the plan and of the phases that still exist, canary
/// releases, parameters. Steps that are new to the spec start PENDING.
/// Steps that were under way (PREPARED, STARTING, STARTED) keep that
/// status: the scheduler confirms them by reconciliation.
v1::PlanState resume_plan(v1::PlanState fresh, const v1::PlanState& saved);

/// The plan as GET /v1/plans/{plan} answers in dcos-commons:
/// {"phases": [{"id", "name", "steps": [{"id", "status", "name",
/// "message"}], "strategy", "status"}], "errors": [...], "strategy",
/// "status"}.
std::string plan_json(const v1::PlanState& plan);

} // namespace dcos
