// What an agent offers when the operator does not say: Mesos' defaults.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "dcos/resources.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::kernel {

/// cpus: all cores; mem: total minus 1 GiB (half if under 2 GiB); disk: the
/// work directory's filesystem minus 5 GiB (half if under 10 GiB); ports
/// [31000-32000]. Kinds present in `given` are kept as given.
resources detect_resources(const resources& given, const std::string& work_dir);

/// Parses Mesos' attribute text: "rack:r1;zone:us-east-1a;level:3;p:[1-9]".
caf::expected<std::vector<v1::Attribute>> parse_attributes(std::string_view text);

} // namespace dcos::kernel
