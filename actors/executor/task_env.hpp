// The environment a task runs with, as Mesos and Marathon define it:
// MESOS_* variables, HOST, PORT0..PORTn for the task's ports (PORT for the
// first), PORT_<NAME> for named discovery ports, then the task's own
// CommandInfo.environment (which wins).
#pragma once

#include <string>
#include <vector>

#include "dcos/wire_types.hpp"

namespace dcos::kernel {

std::vector<std::string> task_environment(const v1::TaskInfo& task,
                                          const std::string& sandbox,
                                          const std::string& framework_id,
                                          const std::string& executor_id,
                                          const v1::AgentInfo& agent);

} // namespace dcos::kernel
