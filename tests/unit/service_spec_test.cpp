// Service specs: a dcos-commons-style YAML file parses into the spec with
// its defaults, and every kind of bad input is refused naming the YAML path
// and line of the problem.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/service_spec.hpp"

using namespace dcos;

namespace {

const char* redis_spec = R"(name: redis
scheduler:
  principal: redis-principal
pods:
  node:
    count: 3
    placement: '[["hostname", "UNIQUE"]]'
    uris:
      - file:///opt/redis.tar.gz
    volume:
      path: data
      type: ROOT
      size: 512
    tasks:
      server:
        goal: RUNNING
        cmd: redis-server --port $PORT_REDIS --dir data
        cpus: 0.5
        memory: 256
        env:
          MODE: replica
          EMPTY:
        ports:
          redis:
            port: 0
            advertise: true
            vip:
              port: 6379
        readiness-check:
          cmd: redis-cli -p $PORT_REDIS ping
          interval: 5
          timeout: 10
        health-check:
          cmd: redis-cli -p $PORT_REDIS ping
          interval: 10
          grace-period: 30
          max-consecutive-failures: 3
          delay: 0
          timeout: 10
      backup:
        goal: finish
        essential: false
        cmd: redis-cli -p $PORT_REDIS bgsave
        cpus: 0.1
        memory: 32
plans:
  backup:
    strategy: serial
    phases:
      save:
        pod: node
        strategy: parallel
        steps:
          - 0: [[backup]]
          - default: [[backup], [server]]
)";

std::string error_of(const std::string& yaml) {
  auto spec = parse_service_spec(yaml);
  if (spec)
    return "(parsed)";
  CHECK(code_of(spec.error()) == errc::invalid_argument);
  return describe_reason(spec.error());
}

// `redis_spec` with the first occurrence of `from` replaced by `to`.
std::string edited(const std::string& from, const std::string& to) {
  std::string s = redis_spec;
  auto at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("a full spec parses with dcos-commons' defaults") {
  auto spec = parse_service_spec(redis_spec);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  CHECK(spec->name() == "redis");
  CHECK(spec->scheduler().principal() == "redis-principal");
  CHECK(spec->scheduler().user() == "root");
  CHECK(spec->scheduler().role() == "redis-role");
  REQUIRE(spec->pods_size() == 1);
  const auto& pod = spec->pods(0);
  CHECK(pod.count() == 3);
  CHECK(pod.placement() == R"([["hostname", "UNIQUE"]])");
  REQUIRE(pod.volumes_size() == 1);
  CHECK(pod.volumes(0).path() == "data");
  CHECK(pod.volumes(0).size_mb() == 512);
  REQUIRE(pod.tasks_size() == 2);
  const auto& server = pod.tasks(0);
  CHECK(server.name() == "server");
  CHECK(server.goal() == v1::ServiceSpec::Task::RUNNING);
  CHECK(server.essential());
  CHECK(server.cpus() == 0.5);
  CHECK(server.memory_mb() == 256);
  REQUIRE(server.env().variables_size() == 2);
  CHECK(server.env().variables(0).name() == "MODE");
  CHECK(server.env().variables(1).value().empty());
  REQUIRE(server.ports_size() == 1);
  CHECK(server.ports(0).env_key() == "PORT_REDIS");
  CHECK(server.ports(0).advertise());
  CHECK(server.ports(0).vip().prefix() == "redis");
  CHECK(server.ports(0).vip().port() == 6379);
  CHECK(server.has_readiness_check());
  CHECK(server.readiness_check().delay_s() == 0);
  CHECK(server.health_check().grace_period_s() == 30);
  const auto& backup = pod.tasks(1);
  CHECK(backup.goal() == v1::ServiceSpec::Task::FINISH);
  CHECK_FALSE(backup.essential());
  CHECK_FALSE(backup.has_health_check());
  REQUIRE(spec->plans_size() == 1);
  const auto& phase = spec->plans(0).phases(0);
  CHECK(phase.strategy() == "parallel");
  REQUIRE(phase.steps_size() == 2);
  CHECK(phase.steps(0).index() == 0);
  CHECK(phase.steps(1).index() == -1);
  CHECK(phase.steps(1).groups_size() == 2);
}

TEST_CASE("placement takes Marathon's JSON or colon form") {
  auto spec = parse_service_spec(
    edited(R"('[["hostname", "UNIQUE"]]')", "hostname:UNIQUE,rack:GROUP_BY:3"));
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  CHECK(spec->pods(0).placement()
        == R"([["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]])");
  CHECK(error_of(edited("UNIQUE", "SOMETIMES")).find("pods.node.placement "
                                                     "(line 7)")
        != std::string::npos);
}

TEST_CASE("replacement-failure-policy: unset, defaults, and bad values") {
  auto none = parse_service_spec(redis_spec);
  REQUIRE(none);
  CHECK_FALSE(none->has_replacement_failure_policy());
  auto defaults = parse_service_spec(std::string{redis_spec}
                                     + "replacement-failure-policy: {}\n");
  REQUIRE_MESSAGE(defaults, describe(defaults.error()));
  CHECK(defaults->replacement_failure_policy().permanent_failure_timeout_s()
        == 1200);
  CHECK(defaults->replacement_failure_policy().min_replace_delay_s() == 600);
  auto set = parse_service_spec(
    std::string{redis_spec}
    + "replacement-failure-policy:\n  permanent-failure-timeout-secs: 60\n"
      "  min-replace-delay-secs: 0\n");
  REQUIRE_MESSAGE(set, describe(set.error()));
  CHECK(set->replacement_failure_policy().permanent_failure_timeout_s()
        == 60);
  CHECK(set->replacement_failure_policy().min_replace_delay_s() == 0);
  CHECK(error_of(std::string{redis_spec}
                 + "replacement-failure-policy:\n"
                   "  permanent-failure-timeout-secs: -5\n")
          .find("replacement-failure-policy.permanent-failure-timeout-secs")
        != std::string::npos);
  CHECK(error_of(std::string{redis_spec}
                 + "replacement-failure-policy: {min-replace-delay: 5}\n")
          .find("replacement-failure-policy.min-replace-delay (line")
        != std::string::npos);
}

TEST_CASE("bad specs are refused naming the YAML path and line") {
  // A phase naming a pod the spec does not have.
  CHECK(error_of(edited("pod: node", "pod: nodes"))
        == "service spec: plans.backup.phases.save.pod (line 51): the spec "
           "has no pod 'nodes'");
  CHECK(error_of(edited("count: 3", "count: -1"))
        == "service spec: pods.node.count (line 6): must not be negative");
  CHECK(error_of(edited("strategy: serial", "strategy: sideways"))
        == "service spec: plans.backup.strategy (line 48): 'sideways' is not "
           "a strategy (serial, parallel)");
  CHECK(error_of(edited("strategy: parallel", "strategy: random"))
        .find("plans.backup.phases.save.strategy (line 52): 'random' is not "
              "a strategy")
        != std::string::npos);
  // A task without resources.
  CHECK(error_of(edited("        cpus: 0.1\n        memory: 32\n", ""))
        == "service spec: pods.node.tasks.backup (line 41): a task needs "
           "resources: cpus and memory, or a resource-set");
  CHECK(error_of(edited("cpus: 0.5", "cpus: 0")).find(
          "pods.node.tasks.server.cpus (line 18): must be positive")
        != std::string::npos);
  CHECK(error_of(edited("goal: RUNNING", "goal: FINISHED"))
        == "service spec: pods.node.tasks.server.goal (line 16): 'FINISHED' "
           "is not a goal (RUNNING, FINISH, ONCE)");
  CHECK(error_of(edited("        goal: RUNNING\n", ""))
        .find("pods.node.tasks.server.goal (line 16): is required")
        != std::string::npos);
  CHECK(error_of(edited("    count: 3\n", "")).find("pods.node.count")
        != std::string::npos);
  CHECK(error_of(edited("memory: 256", "mem: 256"))
        == "service spec: pods.node.tasks.server.mem (line 19): is not a "
           "known field");
  CHECK(error_of(edited("type: ROOT", "type: NFS"))
        == "service spec: pods.node.volume.type (line 12): 'NFS' is not a "
           "volume type (ROOT, MOUNT)");
  CHECK(error_of(edited("          interval: 5\n", ""))
        .find("pods.node.tasks.server.readiness-check.interval")
        != std::string::npos);
  CHECK(error_of(edited("          max-consecutive-failures: 3\n", ""))
        .find("health-check.max-consecutive-failures (line 34): is required")
        != std::string::npos);
  CHECK(error_of(edited("- 0: [[backup]]", "- 0: [[restore]]"))
        .find("pod 'node' has no task 'restore'")
        != std::string::npos);
  CHECK(error_of(edited("          - default: [[backup], [server]]\n", ""))
        .find("no steps for node-1 (give `default` or `1`)")
        != std::string::npos);
  CHECK(error_of(edited("          - 0: [[backup]]\n",
                        "          - 0: [[backup]]\n          - 0: "
                        "[[server]]\n"))
        .find("'0' appears twice")
        != std::string::npos);
  CHECK(error_of(edited("  node:\n", "  node:\n    count: 1\n"))
        .find("pods.node.count (line 7): appears twice")
        != std::string::npos);
  CHECK(error_of(edited("name: redis", "name: ''")).find("name (line 1)")
        != std::string::npos);
  CHECK(error_of(edited("  node:\n", "  no de:\n"))
        .find("'no de' is not a valid name")
        != std::string::npos);
  CHECK(error_of("") == "service spec: the spec is empty");
  CHECK(error_of("name: x\npods: [1, 2]\n")
        == "service spec: pods (line 2): must be a map");
  CHECK(error_of("name: x\n").find("pods") != std::string::npos);
  CHECK(error_of("name: [x\n").find("not valid YAML") != std::string::npos);
}

TEST_CASE("a task uses its resource set or its own resources, not both") {
  std::string spec = R"(name: s
pods:
  p:
    count: 1
    resource-sets:
      shared:
        cpus: 1
        memory: 128
        volume: {path: v, type: ROOT, size: 10}
    tasks:
      a: {goal: RUNNING, cmd: x, resource-set: shared}
      b: {goal: FINISH, cmd: y, resource-set: shared}
)";
  // Tasks sharing a set take turns: the default deploy plan's one step
  // with both cannot be.
  CHECK(error_of(spec) == "service spec: pods.p.tasks (line 4): tasks 'a' and 'b' "
                          "share resource set 'shared': they cannot be "
                          "launched in one step");
  spec += R"(plans:
  deploy:
    phases:
      all:
        pod: p
        steps:
          - default: [[a], [b]]
)";
  auto ok = parse_service_spec(spec);
  REQUIRE_MESSAGE(ok, describe(ok.error()));
  auto together = spec;
  together.replace(together.find("[[a], [b]]"), 10, "[[a, b]]");
  CHECK(error_of(together).find("plans.deploy.phases.all.steps (line 17): "
                                "tasks 'a' and 'b' share")
        != std::string::npos);
  CHECK(ok->pods(0).resource_sets(0).volumes(0).size_mb() == 10);
  auto both = spec;
  both.replace(both.find("resource-set: shared}"), 21,
               "resource-set: shared, cpus: 1}");
  CHECK(error_of(both).find("pods.p.tasks.a (line 11): a task takes its "
                            "resources from its resource-set or states them "
                            "itself, not both")
        != std::string::npos);
  auto missing = spec;
  missing.replace(missing.find("resource-set: shared}"), 21,
                  "resource-set: other}");
  CHECK(error_of(missing).find("pods.p.tasks.a.resource-set (line 11): pod "
                               "'p' has no resource set 'other'")
        != std::string::npos);
}

TEST_CASE("load_service_spec renders the file and reads its templates") {
  auto dir = std::filesystem::temp_directory_path()
             / ("spec_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "svc.yml").string();
  {
    std::ofstream out{path};
    out << "name: s\npods:\n  p:\n    count: {{COUNT}}\n    tasks:\n"
           "      t:\n        goal: RUNNING\n        cmd: x\n"
           "        cpus: 1\n        memory: {{#BIG}}1024{{/BIG}}"
           "{{^BIG}}64{{/BIG}}\n        configs:\n          conf:\n"
           "            template: t.conf.mustache\n"
           "            dest: t.conf\n";
  }
  std::map<std::string, std::string> env{{"COUNT", "2"}, {"BIG", "false"}};
  auto no_count = load_service_spec(path, {{"BIG", "true"}});
  REQUIRE_FALSE(no_count);
  CHECK(describe_reason(no_count.error()) == path + ": no value for COUNT");
  auto missing = load_service_spec(path, env);
  REQUIRE_FALSE(missing);
  CHECK(describe_reason(missing.error()).find("configs.conf.template: "
                                              "cannot read")
        != std::string::npos);
  std::ofstream{(dir / "t.conf.mustache").string()} << "port={{PORT}}\n";
  auto found = load_service_spec(path, env);
  REQUIRE_MESSAGE(found, describe(found.error()));
  CHECK(found->pods(0).count() == 2);
  CHECK(found->pods(0).tasks(0).memory_mb() == 64);
  CHECK(found->pods(0).tasks(0).configs(0).template_text()
        == "port={{PORT}}\n");
  auto bad = (dir / "bad.yml").string();
  std::ofstream{bad} << "name: s\npods:\n  p:\n    count: -2\n";
  CHECK(describe_reason(load_service_spec(bad).error())
        == bad + ": service spec: pods.p.count (line 4): must not be "
                 "negative");
  CHECK(code_of(load_service_spec((dir / "none.yml").string()).error())
        == errc::not_found);
  std::filesystem::remove_all(dir);
}
