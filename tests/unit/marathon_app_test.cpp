// Marathon's pure parts: reading app definitions as Marathon does (defaults,
// 400/422 answers naming the path), the rollout rules (how many to launch and
// which to kill, never below the healthy minimum), and fitting a task into
// an offer (resources, ports, constraints, the environment a task gets).
#include <doctest/doctest.h>

#include <google/protobuf/util/json_util.h>

#include "app_definition.hpp"
#include "dcos/resources.hpp"
#include "rollout.hpp"
#include "task_factory.hpp"

using namespace dcos;
using namespace dcos::marathon;

namespace {

App read(std::string_view body, std::string_view path_id = "") {
  App app;
  auto refused = read_app(body, path_id, &app);
  REQUIRE_MESSAGE(!refused, (refused ? refused->body : ""));
  return app;
}

http_response refusal(std::string_view body) {
  App app;
  auto refused = read_app(body, "", &app);
  REQUIRE(refused);
  return *refused;
}

Task task(std::string id, std::string version, std::string state,
          std::string staged_at = "2026-01-01T00:00:00.000Z") {
  Task t;
  t.set_id(std::move(id));
  t.set_version(std::move(version));
  t.set_state(std::move(state));
  t.set_staged_at(std::move(staged_at));
  return t;
}

App app_with(int instances, double min_health = 1, double over = 1) {
  App app = read(R"({"id": "web", "cmd": "serve"})");
  app.set_instances(instances);
  app.mutable_upgrade_strategy()->set_minimum_health_capacity(min_health);
  app.mutable_upgrade_strategy()->set_maximum_over_capacity(over);
  app.mutable_version_info()->set_last_config_change_at("v2");
  return app;
}

v1::Offer offer(std::string host = "node-1",
                std::string amount = "cpus:4;mem:4096;disk:100;"
                                     "ports:[31000-31004]") {
  v1::Offer o;
  o.mutable_id()->set_value("o1");
  o.mutable_agent_id()->set_value("agent-" + host);
  o.set_hostname(std::move(host));
  o.mutable_allocation_info()->set_role("*");
  resources::parse(amount)->allocate("*").to_proto(o.mutable_resources());
  return o;
}

std::string env_of(const v1::TaskInfo& info, const std::string& name) {
  for (const auto& v : info.command().environment().variables())
    if (v.name() == name)
      return v.value();
  return "<unset>";
}

} // namespace

TEST_CASE("an app gets Marathon's defaults and an absolute id") {
  auto app = read(R"({"id": "shop/web", "cmd": "serve"})");
  CHECK(app.id() == "/shop/web");
  CHECK(app.instances() == 1);
  CHECK(app.cpus() == 1);
  CHECK(app.mem() == 128);
  CHECK(app.disk() == 0);
  CHECK(app.backoff_seconds() == 1);
  CHECK(app.backoff_factor() == doctest::Approx(1.15));
  CHECK(app.max_launch_delay_seconds() == 300);
  CHECK(app.upgrade_strategy().minimum_health_capacity() == 1);
  CHECK(app.upgrade_strategy().maximum_over_capacity() == 1);
  CHECK(app.kill_selection() == "YOUNGEST_FIRST");
  REQUIRE(app.port_definitions_size() == 1);
  CHECK(app.port_definitions(0).port() == 0);
  CHECK(app.unreachable_strategy().inactive_after_seconds() == 300);
  CHECK(app.unreachable_strategy().expunge_after_seconds() == 600);
  // The URL's id wins over the body's; no port definitions stay none.
  auto put = read(R"({"id": "other", "cmd": "x", "portDefinitions": []})",
                  "/web");
  CHECK(put.id() == "/web");
  CHECK(put.port_definitions_size() == 0);
}

TEST_CASE("what Marathon answers with can be sent back: read-only fields "
          "and empty unsupported ones are ignored") {
  auto app = read(R"({"id": "/web", "cmd": "x", "tasksRunning": 3,
    "deployments": [{"id": "d"}], "version": "2026-01-01T00:00:00.000Z",
    "healthChecks": [], "container": null, "tasks": []})");
  CHECK(app.tasks_running() == 0);
  CHECK(app.deployments_size() == 0);
  CHECK_FALSE(app.has_version());
}

TEST_CASE("bad definitions are refused with Marathon's status and the path "
          "of each problem") {
  auto not_json = refusal(R"({"id": "web", )");
  CHECK(not_json.status == 400);
  CHECK(not_json.body.find("\"message\":\"Invalid JSON\"") != std::string::npos);
  auto check_422 = [](std::string_view body, std::string path,
                      std::string words) {
    auto r = refusal(body);
    CHECK(r.status == 422);
    CHECK_MESSAGE(r.body.find("\"path\":\"" + path + "\"") != std::string::npos,
                  r.body);
    CHECK_MESSAGE(r.body.find(words) != std::string::npos, r.body);
  };
  check_422(R"({"id": "web", "cmd": "x", "instances": -1})", "/instances",
            "at least 0");
  check_422(R"({"id": "web", "cmd": "x", "instances": "2"})", "/instances",
            "must be a number, not a string");
  check_422(R"({"id": "web", "cmd": "x", "cpus": true})", "/cpus",
            "must be a number");
  check_422(R"({"id": "Web_1", "cmd": "x"})", "/id", "must fully match");
  check_422(R"({"id": "web"})", "/", "one of 'cmd' or 'args'");
  check_422(R"({"id": "web", "cmd": "x", "args": ["y"]})", "/", "not both");
  check_422(R"({"id": "web", "cmd": "x", "constraints": [["rack", "NEAR"]]})",
            "/constraints(0)", "unknown constraint operator 'NEAR'");
  check_422(R"({"id": "web", "cmd": "x", "constraints": [["rack", 1]]})",
            "/constraints(0)", "must be a string");
  check_422(R"({"id": "web", "cmd": "x", "killSelection": "RANDOM"})",
            "/killSelection", "YOUNGEST_FIRST or OLDEST_FIRST");
  check_422(R"({"id": "web", "cmd": "x", "backoffFactor": 0.5})",
            "/backoffFactor", "at least 1");
  check_422(R"({"id": "web", "cmd": "x",
                "upgradeStrategy": {"minimumHealthCapacity": 2}})",
            "/upgradeStrategy/minimumHealthCapacity", "at most 1");
  check_422(R"({"id": "web", "cmd": "x", "requirePorts": true})",
            "/portDefinitions(0)/port", "requirePorts needs a fixed port");
  check_422(R"({"id": "web", "cmd": "x", "colour": "red"})", "/colour",
            "unknown field");
  check_422(R"({"id": "web", "cmd": "x", "unreachableStrategy":
                {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 30}})",
            "/unreachableStrategy/expungeAfterSeconds", "at least 60");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"protocol": "MESOS_HTTP", "portIndex": 1}]})",
            "/healthChecks(0)/portIndex", "must address an element");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"protocol": "COMMAND"}]})",
            "/healthChecks(0)/command", "needs a command");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"protocol": "GOPHER"}]})",
            "/healthChecks(0)/protocol", "must be one of");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"protocol": "MESOS_HTTPS"}]})",
            "/healthChecks(0)/protocol", "not supported by this Marathon yet");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"intervalSeconds": 5, "timeoutSeconds": 5}]})",
            "/healthChecks(0)/timeoutSeconds", "smaller than intervalSeconds");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [
                {"maxConsecutiveFailures": -1}]})",
            "/healthChecks(0)/maxConsecutiveFailures", "at least 0");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": [{}, {}]})",
            "/healthChecks", "at most one health check");
  check_422(R"({"id": "web", "cmd": "x", "healthChecks": {}})",
            "/healthChecks", "must be an array");
}

TEST_CASE("a health check gets Marathon's defaults and becomes the task's "
          "Mesos health check on its host port") {
  auto app = read(R"({"id": "web", "cmd": "serve", "cpus": 0.1,
    "portDefinitions": [{"port": 0}, {"port": 0}],
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/ping",
                      "portIndex": 1}]})");
  const auto& check = app.health_checks(0);
  CHECK(check.grace_period_seconds() == 300);
  CHECK(check.interval_seconds() == 60);
  CHECK(check.timeout_seconds() == 20);
  CHECK(check.max_consecutive_failures() == 3);
  CHECK(check.delay_seconds() == 15);
  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "web.t", "now");
  REQUIRE(fit.fits);
  const auto& hc = fit.launch.info.health_check();
  CHECK(hc.type() == v1::HealthCheck::HTTP);
  CHECK(hc.http().port() == 31001);
  CHECK(hc.http().path() == "/ping");
  CHECK(hc.grace_period_seconds() == 300);
  CHECK(hc.consecutive_failures() == 3);
  CHECK(fit.launch.task.health_checked());

  // Marathon's own default protocol is HTTP, on the first port.
  auto plain = read(R"({"id": "web", "cmd": "x", "healthChecks": [
    {"maxConsecutiveFailures": 0}]})");
  CHECK(plain.health_checks(0).protocol() == "HTTP");
  CHECK(plain.health_checks(0).path() == "/");
  auto plain_fit = fit_task(plain, {}, o,
                            *resources::from_proto(o.resources()), {},
                            "web.t", "now");
  REQUIRE(plain_fit.fits);
  CHECK(plain_fit.launch.info.health_check().http().port() == 31000);
  CHECK(plain_fit.launch.info.health_check().consecutive_failures() == 0);

  auto command = read(R"({"id": "web", "cmd": "x", "portDefinitions": [],
    "healthChecks": [{"protocol": "COMMAND",
                      "command": {"value": "test -f ready"}}]})");
  auto command_fit = fit_task(command, {}, o,
                              *resources::from_proto(o.resources()), {},
                              "web.t", "now");
  REQUIRE(command_fit.fits);
  CHECK(command_fit.launch.info.health_check().type()
        == v1::HealthCheck::COMMAND);
  CHECK(command_fit.launch.info.health_check().command().value()
        == "test -f ready");

  auto tcp = read(R"({"id": "web", "cmd": "x", "healthChecks": [
    {"protocol": "MESOS_TCP", "port": 8080}]})");
  auto tcp_fit = fit_task(tcp, {}, o, *resources::from_proto(o.resources()),
                          {}, "web.t", "now");
  REQUIRE(tcp_fit.fits);
  CHECK(tcp_fit.launch.info.health_check().tcp().port() == 8080);
}

TEST_CASE("a partial update replaces only the fields it names") {
  auto current = read(R"({"id": "web", "cmd": "x", "instances": 3,
                          "env": {"A": "1"}, "labels": {"tier": "web"}})");
  App patched;
  REQUIRE_FALSE(patch_app(R"({"instances": 5, "env": {"B": "2"}})", current,
                          &patched));
  CHECK(patched.instances() == 5);
  CHECK(patched.cmd() == "x");
  CHECK(patched.env().size() == 1);
  CHECK(patched.env().at("B") == "2");
  CHECK(patched.labels().at("tier") == "web");
  CHECK(patch_app(R"({"instances": -2})", current, &patched)->status == 422);
  // Patching what GET answered (with counts and tasks) patches only the
  // definition.
  App answered = current;
  answered.set_tasks_running(3);
  answered.add_tasks()->set_id("web.1");
  answered.add_deployments()->set_id("d");
  REQUIRE_FALSE(patch_app(R"({"instances": 4})", answered, &patched));
  CHECK(patched.tasks_size() == 0);
  CHECK_FALSE(patched.has_tasks_running());
  CHECK(patched.deployments_size() == 0);
}

TEST_CASE("a scale launches what is missing and kills the youngest extras") {
  auto app = app_with(3);
  std::map<std::string, Task> tasks{
    {"a", task("a", "v2", "TASK_RUNNING", "2026-01-01T00:00:01.000Z")}};
  auto up = plan_rollout(app, tasks, false);
  CHECK(up.launches == 2);
  CHECK(up.kills.empty());
  CHECK_FALSE(up.converged);
  app.set_instances(1);
  tasks["b"] = task("b", "v2", "TASK_RUNNING", "2026-01-01T00:00:03.000Z");
  tasks["c"] = task("c", "v2", "TASK_RUNNING", "2026-01-01T00:00:02.000Z");
  auto down = plan_rollout(app, tasks, false);
  CHECK(down.launches == 0);
  CHECK(down.kills == std::vector<std::string>{"b", "c"});
  app.set_kill_selection("OLDEST_FIRST");
  CHECK(plan_rollout(app, tasks, false).kills
        == std::vector<std::string>{"a", "c"});
  app.set_instances(3);
  CHECK(plan_rollout(app, tasks, false).converged);
  // Tasks being killed do not count: they are replaced.
  tasks["c"].set_killing(true);
  CHECK(plan_rollout(app, tasks, false).launches == 1);
  // An unreachable task counts until it is inactive, then it is replaced.
  tasks["b"].set_state("TASK_UNREACHABLE");
  CHECK(plan_rollout(app, tasks, false).launches == 1);
  CHECK_FALSE(plan_rollout(app, tasks, false).converged);
  tasks["b"].set_inactive(true);
  CHECK(plan_rollout(app, tasks, false).launches == 2);
}

TEST_CASE("an upgrade stays within over-capacity and above the healthy "
          "minimum") {
  // 4 instances, minimumHealthCapacity 0.5, maximumOverCapacity 0.25.
  auto app = app_with(4, 0.5, 0.25);
  std::map<std::string, Task> tasks;
  for (auto id : {"o1", "o2", "o3", "o4"})
    tasks[id] = task(id, "v1", "TASK_RUNNING");
  auto first = plan_rollout(app, tasks, false);
  CHECK(first.launches == 1); // 4 x 1.25 = 5 alive at most
  CHECK(first.kills.size() == 2); // 4 running, 2 must stay
  // While those two are being killed they still count against the 5, and
  // nothing else moves until the new task runs or they are gone.
  tasks["n1"] = task("n1", "v2", "TASK_STAGING");
  for (const auto& id : first.kills)
    tasks[id].set_killing(true);
  auto waiting = plan_rollout(app, tasks, false);
  CHECK(waiting.launches == 0);
  CHECK(waiting.kills.empty());
  // A running new task lets one more old task go.
  tasks["n1"].set_state("TASK_RUNNING");
  for (const auto& id : first.kills)
    tasks.erase(id);
  auto second = plan_rollout(app, tasks, false);
  CHECK(second.launches == 2);
  CHECK(second.kills.size() == 1);
  // A new task still staging does not count as running.
  tasks["n2"] = task("n2", "v2", "TASK_STAGING");
  tasks["n3"] = task("n3", "v2", "TASK_STAGING");
  tasks.erase(second.kills.at(0));
  auto third = plan_rollout(app, tasks, false);
  CHECK(third.kills.empty()); // o4 and n1 are the 2 that must run
  CHECK(third.launches == 1);
}

TEST_CASE("with a health check, tasks serve once healthy: a deployment "
          "waits for health and keeps the healthy minimum") {
  auto app = app_with(2, 0.5, 0); // one must stay healthy, none extra
  auto healthy = [](Task t, bool alive) {
    t.set_health_checked(true);
    t.add_health_check_results()->set_alive(alive);
    return t;
  };
  std::map<std::string, Task> tasks{
    {"o1", healthy(task("o1", "v1", "TASK_RUNNING"), true)},
    {"o2", healthy(task("o2", "v1", "TASK_RUNNING"), false)}};
  // The unhealthy old task goes first, the healthy one stays.
  auto first = plan_rollout(app, tasks, false);
  CHECK(first.kills == std::vector<std::string>{"o2"});
  tasks.erase("o2");
  tasks["n1"] = task("n1", "v2", "TASK_RUNNING");
  tasks["n1"].set_health_checked(true);
  // Running but not yet checked: o1 is still the only one serving.
  auto waiting = plan_rollout(app, tasks, false);
  CHECK(waiting.kills.empty());
  CHECK(waiting.launches == 0);
  tasks["n1"] = healthy(tasks["n1"], true);
  CHECK(plan_rollout(app, tasks, false).kills
        == std::vector<std::string>{"o1"});
  tasks.erase("o1");
  CHECK(plan_rollout(app, tasks, false).launches == 1);
  // Not converged while a new task is unhealthy.
  tasks["n2"] = healthy(task("n2", "v2", "TASK_RUNNING"), false);
  CHECK_FALSE(plan_rollout(app, tasks, false).converged);
  tasks["n2"].mutable_health_check_results(0)->set_alive(true);
  CHECK(plan_rollout(app, tasks, false).converged);
  // Tasks of a version without a check serve once running.
  std::map<std::string, Task> unchecked{
    {"o1", task("o1", "v1", "TASK_RUNNING")},
    {"o2", task("o2", "v1", "TASK_RUNNING")}};
  CHECK(plan_rollout(app, unchecked, false).kills.size() == 1);
}

TEST_CASE("with no room either way, an upgrade kills one old task first") {
  auto app = app_with(2, 1, 0); // capacity 1, over-capacity 0
  std::map<std::string, Task> tasks{{"o1", task("o1", "v1", "TASK_RUNNING")},
                                    {"o2", task("o2", "v1", "TASK_RUNNING")}};
  auto step = plan_rollout(app, tasks, false);
  CHECK(step.launches == 0);
  CHECK(step.kills.size() == 1);
  // Then it waits for that kill, launches one, and waits for it to run.
  tasks[step.kills[0]].set_killing(true);
  CHECK(plan_rollout(app, tasks, false).kills.empty());
  CHECK(plan_rollout(app, tasks, false).launches == 0);
  tasks.erase(step.kills[0]);
  CHECK(plan_rollout(app, tasks, false).launches == 1);
  tasks["n1"] = task("n1", "v2", "TASK_STAGING");
  CHECK(plan_rollout(app, tasks, false).kills.empty());
  tasks["n1"].set_state("TASK_RUNNING");
  CHECK(plan_rollout(app, tasks, false).kills.size() == 1);
}

TEST_CASE("removing an app kills every task; it converges once none is "
          "left") {
  auto app = app_with(2);
  std::map<std::string, Task> tasks{{"a", task("a", "v2", "TASK_RUNNING")}};
  auto step = plan_rollout(app, tasks, true);
  CHECK(step.kills == std::vector<std::string>{"a"});
  CHECK(step.launches == 0);
  CHECK(plan_rollout(app, {}, true).converged);
}

TEST_CASE("a task fits an offer with its resources, host ports and "
          "environment, or says why not") {
  auto app = read(R"({"id": "/shop/web", "cmd": "serve $PORT0", "cpus": 0.5,
    "mem": 64, "env": {"MODE": "prod"}, "labels": {"tier": "front"},
    "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0}],
    "taskKillGracePeriodSeconds": 2})");
  app.set_version("2026-01-01T00:00:00.000Z");
  auto o = offer();
  auto available = *resources::from_proto(o.resources());
  auto fit = fit_task(app, constraints_of(app), o, available, {},
                      "shop_web.t1", "now");
  REQUIRE_MESSAGE(fit.fits, fit.reason);
  const auto& info = fit.launch.info;
  CHECK(info.name() == "web.shop");
  CHECK(info.task_id().value() == "shop_web.t1");
  CHECK(env_of(info, "PORT0") == "31000");
  CHECK(env_of(info, "PORT1") == "31001");
  CHECK(env_of(info, "PORT_HTTP") == "31000");
  CHECK(env_of(info, "PORTS") == "31000,31001");
  CHECK(env_of(info, "MODE") == "prod");
  CHECK(env_of(info, "MARATHON_APP_ID") == "/shop/web");
  CHECK(env_of(info, "MARATHON_APP_LABEL_TIER") == "front");
  CHECK(info.kill_policy().grace_period().nanoseconds() == 2'000'000'000);
  CHECK(fit.launch.task.ports_size() == 2);
  CHECK(fit.launch.task.host() == "node-1");
  CHECK(available.contains(fit.launch.used));
  CHECK(fit.launch.used.scalar("cpus") == 0.5);

  // Five ports take two tasks of two ports; the third does not fit.
  available -= fit.launch.used;
  auto second = fit_task(app, constraints_of(app), o, available, {},
                         "shop_web.t2", "now");
  REQUIRE(second.fits);
  available -= second.launch.used;
  auto third = fit_task(app, constraints_of(app), o, available, {},
                        "shop_web.t3", "now");
  CHECK_FALSE(third.fits);
  CHECK(third.reason.find("not enough ports") != std::string::npos);

  auto big = read(R"({"id": "big", "cmd": "x", "mem": 8192})");
  auto no_mem = fit_task(big, {}, o, *resources::from_proto(o.resources()),
                         {}, "big.t", "now");
  CHECK(no_mem.reason == "not enough mem: need 8192, offer has 4096");

  auto unique = read(R"({"id": "u", "cmd": "x", "cpus": 0.1,
                        "constraints": [["hostname", "UNIQUE"]]})");
  placement_site there;
  there.hostname = "node-1";
  auto refused = fit_task(unique, constraints_of(unique), o,
                          *resources::from_proto(o.resources()), {there},
                          "u.t", "now");
  CHECK(refused.reason.find("[\"hostname\", \"UNIQUE\"]") != std::string::npos);
}

TEST_CASE("requirePorts takes exactly the definition's ports") {
  auto app = read(R"({"id": "web", "cmd": "x", "cpus": 0.1, "requirePorts": true,
                      "portDefinitions": [{"port": 31002}]})");
  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "web.t", "now");
  REQUIRE(fit.fits);
  CHECK(env_of(fit.launch.info, "PORT0") == "31002");
  auto elsewhere = offer("node-2", "cpus:1;mem:512;ports:[32000-32001]");
  auto refused = fit_task(app, {}, elsewhere,
                          *resources::from_proto(elsewhere.resources()), {},
                          "web.t2", "now");
  CHECK(refused.reason == "port 31002 is not offered (requirePorts)");
}
