// The agent-to-executor environment: what the agent writes is what the
// executor reads, and a bad value is refused naming its variable.
#include <algorithm>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/executor_environment.hpp"

using namespace dcos;
using namespace std::chrono_literals;

namespace {

executor_environment sample() {
  executor_environment e;
  e.agent_endpoint = "10.0.0.1:5052";
  e.agent_id = "a-1";
  e.framework_id = "f-1";
  e.executor_id = "e-1";
  e.container_id = "c-1";
  e.sandbox = "/var/lib/dcos/sandbox";
  e.program = executor_program::default_executor;
  e.containerizer = "/usr/libexec/dcos-containerizer";
  e.fetcher = "/usr/libexec/dcos-fetcher";
  e.fetch_cache = "/var/lib/dcos/fetch_cache";
  e.log_level = "debug";
  e.recovery_timeout = 90s;
  return e;
}

bool has(const std::vector<std::string>& env, const std::string& kv) {
  return std::find(env.begin(), env.end(), kv) != env.end();
}

} // namespace

TEST_CASE("to_env and from_env round-trip every field") {
  for (auto program : {executor_program::custom,
                       executor_program::command_executor,
                       executor_program::default_executor}) {
    auto e = sample();
    e.program = program;
    auto back = executor_environment::from_env(e.to_env());
    REQUIRE_MESSAGE(back, describe(back.error()));
    CHECK(back->agent_endpoint == e.agent_endpoint);
    CHECK(back->agent_id == e.agent_id);
    CHECK(back->framework_id == e.framework_id);
    CHECK(back->executor_id == e.executor_id);
    CHECK(back->container_id == e.container_id);
    CHECK(back->sandbox == e.sandbox);
    CHECK(back->program == program);
    CHECK(back->containerizer == e.containerizer);
    CHECK(back->fetcher == e.fetcher);
    CHECK(back->fetch_cache == e.fetch_cache);
    CHECK(back->log_level == "debug");
    CHECK(back->recovery_timeout == caf::timespan{90s});
  }
}

TEST_CASE("an executor also gets Mesos' variables") {
  auto env = sample().to_env();
  CHECK(has(env, "MESOS_SANDBOX=/var/lib/dcos/sandbox"));
  CHECK(has(env, "MESOS_FRAMEWORK_ID=f-1"));
  CHECK(has(env, "MESOS_EXECUTOR_ID=e-1"));
  CHECK(has(env, "MESOS_AGENT_ID=a-1"));
  CHECK(has(env, "DCOS_EXECUTOR_LOG_LEVEL=debug"));
}

TEST_CASE("unset optional variables keep their defaults; later entries win") {
  auto back = executor_environment::from_env(
    {"DCOS_FRAMEWORK_ID=f", "DCOS_EXECUTOR_ID=e", "DCOS_CONTAINER_ID=c",
     "DCOS_EXECUTOR_MODE=default", "DCOS_EXECUTOR_MODE=command"});
  REQUIRE(back);
  CHECK(back->program == executor_program::command_executor);
  CHECK(back->log_level == "warning");
  CHECK(back->recovery_timeout == caf::timespan{15min});
}

TEST_CASE("a missing id or a bad value is refused, naming the variable") {
  auto refused = [](std::vector<std::string> env, const std::string& name) {
    auto r = executor_environment::from_env(std::move(env));
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(describe(r.error()).find(name) != std::string::npos,
                  describe(r.error()));
  };
  std::vector<std::string> ids = {"DCOS_FRAMEWORK_ID=f", "DCOS_EXECUTOR_ID=e",
                                  "DCOS_CONTAINER_ID=c"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto env = ids;
    auto name = env[i].substr(0, env[i].find('='));
    env.erase(env.begin() + static_cast<long>(i));
    refused(env, name);
  }
  auto with = [&](std::string kv) {
    auto env = ids;
    env.push_back(std::move(kv));
    return env;
  };
  refused(with("DCOS_EXECUTOR_MODE=both"), "DCOS_EXECUTOR_MODE");
  refused(with("DCOS_EXECUTOR_LOG_LEVEL=loud"), "DCOS_EXECUTOR_LOG_LEVEL");
  refused(with("DCOS_RECOVERY_TIMEOUT=soon"), "DCOS_RECOVERY_TIMEOUT");
}
