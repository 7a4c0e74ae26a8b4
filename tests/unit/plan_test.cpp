// Plans: built from a spec as dcos-commons builds them, strategies release
// exactly the steps they should, operators' operations change what they
// say (and report when nothing changed), statuses aggregate, and a
// restarted scheduler resumes its saved progress.
#include <algorithm>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/plan.hpp"
#include "dcos/service_spec.hpp"

using namespace dcos;
using Status = v1::PlanState::Status;
using v1::PlanState;

namespace {

v1::ServiceSpec spec_of(const std::string& yaml) {
  auto spec = parse_service_spec(yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  return std::move(*spec);
}

const char* two_pods = R"(name: db
pods:
  meta:
    count: 2
    tasks:
      init: {goal: ONCE, cmd: init, cpus: 0.1, memory: 16}
      node: {goal: RUNNING, cmd: node, cpus: 0.1, memory: 16}
  data:
    count: 3
    tasks:
      node: {goal: RUNNING, cmd: node, cpus: 0.1, memory: 16}
)";

std::vector<std::string> names(const std::vector<const PlanState::Step*>& v) {
  std::vector<std::string> out;
  for (const auto* s : v)
    out.push_back(s->name());
  return out;
}

using strings = std::vector<std::string>;

void complete(PlanState& plan, const std::vector<const PlanState::Step*>& v) {
  for (const auto* s : v)
    REQUIRE(set_step_status(plan, s->id(), PlanState::COMPLETE));
}

PlanState plan_named(const v1::ServiceSpec& spec, const std::string& name) {
  for (auto& p : plans_of(spec))
    if (p.name() == name)
      return p;
  FAIL("no plan " << name);
  return {};
}

} // namespace

TEST_CASE("the default deploy plan: a serial phase per pod, all tasks "
          "per step") {
  auto plans = plans_of(spec_of(two_pods));
  REQUIRE(plans.size() == 1);
  auto& deploy = plans[0];
  CHECK(deploy.name() == "deploy");
  CHECK(deploy.strategy() == "serial");
  CHECK_FALSE(deploy.interrupted());
  REQUIRE(deploy.phases_size() == 2);
  CHECK(deploy.phases(0).name() == "meta");
  CHECK(deploy.phases(0).steps(0).name() == "meta-0:[init, node]");
  CHECK(deploy.phases(0).steps(0).id() == "meta/meta-0:[init, node]");
  CHECK(deploy.phases(1).steps_size() == 3);
  CHECK(plan_status(deploy) == PlanState::PENDING);

  // Serial: one step at a time, phase after phase.
  CHECK(names(steps_to_work_on(deploy)) == strings{"meta-0:[init, node]"});
  auto first = steps_to_work_on(deploy);
  set_step_status(deploy, first[0]->id(), PlanState::STARTING);
  CHECK(steps_to_work_on(deploy).empty());
  CHECK(plan_status(deploy) == PlanState::IN_PROGRESS);
  CHECK(phase_status(deploy.phases(0)) == PlanState::IN_PROGRESS);
  CHECK(phase_status(deploy.phases(1)) == PlanState::PENDING);
  complete(deploy, first);
  CHECK(names(steps_to_work_on(deploy)) == strings{"meta-1:[init, node]"});
  complete(deploy, steps_to_work_on(deploy));
  CHECK(phase_status(deploy.phases(0)) == PlanState::COMPLETE);
  CHECK(names(steps_to_work_on(deploy)) == strings{"data-0:[node]"});
  // A pod instance another plan works on is skipped.
  CHECK(steps_to_work_on(deploy, {"data-0"}).empty());
  for (int i = 0; i < 3; ++i)
    complete(deploy, steps_to_work_on(deploy));
  CHECK(plan_status(deploy) == PlanState::COMPLETE);
  CHECK(steps_to_work_on(deploy).empty());
}

TEST_CASE("steps per pod instance, parallel phases and plans") {
  auto spec = spec_of(std::string{two_pods} + R"(plans:
  deploy:
    strategy: parallel
    phases:
      meta:
        pod: meta
        strategy: parallel
        steps:
          - 0: [[init], [node]]
          - default: [[node]]
      data:
        pod: data
        strategy: serial
)");
  auto deploy = plan_named(spec, "deploy");
  REQUIRE(deploy.phases(0).steps_size() == 3);
  // Parallel: every instance at once, but meta-0's steps in order; the
  // parallel plan runs the data phase at the same time.
  CHECK(names(steps_to_work_on(deploy))
        == strings{"meta-0:[init]", "meta-1:[node]", "data-0:[node]"});
  set_step_status(deploy, "meta/meta-0:[init]", PlanState::STARTED);
  CHECK(names(steps_to_work_on(deploy))
        == strings{"meta-1:[node]", "data-0:[node]"});
  set_step_status(deploy, "meta/meta-0:[init]", PlanState::COMPLETE);
  CHECK(names(steps_to_work_on(deploy))
        == strings{"meta-0:[node]", "meta-1:[node]", "data-0:[node]"});
  // An ERROR blocks a serial phase and shows in the plan.
  set_step_status(deploy, "data/data-0:[node]", PlanState::ERROR,
                  "no agent has 16 MB");
  CHECK(names(steps_to_work_on(deploy))
        == strings{"meta-0:[node]", "meta-1:[node]"});
  CHECK(plan_status(deploy) == PlanState::ERROR);
  auto json = plan_json(deploy);
  CHECK(json.find(R"("errors":["data-0:[node]: no agent has 16 MB"])")
        != std::string::npos);
  CHECK(json.find(R"("status":"ERROR")") != std::string::npos);
  // A DELAYED step waits; nothing else under way shows the phase DELAYED.
  set_step_status(deploy, "data/data-0:[node]", PlanState::DELAYED);
  CHECK(phase_status(deploy.phases(1)) == PlanState::DELAYED);
}

TEST_CASE("canary phases wait for a continue per canary step") {
  auto spec = spec_of(std::string{two_pods} + R"(plans:
  deploy:
    phases:
      data:
        pod: data
        strategy: parallel-canary
)");
  auto deploy = plan_named(spec, "deploy");
  CHECK(step_status(deploy.phases(0).steps(0)) == PlanState::WAITING);
  CHECK(phase_status(deploy.phases(0)) == PlanState::WAITING);
  CHECK(plan_status(deploy) == PlanState::WAITING);
  CHECK(steps_to_work_on(deploy).empty());
  // The first continue releases data-0 only.
  CHECK(apply_plan_operation(deploy, plan_operation::proceed, "data")
        == caf::expected<bool>{true});
  CHECK(names(steps_to_work_on(deploy)) == strings{"data-0:[node]"});
  complete(deploy, steps_to_work_on(deploy));
  CHECK(steps_to_work_on(deploy).empty());
  CHECK(phase_status(deploy.phases(0)) == PlanState::WAITING);
  // The second (here on the plan) releases data-1, and with no canary
  // left the phase's own strategy (parallel) takes over: data-2 too.
  CHECK(apply_plan_operation(deploy, plan_operation::proceed)
        == caf::expected<bool>{true});
  CHECK(names(steps_to_work_on(deploy))
        == strings{"data-1:[node]", "data-2:[node]"});
  complete(deploy, steps_to_work_on(deploy));
  CHECK(plan_status(deploy) == PlanState::COMPLETE);
  // Nothing left to release.
  CHECK(apply_plan_operation(deploy, plan_operation::proceed)
        == caf::expected<bool>{false});
}

TEST_CASE("interrupt, continue, force-complete, restart, start and stop") {
  auto spec = spec_of(std::string{two_pods} + R"(plans:
  backup:
    strategy: serial
    phases:
      save:
        pod: data
        strategy: parallel
)");
  // A plan of its own starts interrupted: it runs when started.
  auto backup = plan_named(spec, "backup");
  CHECK(backup.interrupted());
  CHECK(plan_status(backup) == PlanState::WAITING);
  CHECK(steps_to_work_on(backup).empty());

  v1::Environment params;
  auto* var = params.add_variables();
  var->set_name("BACKUP_NAME");
  var->set_value("nightly");
  CHECK(apply_plan_operation(backup, plan_operation::start, "", "", params)
        == caf::expected<bool>{true});
  CHECK(backup.parameters().variables(0).value() == "nightly");
  CHECK(steps_to_work_on(backup).size() == 3);
  CHECK(apply_plan_operation(backup, plan_operation::start, "", "", params)
        == caf::expected<bool>{false});

  // Interrupting a phase starts nothing new; continuing lets it go.
  CHECK(*apply_plan_operation(backup, plan_operation::interrupt, "save"));
  CHECK(steps_to_work_on(backup).empty());
  CHECK(phase_status(backup.phases(0)) == PlanState::WAITING);
  CHECK_FALSE(*apply_plan_operation(backup, plan_operation::interrupt,
                                    "save"));
  CHECK(*apply_plan_operation(backup, plan_operation::proceed, "save"));
  CHECK(steps_to_work_on(backup).size() == 3);

  // Force-complete one step (by name), then restart it (by id).
  CHECK(*apply_plan_operation(backup, plan_operation::force_complete, "save",
                              "data-1:[node]"));
  CHECK(names(steps_to_work_on(backup))
        == strings{"data-0:[node]", "data-2:[node]"});
  CHECK(*apply_plan_operation(backup, plan_operation::restart, "save",
                              "save/data-1:[node]"));
  CHECK(steps_to_work_on(backup).size() == 3);

  // Stop: interrupted, and every step back to PENDING.
  set_step_status(backup, "save/data-0:[node]", PlanState::COMPLETE);
  CHECK(*apply_plan_operation(backup, plan_operation::stop));
  CHECK(backup.interrupted());
  CHECK(backup.phases(0).steps(0).status() == PlanState::PENDING);

  // Starting a complete plan runs it again.
  CHECK(*apply_plan_operation(backup, plan_operation::force_complete));
  CHECK(plan_status(backup) == PlanState::COMPLETE);
  CHECK(*apply_plan_operation(backup, plan_operation::start));
  CHECK(plan_status(backup) == PlanState::PENDING);
}

TEST_CASE("bad operations are refused, naming what is missing") {
  auto deploy = plans_of(spec_of(two_pods))[0];
  auto err = [&](plan_operation op, std::string phase, std::string step) {
    auto r = apply_plan_operation(deploy, op, phase, step);
    REQUIRE_FALSE(r);
    return std::make_pair(code_of(r.error()), describe_reason(r.error()));
  };
  CHECK(err(plan_operation::restart, "nope", "")
        == std::make_pair(errc::not_found,
                          std::string{"plan 'deploy' has no phase 'nope'"}));
  CHECK(err(plan_operation::restart, "meta", "meta-7:[node]").first
        == errc::not_found);
  CHECK(err(plan_operation::restart, "", "meta-0:[init, node]").first
        == errc::invalid_argument);
  CHECK(err(plan_operation::interrupt, "meta", "meta-0:[init, node]").first
        == errc::invalid_argument);
  CHECK(err(plan_operation::start, "meta", "").first
        == errc::invalid_argument);
  CHECK(parse_plan_operation("forceComplete")
        == caf::expected<plan_operation>{plan_operation::force_complete});
  CHECK_FALSE(parse_plan_operation("force-complete"));
}

TEST_CASE("a restarted scheduler resumes its plans, overrides included") {
  auto spec = spec_of(std::string{two_pods} + R"(plans:
  deploy:
    phases:
      meta: {pod: meta, strategy: serial-canary}
      data: {pod: data}
)");
  auto deploy = plan_named(spec, "deploy");
  apply_plan_operation(deploy, plan_operation::proceed, "meta");
  set_step_status(deploy, "meta/meta-0:[init, node]", PlanState::COMPLETE);
  apply_plan_operation(deploy, plan_operation::interrupt, "data");
  set_step_status(deploy, "data/data-0:[node]", PlanState::STARTING);

  // Saved as bytes, as the scheduler stores it.
  auto bytes = deploy.SerializeAsString();
  PlanState saved;
  REQUIRE(saved.ParseFromString(bytes));

  // The spec grew by one data node meanwhile.
  auto grown = two_pods + std::string{R"(plans:
  deploy:
    phases:
      meta: {pod: meta, strategy: serial-canary}
      data: {pod: data}
)"};
  grown.replace(grown.find("count: 3"), 8, "count: 4");
  auto resumed = resume_plan(plan_named(spec_of(grown), "deploy"), saved);
  CHECK(resumed.phases(0).steps(0).status() == PlanState::COMPLETE);
  CHECK(step_status(resumed.phases(0).steps(1)) == PlanState::WAITING);
  CHECK(resumed.phases(1).interrupted());
  CHECK(resumed.phases(1).steps(0).status() == PlanState::STARTING);
  REQUIRE(resumed.phases(1).steps_size() == 4);
  CHECK(resumed.phases(1).steps(3).status() == PlanState::PENDING);
  CHECK(resumed.SerializeAsString() != deploy.SerializeAsString());
}
