// Configuration updates: which spec changes a deployed service can take
// (each refusal naming its field), what changes a pod's config id, and the
// plan that rolls a new spec out, with the instances already at it done.
#include <string>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/plan.hpp"
#include "dcos/service_spec.hpp"
#include "dcos/service_update.hpp"

using namespace dcos;

namespace {

const char* base = R"(name: kv
scheduler: {user: nobody}
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    volume: {path: data, type: ROOT, size: 1024}
    tasks:
      server:
        goal: RUNNING
        cmd: kv-server
        cpus: 0.5
        memory: 256
        volumes: {logs: {path: logs, type: ROOT, size: 64}}
)";

// `base` with the first `from` replaced by `to`.
v1::ServiceSpec edited(const std::string& from, const std::string& to) {
  std::string yaml = base;
  auto at = yaml.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  yaml.replace(at, from.size(), to);
  auto spec = parse_service_spec(yaml);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  return std::move(*spec);
}

v1::ServiceSpec original() {
  return edited("kv-server", "kv-server");
}

std::string errors_of(const v1::ServiceSpec& target) {
  std::string out;
  for (const auto& e : config_update_errors(original(), target))
    out += e + "\n";
  return out;
}

} // namespace

TEST_CASE("a pod's config id changes with its tasks, not with its count or "
          "placement") {
  auto id = pod_config_id(original().pods(0));
  CHECK(id.size() == 16);
  CHECK(pod_config_id(original().pods(0)) == id);
  CHECK(pod_config_id(edited("count: 3", "count: 5").pods(0)) == id);
  CHECK(pod_config_id(edited("UNIQUE", "CLUSTER\", \"x").pods(0)) == id);
  CHECK(pod_config_id(edited("cmd: kv-server", "cmd: kv-server -v")
                        .pods(0))
        != id);
  CHECK(pod_config_id(edited("cpus: 0.5", "cpus: 0.6").pods(0)) != id);
}

TEST_CASE("the changes a deployed service can take") {
  CHECK(errors_of(edited("count: 3", "count: 4")).empty());
  CHECK(errors_of(edited("cpus: 0.5", "cpus: 1")).empty());
  CHECK(errors_of(edited("UNIQUE", "CLUSTER\", \"x")).empty());
  CHECK(errors_of(edited("count: 3", "count: 2"))
        == "pods.node.count: cannot shrink from 3 to 2 without "
           "allow-decommission: true\n");
  CHECK(errors_of(edited("count: 3", "count: 2\n    allow-decommission: "
                                     "true"))
          .empty());
  CHECK(errors_of(edited("size: 1024", "size: 2048"))
        == "pods.node.volume: a volume cannot change (from ROOT 1024 MB at "
           "data to ROOT 2048 MB at data)\n");
  CHECK(errors_of(edited("{path: logs,", "{path: log2,"))
        == "pods.node.tasks.server.volumes.logs: a volume cannot change "
           "(from ROOT 64 MB at logs to ROOT 64 MB at log2)\n");
  CHECK(errors_of(edited("        volumes: {logs: {path: logs, type: ROOT, "
                         "size: 64}}\n",
                         ""))
        == "pods.node.tasks.server.volumes.logs: a volume cannot be "
           "removed\n");
  CHECK(errors_of(edited("user: nobody", "user: root"))
        == "scheduler.user: cannot change from 'nobody' to 'root'\n"
           "pods.node.user: cannot change from 'nobody' to 'root'\n");
  CHECK(errors_of(edited("name: kv", "name: kv2"))
        .find("name: cannot change from 'kv' to 'kv2'")
        != std::string::npos);
  CHECK(errors_of(edited("  node:\n", "  other:\n"))
        == "pods.node: cannot be removed without allow-decommission: "
           "true\n");
}

TEST_CASE("decommission: the instances a smaller spec leaves, highest "
          "index first") {
  auto smaller = edited("count: 3", "count: 1\n    allow-decommission: true");
  auto leaving = leaving_instances(original(), smaller);
  REQUIRE(leaving.size() == 2);
  CHECK(leaving[0] == std::pair<std::string, uint32_t>{"node", 1});
  CHECK(leaving[1] == std::pair<std::string, uint32_t>{"node", 2});
  CHECK(is_leaving(smaller, "node", 2));
  CHECK_FALSE(is_leaving(smaller, "node", 0));
  CHECK(is_leaving(smaller, "gone", 0));
  auto plan = decommission_plan(leaving);
  CHECK(plan.name() == "decommission");
  REQUIRE(plan.phases_size() == 2);
  CHECK(plan.phases(0).name() == "node-2");
  REQUIRE(plan.phases(0).steps_size() == 1);
  const auto& step = plan.phases(0).steps(0);
  CHECK(step.name() == "decommission-node-2");
  CHECK(step.id() == "node-2/decommission-node-2");
  CHECK(step.decommission());
  CHECK(step.tasks().empty());
  CHECK(plan.phases(1).name() == "node-1");
  // Serial: node-2 first.
  auto first = steps_to_work_on(plan);
  REQUIRE(first.size() == 1);
  CHECK(first[0]->index() == 2);
}

TEST_CASE("the rollout plan: `update` if the spec has one, else deploy; "
          "instances at their pod's config are done") {
  auto spec = edited("count: 3", "count: 4");
  auto current = pod_config_id(spec.pods(0));
  auto plan = update_plan(spec, [&](const std::string& instance) {
    if (instance == "node-0" || instance == "node-2")
      return current;
    return instance == "node-1" ? std::string{"0123456789abcdef"}
                                : std::string{};
  });
  CHECK(plan.name() == "deploy");
  REQUIRE(plan.phases_size() == 1);
  REQUIRE(plan.phases(0).steps_size() == 4);
  CHECK(plan.phases(0).steps(0).status() == v1::PlanState::COMPLETE);
  CHECK(plan.phases(0).steps(1).status() == v1::PlanState::PENDING);
  CHECK(plan.phases(0).steps(2).status() == v1::PlanState::COMPLETE);
  CHECK(plan.phases(0).steps(3).status() == v1::PlanState::PENDING);
  CHECK(update_plan_name(spec) == "deploy");

  auto with_update = parse_service_spec(
    std::string{base}
    + "plans:\n  deploy:\n    phases:\n      all: {pod: node, strategy: "
      "parallel}\n  update:\n    phases:\n      rolling: {pod: node, "
      "strategy: serial}\n");
  REQUIRE_MESSAGE(with_update, describe(with_update.error()));
  CHECK(update_plan_name(*with_update) == "update");
  auto update = update_plan(*with_update,
                            [](const std::string&) { return std::string{}; });
  CHECK(update.name() == "update");
  CHECK_FALSE(update.interrupted());
  CHECK(plan_status(update) == v1::PlanState::PENDING);
}

TEST_CASE("a plan with errors is in ERROR and lists them") {
  auto plan = update_plan(original(),
                          [](const std::string&) { return std::string{}; });
  plan.add_errors("pods.node.count: cannot shrink from 3 to 2");
  CHECK(plan_status(plan) == v1::PlanState::ERROR);
  CHECK(plan_json(plan).find(
          R"("errors":["pods.node.count: cannot shrink from 3 to 2"])")
        != std::string::npos);
}
