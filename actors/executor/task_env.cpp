#include "task_env.hpp"

#include <cctype>
#include <cstdlib>
#include <map>

#include "dcos/resources.hpp"

namespace dcos::kernel {

std::vector<std::string> task_environment(const v1::TaskInfo& task,
                                          const std::string& sandbox,
                                          const std::string& framework_id,
                                          const std::string& executor_id,
                                          const v1::AgentInfo& agent) {
  std::map<std::string, std::string> env;
  for (const char* inherited : {"PATH", "HOME", "LANG", "TERM"})
    if (const char* value = std::getenv(inherited))
      env[inherited] = value;
  env["MESOS_SANDBOX"] = sandbox;
  env["MESOS_TASK_ID"] = task.task_id().value();
  env["MESOS_FRAMEWORK_ID"] = framework_id;
  env["MESOS_EXECUTOR_ID"] = executor_id;
  env["MESOS_AGENT_ID"] = agent.id().value();
  env["HOST"] = agent.hostname();
  if (auto rs = resources::from_proto(task.resources())) {
    if (auto ports = rs->ranges("ports")) {
      int n = 0;
      for (const auto& r : *ports)
        for (auto p = r.begin; p <= r.end && n < 100; ++p, ++n) {
          env["PORT" + std::to_string(n)] = std::to_string(p);
          if (n == 0)
            env["PORT"] = std::to_string(p);
        }
    }
  }
  for (const auto& port : task.discovery().ports().ports()) {
    if (port.name().empty())
      continue;
    std::string name = "PORT_";
    for (char c : port.name())
      name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                : '_';
    env[name] = std::to_string(port.number());
  }
  for (const auto& var : task.command().environment().variables())
    env[var.name()] = var.value();
  std::vector<std::string> out;
  for (auto& [key, value] : env)
    out.push_back(key + "=" + value);
  return out;
}

} // namespace dcos::kernel
