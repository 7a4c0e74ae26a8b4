#include "dcos/plan.hpp"

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/service_spec.hpp"

namespace dcos {

namespace {

using Status = v1::PlanState::Status;
using v1::PlanState;

bool under_way(Status s) {
  return s == PlanState::PREPARED || s == PlanState::STARTING
         || s == PlanState::STARTED || s == PlanState::IN_PROGRESS;
}

bool canary(const std::string& strategy) {
  return strategy == "serial-canary" || strategy == "parallel-canary";
}

bool parallel(const std::string& strategy) {
  return strategy == "parallel" || strategy == "parallel-canary";
}

// How many steps of a canary phase wait for a `continue` each.
constexpr int canary_steps = 2;

bool is_plan_started_by_operator(const std::string& name) {
  return name != "deploy" && name != "update" && name != "recovery"
         && name != "decommission";
}

std::string step_name(const std::string& pod, uint32_t index,
                      const google::protobuf::RepeatedPtrField<std::string>&
                        tasks) {
  return fmt::format("{}:[{}]", pod_instance_name(pod, index),
                     fmt::join(tasks.begin(), tasks.end(), ", "));
}

void add_step(PlanState::Phase& phase, const std::string& pod, uint32_t index,
              const google::protobuf::RepeatedPtrField<std::string>& tasks) {
  auto& step = *phase.add_steps();
  step.set_name(step_name(pod, index, tasks));
  step.set_id(phase.name() + "/" + step.name());
  step.set_pod(pod);
  step.set_index(index);
  *step.mutable_tasks() = tasks;
  step.set_status(PlanState::PENDING);
}

PlanState::Phase phase_of(const v1::ServiceSpec& spec,
                          const v1::ServiceSpec::Phase& spec_phase) {
  PlanState::Phase phase;
  phase.set_name(spec_phase.name());
  phase.set_strategy(spec_phase.strategy());
  const auto* pod = find_pod(spec, spec_phase.pod());
  for (uint32_t i = 0; i < pod->count(); ++i) {
    if (spec_phase.steps_size() == 0) {
      google::protobuf::RepeatedPtrField<std::string> all;
      for (const auto& task : pod->tasks())
        *all.Add() = task.name();
      add_step(phase, pod->name(), i, all);
      continue;
    }
    const v1::ServiceSpec::StepTemplate* chosen = nullptr;
    for (const auto& tmpl : spec_phase.steps())
      if (tmpl.index() == static_cast<int32_t>(i)
          || (tmpl.index() < 0 && chosen == nullptr))
        chosen = &tmpl;
    for (const auto& group : chosen->groups())
      add_step(phase, pod->name(), i, group.tasks());
  }
  if (canary(phase.strategy()))
    for (int i = 0; i < canary_steps && i < phase.steps_size(); ++i)
      phase.mutable_steps(i)->set_needs_proceed(true);
  return phase;
}

// The aggregate status of children (see plan.hpp).
template <class Children, class StatusOf>
Status aggregate(const Children& children, bool interrupted,
                 StatusOf status_of) {
  bool all_complete = true, any_under_way = false, any_delayed = false,
       any_waiting = false, any_complete = false;
  for (const auto& c : children) {
    auto s = status_of(c);
    if (s == PlanState::ERROR)
      return PlanState::ERROR;
    all_complete = all_complete && s == PlanState::COMPLETE;
    any_complete = any_complete || s == PlanState::COMPLETE;
    any_under_way = any_under_way || under_way(s);
    any_delayed = any_delayed || s == PlanState::DELAYED;
    any_waiting = any_waiting || s == PlanState::WAITING;
  }
  if (all_complete)
    return PlanState::COMPLETE;
  if (interrupted)
    return PlanState::WAITING;
  if (any_under_way)
    return PlanState::IN_PROGRESS;
  if (any_delayed)
    return PlanState::DELAYED;
  if (any_waiting)
    return PlanState::WAITING;
  if (any_complete)
    return PlanState::IN_PROGRESS;
  return PlanState::PENDING;
}

std::string instance_of(const PlanState::Step& step) {
  return pod_instance_name(step.pod(), step.index());
}

PlanState::Phase* find_phase(PlanState& plan, const std::string& name) {
  for (auto& phase : *plan.mutable_phases())
    if (phase.name() == name)
      return &phase;
  return nullptr;
}

template <class F>
void each_step(PlanState& plan, F f) {
  for (auto& phase : *plan.mutable_phases())
    for (auto& step : *phase.mutable_steps())
      f(step);
}

// Marks `step` done (COMPLETE) or to do again (PENDING); true if it changed.
bool reset_step(PlanState::Step& step, Status to) {
  if (step.status() == to && step.message().empty())
    return false;
  step.set_status(to);
  step.clear_message();
  return true;
}

// Releases the next canary step of `phase`; true if there was one.
bool release_canary(PlanState::Phase& phase) {
  for (auto& step : *phase.mutable_steps())
    if (step.needs_proceed()) {
      step.set_needs_proceed(false);
      return true;
    }
  return false;
}

} // namespace

v1::PlanState plan_of(const v1::ServiceSpec& spec,
                      const v1::ServiceSpec::Plan& spec_plan) {
  PlanState plan;
  plan.set_name(spec_plan.name());
  plan.set_strategy(spec_plan.strategy());
  for (const auto& phase : spec_plan.phases())
    *plan.add_phases() = phase_of(spec, phase);
  plan.set_interrupted(is_plan_started_by_operator(plan.name()));
  return plan;
}

std::vector<v1::PlanState> plans_of(const v1::ServiceSpec& spec) {
  std::vector<PlanState> plans;
  const v1::ServiceSpec::Plan* deploy = nullptr;
  for (const auto& p : spec.plans())
    if (p.name() == "deploy")
      deploy = &p;
  if (deploy != nullptr) {
    plans.push_back(plan_of(spec, *deploy));
  } else {
    v1::ServiceSpec::Plan generated;
    generated.set_name("deploy");
    generated.set_strategy("serial");
    for (const auto& pod : spec.pods()) {
      auto& phase = *generated.add_phases();
      phase.set_name(pod.name());
      phase.set_strategy("serial");
      phase.set_pod(pod.name());
    }
    plans.push_back(plan_of(spec, generated));
  }
  for (const auto& p : spec.plans())
    if (p.name() != "deploy")
      plans.push_back(plan_of(spec, p));
  return plans;
}

v1::PlanState::Status step_status(const v1::PlanState::Step& step) {
  if (step.needs_proceed() && step.status() == PlanState::PENDING)
    return PlanState::WAITING;
  return step.status();
}

v1::PlanState::Status phase_status(const v1::PlanState::Phase& phase) {
  return aggregate(phase.steps(), phase.interrupted(), step_status);
}

v1::PlanState::Status plan_status(const v1::PlanState& plan) {
  if (plan.errors_size() > 0)
    return PlanState::ERROR;
  return aggregate(plan.phases(), plan.interrupted(), phase_status);
}

std::string status_name(v1::PlanState::Status status) {
  return PlanState::Status_Name(status);
}

std::vector<const v1::PlanState::Step*>
steps_to_work_on(const v1::PlanState& plan,
                 const std::set<std::string>& busy) {
  std::vector<const PlanState::Step*> out;
  if (plan.interrupted())
    return out;
  // A pod instance is worked on by one step at a time.
  auto taken = busy;
  for (const auto& phase : plan.phases())
    for (const auto& step : phase.steps())
      if (under_way(step.status()))
        taken.insert(instance_of(step));
  for (const auto& phase : plan.phases()) {
    auto status = phase_status(phase);
    if (status == PlanState::COMPLETE)
      continue;
    if (!phase.interrupted()) {
      // Released canary steps go one at a time; the phase's own strategy
      // takes over once no step waits for a `continue`.
      int end = phase.steps_size();
      bool serial = !parallel(phase.strategy());
      for (int i = 0; i < phase.steps_size(); ++i)
        if (phase.steps(i).needs_proceed()) {
          end = i;
          serial = true;
          break;
        }
      std::set<std::string> seen; // instances with an earlier unfinished step
      for (int i = 0; i < end; ++i) {
        const auto& step = phase.steps(i);
        if (step.status() == PlanState::COMPLETE)
          continue;
        auto instance = instance_of(step);
        if (step.status() == PlanState::PENDING && seen.count(instance) == 0
            && taken.count(instance) == 0) {
          out.push_back(&step);
          taken.insert(instance);
        }
        seen.insert(instance);
        if (serial)
          break;
      }
    }
    if (!parallel(plan.strategy()))
      break; // later phases wait for this one
  }
  return out;
}

v1::PlanState::Step* find_step(v1::PlanState& plan, const std::string& phase,
                               const std::string& step) {
  auto* ph = find_phase(plan, phase);
  if (ph == nullptr)
    return nullptr;
  for (auto& s : *ph->mutable_steps())
    if (s.id() == step || s.name() == step)
      return &s;
  return nullptr;
}

bool set_step_status(v1::PlanState& plan, const std::string& step_id,
                     v1::PlanState::Status status, std::string message) {
  for (auto& phase : *plan.mutable_phases())
    for (auto& step : *phase.mutable_steps())
      if (step.id() == step_id) {
        step.set_status(status);
        step.set_message(std::move(message));
        return true;
      }
  return false;
}

caf::expected<plan_operation> parse_plan_operation(const std::string& name) {
  if (name == "start")
    return plan_operation::start;
  if (name == "stop")
    return plan_operation::stop;
  if (name == "continue")
    return plan_operation::proceed;
  if (name == "interrupt")
    return plan_operation::interrupt;
  if (name == "forceComplete")
    return plan_operation::force_complete;
  if (name == "restart")
    return plan_operation::restart;
  return make_error(errc::not_found,
                    fmt::format("'{}' is not a plan operation (start, stop, "
                                "continue, interrupt, forceComplete, "
                                "restart)",
                                name));
}

caf::expected<bool>
apply_plan_operation(v1::PlanState& plan, plan_operation op,
                     const std::string& phase_name,
                     const std::string& step_name,
                     v1::Environment parameters) {
  if (!step_name.empty() && phase_name.empty())
    return make_error(errc::invalid_argument,
                      "a step is named by its phase and itself: give "
                      "`phase` too");
  PlanState::Phase* phase = nullptr;
  if (!phase_name.empty()) {
    phase = find_phase(plan, phase_name);
    if (phase == nullptr)
      return make_error(errc::not_found,
                        fmt::format("plan '{}' has no phase '{}'",
                                    plan.name(), phase_name));
  }
  PlanState::Step* step = nullptr;
  if (!step_name.empty()) {
    step = find_step(plan, phase_name, step_name);
    if (step == nullptr)
      return make_error(errc::not_found,
                        fmt::format("phase '{}' of plan '{}' has no step "
                                    "'{}'",
                                    phase_name, plan.name(), step_name));
  }
  auto whole_plan_only = [&](const char* what) -> caf::error {
    if (phase != nullptr)
      return make_error(errc::invalid_argument,
                        fmt::format("{} applies to a whole plan, not to a "
                                    "phase or step",
                                    what));
    return {};
  };
  // The steps an operation covers.
  auto covered = [&](auto f) {
    bool changed = false;
    if (step != nullptr)
      changed = f(*step);
    else if (phase != nullptr)
      for (auto& s : *phase->mutable_steps())
        changed = f(s) || changed;
    else
      each_step(plan, [&](PlanState::Step& s) { changed = f(s) || changed; });
    return changed;
  };
  switch (op) {
    case plan_operation::start: {
      if (auto err = whole_plan_only("start"))
        return err;
      bool changed = false;
      if (plan_status(plan) == PlanState::COMPLETE)
        each_step(plan, [&](PlanState::Step& s) {
          changed = reset_step(s, PlanState::PENDING) || changed;
        });
      if (parameters.SerializeAsString()
          != plan.parameters().SerializeAsString()) {
        *plan.mutable_parameters() = std::move(parameters);
        changed = true;
      }
      changed = changed || plan.interrupted();
      plan.set_interrupted(false);
      for (auto& ph : *plan.mutable_phases()) {
        changed = changed || ph.interrupted();
        ph.set_interrupted(false);
      }
      return changed;
    }
    case plan_operation::stop: {
      if (auto err = whole_plan_only("stop"))
        return err;
      bool changed = !plan.interrupted();
      plan.set_interrupted(true);
      each_step(plan, [&](PlanState::Step& s) {
        changed = reset_step(s, PlanState::PENDING) || changed;
      });
      return changed;
    }
    case plan_operation::interrupt:
    case plan_operation::proceed: {
      if (step != nullptr)
        return make_error(errc::invalid_argument,
                          "interrupt and continue apply to a plan or a "
                          "phase, not to a step");
      bool interrupt = op == plan_operation::interrupt;
      bool was = phase != nullptr ? phase->interrupted() : plan.interrupted();
      if (was != interrupt) {
        if (phase != nullptr)
          phase->set_interrupted(interrupt);
        else
          plan.set_interrupted(interrupt);
        return true;
      }
      if (interrupt)
        return false;
      // Nothing was interrupted: `continue` releases the next canary step,
      // of this phase or of the first phase of the plan that has one.
      if (phase != nullptr)
        return release_canary(*phase);
      for (auto& ph : *plan.mutable_phases())
        if (release_canary(ph))
          return true;
      return false;
    }
    case plan_operation::force_complete:
      return covered([](PlanState::Step& s) {
        bool changed = reset_step(s, PlanState::COMPLETE);
        changed = changed || s.needs_proceed();
        s.set_needs_proceed(false);
        return changed;
      });
    case plan_operation::restart: {
      bool changed = covered([](PlanState::Step& s) {
        return reset_step(s, PlanState::PENDING);
      });
      // Restarting a plan or phase also lets it go (dcos-commons).
      if (phase != nullptr && step == nullptr) {
        changed = changed || phase->interrupted();
        phase->set_interrupted(false);
      } else if (phase == nullptr) {
        changed = changed || plan.interrupted();
        plan.set_interrupted(false);
      }
      return changed;
    }
  }
  return make_error(errc::invalid_argument, "unknown plan operation");
}

v1::PlanState resume_plan(v1::PlanState fresh, const v1::PlanState& saved) {
  fresh.set_interrupted(saved.interrupted());
  *fresh.mutable_parameters() = saved.parameters();
  for (auto& phase : *fresh.mutable_phases()) {
    const PlanState::Phase* old = nullptr;
    for (const auto& p : saved.phases())
      if (p.name() == phase.name())
        old = &p;
    if (old == nullptr)
      continue;
    phase.set_interrupted(old->interrupted());
    for (auto& step : *phase.mutable_steps())
      for (const auto& s : old->steps())
        if (s.id() == step.id()) {
          step.set_status(s.status());
          step.set_message(s.message());
          step.set_needs_proceed(s.needs_proceed());
        }
  }
  return fresh;
}

std::string plan_json(const v1::PlanState& plan) {
  json_writer w;
  w.begin_object().key("phases").begin_array();
  std::vector<std::string> errors;
  for (const auto& phase : plan.phases()) {
    w.begin_object()
      .field("id", phase.name())
      .field("name", phase.name())
      .key("steps")
      .begin_array();
    for (const auto& step : phase.steps()) {
      auto status = step_status(step);
      auto message = step.message();
      if (message.empty())
        message = fmt::format("step '{}' [{}] has status: {}", step.name(),
                              step.id(), status_name(status));
      if (status == PlanState::ERROR)
        errors.push_back(fmt::format("{}: {}", step.name(), step.message()));
      w.begin_object()
        .field("id", step.id())
        .field("status", status_name(status))
        .field("name", step.name())
        .field("message", message)
        .end_object();
    }
    w.end_array()
      .field("strategy", phase.strategy())
      .field("status", status_name(phase_status(phase)))
      .end_object();
  }
  w.end_array().key("errors").begin_array();
  errors.insert(errors.begin(), plan.errors().begin(), plan.errors().end());
  for (const auto& e : errors)
    w.value(e);
  w.end_array()
    .field("strategy", plan.strategy())
    .field("status", status_name(plan_status(plan)))
    .end_object();
  return w.take();
}

} // namespace dcos
