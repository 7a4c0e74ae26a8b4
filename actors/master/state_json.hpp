// Mesos' legacy JSON shape of the master state (/master/state), which
// Mesos-DNS, dashboards and scripts read: "slaves", "slave_id", resources as
// {"cpus": 4, "ports": "[31000-32000]"}, and so on. Built from the operator
// API's GET_STATE and GET_MASTER answers, off the master actor.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dcos/json_writer.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::kernel {

std::string legacy_state_json(
  const v1::master::Response::GetState& state,
  const v1::master::Response::GetMaster& master,
  const std::vector<std::pair<std::string, std::string>>& flags);

} // namespace dcos::kernel
