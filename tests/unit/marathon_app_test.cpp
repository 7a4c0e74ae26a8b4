// Marathon's pure parts: reading app definitions as Marathon does (defaults,
// 400/422 answers naming the path), the rollout rules (how many to launch and
// which to kill, never below the healthy minimum), and fitting a task into
// an offer (resources, ports, constraints, the environment a task gets).
#include <doctest/doctest.h>
#include <fmt/format.h>

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

// A definition refused with 422, naming `path`, with `words` in the
// answer.
void check_422(std::string_view body, const std::string& path,
               const std::string& words) {
  auto r = refusal(body);
  CHECK(r.status == 422);
  CHECK_MESSAGE(r.body.find("\"path\":\"" + path + "\"") != std::string::npos,
                r.body);
  CHECK_MESSAGE(r.body.find(words) != std::string::npos, r.body);
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
  CHECK(hc.http().scheme() == "http");
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

  // HTTPS, Mesos' or Marathon's, is the executor's check over TLS; a
  // relative path is made absolute, as Marathon does.
  for (auto protocol : {"MESOS_HTTPS", "HTTPS"}) {
    CAPTURE(protocol);
    auto secure = read(fmt::format(R"({{"id": "web", "cmd": "x",
      "healthChecks": [{{"protocol": "{}", "path": "health"}}]}})",
                                   protocol));
    auto secure_fit = fit_task(secure, {}, o,
                               *resources::from_proto(o.resources()), {},
                               "web.t", "now");
    REQUIRE(secure_fit.fits);
    const auto& shc = secure_fit.launch.info.health_check();
    CHECK(shc.type() == v1::HealthCheck::HTTP);
    CHECK(shc.http().scheme() == "https");
    CHECK(shc.http().port() == 31000);
    CHECK(shc.http().path() == "/health");
  }
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

namespace {

std::string label_of(const v1::Labels& labels, const std::string& key) {
  for (const auto& l : labels.labels())
    if (l.key() == key)
      return l.value();
  return "<unset>";
}

} // namespace

TEST_CASE("an app on the host network gets Marathon's host network and no "
          "container") {
  auto app = read(R"({"id": "plain", "cmd": "x"})");
  REQUIRE(app.networks_size() == 1);
  CHECK(app.networks(0).mode() == "host");
  CHECK_FALSE(app.has_container());
  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "plain.t", "now");
  REQUIRE(fit.fits);
  CHECK_FALSE(fit.launch.info.has_container());
  // Service discovery sees the host port.
  const auto& ports = fit.launch.info.discovery().ports().ports();
  REQUIRE(ports.size() == 1);
  CHECK(ports[0].number() == 31000);
  CHECK(fit.launch.info.discovery().name() == "plain");
}

TEST_CASE("a Docker app in Marathon 1.4's bridge spelling runs its image on "
          "the bridge with a mapped host port") {
  auto app = read(R"({"id": "/shop/web", "cmd": "httpd -f -p 80",
    "cpus": 0.1, "mem": 32,
    "container": {"type": "DOCKER", "docker": {"image": "busybox",
      "network": "BRIDGE", "portMappings": [{"containerPort": 80,
      "hostPort": 0, "name": "http", "labels": {"VIP_0": "/web:80"}}]}}})");
  // Moved to where Marathon 1.5 keeps them; no port definitions.
  REQUIRE(app.networks_size() == 1);
  CHECK(app.networks(0).mode() == "container/bridge");
  CHECK_FALSE(app.container().docker().has_network());
  CHECK(app.container().docker().port_mappings_size() == 0);
  REQUIRE(app.container().port_mappings_size() == 1);
  CHECK(app.container().port_mappings(0).protocol() == "tcp");
  CHECK(app.port_definitions_size() == 0);

  auto o = offer();
  auto available = *resources::from_proto(o.resources());
  auto fit = fit_task(app, {}, o, available, {}, "shop_web.t1", "now");
  REQUIRE_MESSAGE(fit.fits, fit.reason);
  const auto& info = fit.launch.info;
  REQUIRE(info.has_container());
  CHECK(info.container().type() == v1::ContainerInfo::MESOS);
  CHECK(info.container().mesos().image().type() == v1::Image::DOCKER);
  CHECK(info.container().mesos().image().docker().name() == "busybox");
  REQUIRE(info.container().network_infos_size() == 1);
  const auto& network = info.container().network_infos(0);
  CHECK(network.name() == "mesos-bridge");
  REQUIRE(network.port_mappings_size() == 1);
  CHECK(network.port_mappings(0).host_port() == 31000);
  CHECK(network.port_mappings(0).container_port() == 80);
  CHECK(env_of(info, "PORT0") == "31000");
  CHECK(env_of(info, "PORT_HTTP") == "31000");
  CHECK(env_of(info, "PORT_80") == "31000");
  CHECK(fit.launch.task.ports_size() == 1);
  CHECK(fit.launch.used.ranges("ports")->size() == 1);
  const auto& ports = info.discovery().ports().ports();
  REQUIRE(ports.size() == 1);
  CHECK(ports[0].number() == 31000);
  CHECK(ports[0].name() == "http");
  CHECK(label_of(ports[0].labels(), "VIP_0") == "/web:80");
}

TEST_CASE("an app on a named container network: container ports, host "
          "ports only where mapped, checks on the container port, volumes") {
  auto app = read(R"({"id": "db", "cmd": "serve", "cpus": 0.1, "mem": 32,
    "networks": [{"mode": "container", "name": "blue"}],
    "container": {"type": "MESOS", "docker": {"image": "busybox"},
      "volumes": [{"containerPath": "/data", "hostPath": "/srv/db",
                   "mode": "RO"}],
      "portMappings": [{"containerPort": 8080, "name": "api"},
                       {"containerPort": 9090, "hostPort": 0,
                        "protocol": "udp,tcp"}]},
    "healthChecks": [{"protocol": "MESOS_HTTP", "portIndex": 0}]})");
  CHECK(app.container().type() == "MESOS");
  CHECK_FALSE(app.container().port_mappings(0).has_host_port());
  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "db.t1", "now");
  REQUIRE_MESSAGE(fit.fits, fit.reason);
  const auto& info = fit.launch.info;
  REQUIRE(info.container().network_infos_size() == 1);
  const auto& network = info.container().network_infos(0);
  CHECK(network.name() == "blue");
  // One host port (tcp and udp) for the second mapping only.
  REQUIRE(network.port_mappings_size() == 2);
  CHECK(network.port_mappings(0).host_port() == 31000);
  CHECK(network.port_mappings(0).container_port() == 9090);
  CHECK(fit.launch.task.ports_size() == 1);
  CHECK(fit.launch.task.ports(0) == 31000);
  CHECK(env_of(info, "PORT0") == "8080");
  CHECK(env_of(info, "PORT1") == "31000");
  CHECK(env_of(info, "PORTS") == "8080,31000");
  CHECK(env_of(info, "PORT_API") == "8080");
  // The executor probes the container's port at the container's address.
  CHECK(info.health_check().http().port() == 8080);
  REQUIRE(info.container().volumes_size() == 1);
  CHECK(info.container().volumes(0).container_path() == "/data");
  CHECK(info.container().volumes(0).host_path() == "/srv/db");
  CHECK(info.container().volumes(0).mode() == v1::Volume::RO);
  // Discovery: each port in the container's scope, the mapped one also on
  // the host, once per protocol.
  std::vector<std::string> seen;
  for (const auto& p : info.discovery().ports().ports())
    seen.push_back(fmt::format("{}/{}/{}", p.number(), p.protocol(),
                               label_of(p.labels(), "network-scope")));
  CHECK(seen == std::vector<std::string>{
                  "8080/tcp/container", "9090/tcp/container",
                  "9090/udp/container", "31000/tcp/host", "31000/udp/host"});
}

TEST_CASE("containers and networks Marathon refuses, or this Marathon "
          "cannot run, are refused with the path") {
  check_422(R"({"id": "a", "cmd": "x", "container": {"portMappings":
                [{"containerPort": 80}], "docker": {"image": "i"}}})",
            "/container/portMappings", "only allowed with container");
  check_422(R"({"id": "a", "cmd": "x", "portDefinitions": [{"port": 0}],
                "networks": [{"mode": "container", "name": "blue"}]})",
            "/portDefinitions", "only allowed on the host network");
  check_422(R"({"id": "a", "cmd": "x", "networks": [{"mode": "container"}]})",
            "/networks(0)/name", "needs a name");
  check_422(R"({"id": "a", "cmd": "x", "networks": [{"mode": "overlay"}]})",
            "/networks(0)/mode", "must be one of");
  check_422(R"({"id": "a", "cmd": "x", "networks": [{"mode": "host"},
                {"mode": "container", "name": "blue"}]})",
            "/networks(0)/mode", "cannot be combined");
  check_422(R"({"id": "a", "cmd": "x", "container": {"type": "DOCKER"}})",
            "/container/docker/image", "needs an image");
  check_422(R"({"id": "a", "cmd": "x", "container": {"type": "RKT"}})",
            "/container/type", "DOCKER or MESOS");
  check_422(R"({"id": "a", "cmd": "x", "container": {"docker":
                {"image": "i", "privileged": true}}})",
            "/container/docker/privileged", "not supported");
  check_422(R"({"id": "a", "cmd": "x", "container": {"docker":
                {"image": "i", "parameters": [{"key": "a", "value": "b"}]}}})",
            "/container/docker/parameters", "not supported");
  check_422(R"({"id": "a", "cmd": "x", "container": {"type": "MESOS",
                "volumes": [{"containerPath": "data", "external":
                             {"name": "v", "provider": "dvdi"}}]}})",
            "/container/volumes(0)/external", "not supported");
  check_422(R"({"id": "a", "cmd": "x", "container": {"type": "MESOS",
                "volumes": [{"containerPath": "/d", "mode": "RX",
                             "hostPath": "/srv"}]}})",
            "/container/volumes(0)/mode", "RW or RO");
  check_422(R"({"id": "a", "cmd": "x", "container": {"docker":
                {"image": "i", "network": "USER"}}})",
            "/container/docker/network", "instead of USER");
  check_422(R"({"id": "a", "cmd": "x",
                "networks": [{"mode": "container", "name": "blue"}],
                "container": {"portMappings": [{"containerPort": 80,
                  "networkNames": ["red"]}]}})",
            "/container/portMappings(0)/networkNames(0)", "names no container");
  check_422(R"({"id": "a", "cmd": "x",
                "networks": [{"mode": "container", "name": "blue"}],
                "container": {"portMappings": [{"hostPort": 0}]}})",
            "/container/portMappings(0)/containerPort", "must be set");
  check_422(R"({"id": "a", "cmd": "x",
                "networks": [{"mode": "container", "name": "blue"},
                             {"mode": "container", "name": "red"}],
                "container": {"portMappings": [{"containerPort": 80,
                  "hostPort": 0}]}})",
            "/container/portMappings(0)/networkNames", "must name the one");
  check_422(R"({"id": "a", "cmd": "x",
                "networks": [{"mode": "container", "name": "blue"}],
                "healthChecks": [{"protocol": "MESOS_TCP"}]})",
            "/healthChecks(0)/portIndex", "must address an element");
}

TEST_CASE("a partial update that moves an app to a container network drops "
          "its host port definitions") {
  auto current = read(R"({"id": "web", "cmd": "x"})");
  REQUIRE(current.port_definitions_size() == 1);
  App patched;
  auto refused = patch_app(R"({"networks": [{"mode": "container",
    "name": "blue"}], "container": {"type": "MESOS",
    "portMappings": [{"containerPort": 80}]}})",
                           current, &patched);
  REQUIRE_MESSAGE(!refused, refused->body);
  CHECK(patched.port_definitions_size() == 0);
  CHECK(patched.networks(0).name() == "blue");
  CHECK(patched.container().port_mappings(0).container_port() == 80);
}

TEST_CASE("fetch (and Marathon's older uris) puts files in the sandbox "
          "through the task's command") {
  auto app = read(R"({"id": "f", "cmd": "./run.sh", "fetch": [
    {"uri": "http://repo.local/site.tar.gz"},
    {"uri": "file:///opt/run.sh", "executable": true,
     "outputFile": "run.sh"}]})");
  REQUIRE(app.fetch_size() == 2);
  CHECK(app.fetch(0).extract());
  CHECK_FALSE(app.fetch(0).executable());
  CHECK_FALSE(app.fetch(0).cache());
  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "f.t", "now");
  REQUIRE(fit.fits);
  const auto& uris = fit.launch.info.command().uris();
  REQUIRE(uris.size() == 2);
  CHECK(uris[0].value() == "http://repo.local/site.tar.gz");
  CHECK(uris[0].extract());
  CHECK(uris[1].executable());
  CHECK(uris[1].output_file() == "run.sh");

  auto legacy = read(R"({"id": "f", "cmd": "x",
                         "uris": ["file:///opt/a.tgz", "/opt/b"]})");
  REQUIRE(legacy.fetch_size() == 2);
  CHECK(legacy.fetch(1).uri() == "/opt/b");
  CHECK(legacy.fetch(1).extract());
  // Answers speak `fetch` only.
  std::string answer;
  REQUIRE(google::protobuf::util::MessageToJsonString(legacy, &answer).ok());
  CHECK(answer.find("uris") == std::string::npos);

  check_422(R"({"id": "f", "cmd": "x", "uris": ["/a"],
                "fetch": [{"uri": "/b"}]})",
            "/uris", "not both");
  check_422(R"({"id": "f", "cmd": "x", "uris": [1]})", "/uris",
            "array of strings");
  check_422(R"({"id": "f", "cmd": "x", "fetch": [{"uri": "ftp://x/y"}]})",
            "/fetch(0)/uri", "must be a file://, http:// or https:// URI");
  CHECK(read(R"({"id": "f", "cmd": "x", "fetch": [{"uri": "https://x/y"}]})")
          .fetch(0)
          .uri()
        == "https://x/y");
  check_422(R"({"id": "f", "cmd": "x", "fetch": [{"uri": "a/b"}]})",
            "/fetch(0)/uri", "absolute path");
  check_422(R"({"id": "f", "cmd": "x", "fetch": [{"uri": "/a",
                "outputFile": "../b"}]})",
            "/fetch(0)/outputFile", "relative path inside");
}

TEST_CASE("the same definition with its maps built in another order is the "
          "same definition") {
  auto a = read(R"({"id": "m", "cmd": "x",
                    "env": {"A": "1", "B": "2", "C": "3", "D": "4"}})");
  auto b = read(R"({"id": "m", "cmd": "x",
                    "env": {"D": "4", "C": "3", "B": "2", "A": "1"}})");
  CHECK(same_definition(a, b));
  (*b.mutable_env())["A"] = "changed";
  CHECK_FALSE(same_definition(a, b));
}

TEST_CASE("a readiness check gets Marathon's defaults, needs a named port, "
          "and holds a task back until it is ready") {
  auto app = read(R"({"id": "r", "cmd": "x",
    "portDefinitions": [{"port": 0, "name": "http-api"}],
    "readinessChecks": [{}]})");
  REQUIRE(app.readiness_checks_size() == 1);
  const auto& check = app.readiness_checks(0);
  CHECK(check.name() == "readinessCheck");
  CHECK(check.protocol() == "HTTP");
  CHECK(check.path() == "/");
  CHECK(check.port_name() == "http-api");
  CHECK(check.interval_seconds() == 30);
  CHECK(check.timeout_seconds() == 10);
  REQUIRE(check.http_status_codes_for_ready_size() == 1);
  CHECK(check.http_status_codes_for_ready(0) == 200);
  CHECK_FALSE(check.preserve_last_response());

  auto o = offer();
  auto fit = fit_task(app, {}, o, *resources::from_proto(o.resources()), {},
                      "r.t", "now");
  REQUIRE(fit.fits);
  auto task = fit.launch.task;
  CHECK(task.readiness_checked());
  task.set_state("TASK_RUNNING");
  CHECK_FALSE(is_ready(task));
  task.set_ready(true);
  CHECK(is_ready(task));

  check_422(R"({"id": "r", "cmd": "x", "readinessChecks": [{}]})",
            "/readinessChecks(0)/portName", "no port of the app is named");
  check_422(R"({"id": "r", "cmd": "x",
                "portDefinitions": [{"port": 0, "name": "http-api"}],
                "readinessChecks": [{"protocol": "GOPHER"}]})",
            "/readinessChecks(0)/protocol", "must be HTTP or HTTPS");
  check_422(R"({"id": "r", "cmd": "x",
                "portDefinitions": [{"port": 0, "name": "http-api"}],
                "readinessChecks": [{}, {}]})",
            "/readinessChecks", "at most one");
  check_422(R"({"id": "r", "cmd": "x",
                "portDefinitions": [{"port": 0, "name": "http-api"}],
                "readinessChecks": [{"intervalSeconds": 5,
                                     "timeoutSeconds": 5}]})",
            "/readinessChecks(0)/timeoutSeconds", "smaller than");
  check_422(R"({"id": "r", "cmd": "x",
                "portDefinitions": [{"port": 0, "name": "http-api"}],
                "readinessChecks": [{"httpStatusCodesForReady": [42]}]})",
            "/readinessChecks(0)/httpStatusCodesForReady(0)", "at least 100");
}

TEST_CASE("acceptedResourceRoles picks the resources of those roles: "
          "reserved for a public role, or unreserved") {
  // An offer to a Marathon in role slave_public: some of it reserved for
  // that role, some unreserved.
  v1::Offer o;
  o.mutable_id()->set_value("o1");
  o.mutable_agent_id()->set_value("agent-public");
  o.set_hostname("public-1");
  o.mutable_allocation_info()->set_role("slave_public");
  resources::parse("cpus(slave_public):1;mem(slave_public):256;"
                   "ports(slave_public):[80-80];cpus:2;mem:1024;"
                   "ports:[31000-31001]")
    ->allocate("slave_public")
    .to_proto(o.mutable_resources());
  auto available = *resources::from_proto(o.resources());

  auto lb = read(R"({"id": "lb", "cmd": "x", "cpus": 0.5, "mem": 128,
    "requirePorts": true, "portDefinitions": [{"port": 80}],
    "acceptedResourceRoles": ["slave_public"]})");
  auto fit = fit_task(lb, {}, o, available, {}, "lb.t", "now");
  REQUIRE_MESSAGE(fit.fits, fit.reason);
  CHECK(fit.launch.used.reserved("slave_public").scalar("cpus") == 0.5);
  CHECK(fit.launch.used.unreserved().empty());
  CHECK(fit.launch.task.ports(0) == 80);
  CHECK(available.contains(fit.launch.used));

  // Too much for the role's share: refused as Marathon names it, although
  // the unreserved part would have room.
  auto big = read(R"({"id": "lb", "cmd": "x", "cpus": 1.5, "mem": 128,
    "acceptedResourceRoles": ["slave_public"], "portDefinitions": []})");
  auto refused = fit_task(big, {}, o, available, {}, "lb.t2", "now");
  CHECK_FALSE(refused.fits);
  CHECK(refused.reason_code == "UnfulfilledRole");
  CHECK(refused.reason.find("accepted roles [slave_public]")
        != std::string::npos);

  // "*" keeps an app off the reserved resources.
  auto plain = read(R"({"id": "web", "cmd": "x", "cpus": 1.5, "mem": 128,
    "acceptedResourceRoles": ["*"]})");
  auto unreserved = fit_task(plain, {}, o, available, {}, "web.t", "now");
  REQUIRE_MESSAGE(unreserved.fits, unreserved.reason);
  CHECK(unreserved.launch.used.reserved().empty());
  CHECK(unreserved.launch.task.ports(0) == 31000);

  // No list: anything the offer has, reserved first.
  auto any = read(R"({"id": "any", "cmd": "x", "cpus": 2.5, "mem": 128,
    "portDefinitions": []})");
  auto both = fit_task(any, {}, o, available, {}, "any.t", "now");
  REQUIRE_MESSAGE(both.fits, both.reason);
  CHECK(both.launch.used.reserved("slave_public").scalar("cpus") == 1);
  CHECK(both.launch.used.unreserved().scalar("cpus") == 1.5);

  check_422(R"({"id": "r", "cmd": "x", "acceptedResourceRoles": ["a b"]})",
            "/acceptedResourceRoles(0)", "is not a valid role");
}

TEST_CASE("a resident app: persistent volumes get Marathon's defaults, an "
          "upgrade strategy of 0.5/0 and a disabled unreachable strategy") {
  auto app = read(R"({"id": "db", "cmd": "x", "container": {"type": "MESOS",
    "volumes": [{"containerPath": "data", "persistent": {"size": 10}}]}})");
  CHECK(is_resident(app));
  const auto& v = app.container().volumes(0);
  CHECK(v.mode() == "RW");
  CHECK(v.persistent().type() == "root");
  CHECK(v.persistent().size() == 10);
  CHECK(app.upgrade_strategy().minimum_health_capacity() == 0.5);
  CHECK(app.upgrade_strategy().maximum_over_capacity() == 0);
  CHECK(app.unreachable_strategy().disabled());
  // Marathon's deprecated residency, as it fills it in.
  CHECK(app.residency().relaunch_escalation_timeout_seconds() == 3600);
  CHECK(app.residency().task_lost_behavior() == "WAIT_FOREVER");
  auto json = to_marathon_json(app);
  CHECK_MESSAGE(json.find(R"("unreachableStrategy":"disabled")")
                  != std::string::npos,
                json);
  // What it answers can be sent back.
  auto again = read(json);
  CHECK(again.unreachable_strategy().disabled());
  CHECK(!is_resident(read(R"({"id": "web", "cmd": "x"})")));
  // An empty `persistent`, as older definitions had: a host volume.
  auto host = read(R"({"id": "h", "cmd": "x", "container": {"type": "MESOS",
    "volumes": [{"containerPath": "/d", "hostPath": "/srv", "mode": "RO",
                 "persistent": {}}]}})");
  CHECK(!is_resident(host));
  CHECK(host.upgrade_strategy().maximum_over_capacity() == 1);
  // Spelled out, as Marathon's documentation does.
  auto spelled = read(R"({"id": "db", "cmd": "x",
    "unreachableStrategy": "disabled",
    "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
    "container": {"type": "MESOS", "volumes": [{"containerPath": "data",
      "mode": "RW", "persistent": {"type": "root", "size": 10,
      "constraints": []}}]}})");
  CHECK(spelled.upgrade_strategy().minimum_health_capacity() == 0);
  // An app that is not resident may disable it too.
  CHECK(read(R"({"id": "w", "cmd": "x", "unreachableStrategy": "disabled"})")
          .unreachable_strategy()
          .disabled());
}

TEST_CASE("resident apps Marathon refuses, with the path") {
  auto volume = [](const std::string& v) {
    return fmt::format(R"({{"id": "db", "cmd": "x", "container": {{"type":
      "MESOS", "volumes": [{}]}}}})", v);
  };
  check_422(volume(R"({"containerPath": "a/b", "persistent": {"size": 1}})"),
            "/container/volumes(0)/containerPath", "must not contain");
  check_422(volume(R"({"containerPath": "..", "persistent": {"size": 1}})"),
            "/container/volumes(0)/containerPath", "directory name");
  check_422(volume(R"({"containerPath": "d", "mode": "RO",
                       "persistent": {"size": 1}})"),
            "/container/volumes(0)/mode", "must be RW");
  check_422(volume(R"({"containerPath": "d", "persistent": {"size": 0}})"),
            "/container/volumes(0)/persistent/size", "greater than 0");
  check_422(volume(R"({"containerPath": "d",
                       "persistent": {"size": 1, "type": "ssd"}})"),
            "/container/volumes(0)/persistent/type", "root, path or mount");
  check_422(volume(R"({"containerPath": "d",
                       "persistent": {"size": 1, "maxSize": 2}})"),
            "/container/volumes(0)/persistent/maxSize", "Only mount");
  check_422(volume(R"({"containerPath": "d", "persistent": {"size": 4,
                       "type": "mount", "maxSize": 2}})"),
            "/container/volumes(0)/persistent/maxSize", "larger than size");
  check_422(volume(R"({"containerPath": "d", "persistent": {"size": 1,
                       "constraints": [["path", "LIKE", "/mnt"]]}})"),
            "/container/volumes(0)/persistent/constraints",
            "Constraints on root volumes");
  check_422(volume(R"({"containerPath": "d", "persistent": {"size": 1,
                       "type": "mount",
                       "constraints": [["path", "IS", "/mnt"]]}})"),
            "/container/volumes(0)/persistent/constraints(0)",
            "one of LIKE, UNLIKE");
  check_422(R"({"id": "db", "cmd": "x",
                "unreachableStrategy": {"inactiveAfterSeconds": 60},
                "container": {"type": "MESOS", "volumes": [
                  {"containerPath": "d", "persistent": {"size": 1}}]}})",
            "/unreachableStrategy", "must be disabled for resident");
  check_422(R"({"id": "db", "cmd": "x",
                "upgradeStrategy": {"maximumOverCapacity": 0.5},
                "container": {"type": "MESOS", "volumes": [
                  {"containerPath": "d", "persistent": {"size": 1}}]}})",
            "/upgradeStrategy/maximumOverCapacity", "must be 0");
  check_422(R"({"id": "db", "cmd": "x",
                "residency": {"taskLostBehavior": "GIVE_UP"},
                "container": {"type": "MESOS", "volumes": [
                  {"containerPath": "d", "persistent": {"size": 1}}]}})",
            "/residency/taskLostBehavior", "WAIT_FOREVER");
  check_422(R"({"id": "w", "cmd": "x", "unreachableStrategy": "never"})",
            "/unreachableStrategy", "\\\"disabled\\\" or an object");
}

TEST_CASE("a resident app keeps its resources, volumes and host ports") {
  auto from = read(R"({"id": "db", "cmd": "x", "cpus": 1,
    "portDefinitions": [{"port": 0}],
    "container": {"type": "MESOS", "volumes": [
      {"containerPath": "d", "persistent": {"size": 1}}]}})");
  auto same = from;
  same.set_cmd("y");
  same.set_instances(3);
  CHECK(resident_update_violations(from, same).empty());
  auto more = from;
  more.set_cpus(2);
  auto bad = resident_update_violations(from, more);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].path == "/cpus");
  CHECK(bad[0].message.find("may not change resource requirements")
        != std::string::npos);
  auto bigger = from;
  bigger.mutable_container()->mutable_volumes(0)->mutable_persistent()
    ->set_size(2);
  bad = resident_update_violations(from, bigger);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].message == "Persistent volumes can not be changed!");
  auto plain = read(R"({"id": "db", "cmd": "x", "cpus": 1})");
  CHECK(!resident_update_violations(from, plain).empty());
  CHECK(!resident_update_violations(plain, from).empty());
  auto ports = from;
  ports.add_port_definitions()->set_port(0);
  CHECK(!resident_update_violations(from, ports).empty());
  CHECK(resident_update_violations(plain, plain).empty());
}
