// Role names, with Mesos' rules: "*" is the default (unreserved) role;
// hierarchical roles use '/' ("eng/backend"); no component may be empty,
// "." or "..", or start with '-'; no whitespace or control characters.
#pragma once

#include <string_view>

#include <caf/error.hpp>

namespace dcos {

/// Returns an error naming the rule `role` breaks, or none. "*" is valid.
caf::error validate_role(std::string_view role);

/// True if `child` is `parent` or lies below it ("a/b" is below "a").
bool is_subrole_or_same(std::string_view child, std::string_view parent) noexcept;

} // namespace dcos
