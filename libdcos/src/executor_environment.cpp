#include "dcos/executor_environment.hpp"

#include <unistd.h>

#include <string_view>

#include <spdlog/spdlog.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/logging.hpp"

namespace dcos {

namespace {

constexpr const char* mode_command = "command";
constexpr const char* mode_default = "default";

} // namespace

std::vector<std::string> executor_environment::to_env() const {
  std::vector<std::string> env = {
    "DCOS_AGENT_ENDPOINT=" + agent_endpoint,
    "DCOS_AGENT_ID=" + agent_id,
    "DCOS_FRAMEWORK_ID=" + framework_id,
    "DCOS_EXECUTOR_ID=" + executor_id,
    "DCOS_CONTAINER_ID=" + container_id,
    "DCOS_SANDBOX=" + sandbox,
    "DCOS_CONTAINERIZER=" + containerizer,
    "DCOS_FETCHER=" + fetcher,
    "DCOS_FETCH_CACHE=" + fetch_cache,
    "DCOS_EXECUTOR_LOG_LEVEL=" + log_level,
    "DCOS_RECOVERY_TIMEOUT=" + flag_value_text(recovery_timeout),
    // What Mesos gives every executor.
    "MESOS_SANDBOX=" + sandbox,
    "MESOS_FRAMEWORK_ID=" + framework_id,
    "MESOS_EXECUTOR_ID=" + executor_id,
    "MESOS_AGENT_ID=" + agent_id,
  };
  if (program != executor_program::custom)
    env.push_back(std::string{"DCOS_EXECUTOR_MODE="}
                  + (program == executor_program::command_executor
                       ? mode_command
                       : mode_default));
  return env;
}

caf::expected<executor_environment>
executor_environment::from_env(const std::vector<std::string>& env) {
  // The value of the last NAME=value, empty if none: a scan of the few
  // dozen variables, without the copies a map of them made (the
  // simulation's containerizer reads this at every container launch).
  auto get = [&](std::string_view name) {
    for (auto i = env.rbegin(); i != env.rend(); ++i) {
      std::string_view kv{*i};
      if (kv.size() > name.size() && kv[name.size()] == '='
          && kv.substr(0, name.size()) == name)
        return kv.substr(name.size() + 1);
    }
    return std::string_view{};
  };
  executor_environment out;
  out.agent_endpoint = get("DCOS_AGENT_ENDPOINT");
  out.agent_id = get("DCOS_AGENT_ID");
  out.framework_id = get("DCOS_FRAMEWORK_ID");
  out.executor_id = get("DCOS_EXECUTOR_ID");
  out.container_id = get("DCOS_CONTAINER_ID");
  out.sandbox = get("DCOS_SANDBOX");
  out.containerizer = get("DCOS_CONTAINERIZER");
  out.fetcher = get("DCOS_FETCHER");
  out.fetch_cache = get("DCOS_FETCH_CACHE");
  for (const char* name :
       {"DCOS_FRAMEWORK_ID", "DCOS_EXECUTOR_ID", "DCOS_CONTAINER_ID"})
    if (get(name).empty())
      return make_error(errc::invalid_argument,
                        std::string{name} + ": missing");
  if (auto mode = get("DCOS_EXECUTOR_MODE"); mode == mode_command)
    out.program = executor_program::command_executor;
  else if (mode == mode_default)
    out.program = executor_program::default_executor;
  else if (!mode.empty())
    return make_error(errc::invalid_argument,
                      "DCOS_EXECUTOR_MODE: '" + std::string{mode}
                        + "' is neither command nor default");
  if (auto level = get("DCOS_EXECUTOR_LOG_LEVEL"); !level.empty()) {
    spdlog::level::level_enum parsed{};
    if (auto err = logging::parse_level(level, parsed))
      return make_error(errc::invalid_argument,
                        "DCOS_EXECUTOR_LOG_LEVEL: " + describe_reason(err));
    out.log_level = level;
  }
  if (auto text = get("DCOS_RECOVERY_TIMEOUT"); !text.empty())
    if (auto err = parse_flag_value(text, out.recovery_timeout))
      return make_error(errc::invalid_argument,
                        "DCOS_RECOVERY_TIMEOUT: " + describe_reason(err));
  return out;
}

caf::expected<executor_environment> executor_environment::from_process_env() {
  std::vector<std::string> env;
  for (char** e = ::environ; *e != nullptr; ++e)
    env.emplace_back(*e);
  return from_env(env);
}

} // namespace dcos
