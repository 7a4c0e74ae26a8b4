#include "dcos/role.hpp"

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos {

caf::error validate_role(std::string_view role) {
  auto fail = [&](std::string_view why) {
    return make_error(errc::invalid_argument,
                      fmt::format("'{}' is not a valid role: {}", role, why));
  };
  if (role == "*")
    return {};
  if (role.empty())
    return fail("it is empty");
  if (role.front() == '/' || role.back() == '/')
    return fail("it starts or ends with '/'");
  std::string_view rest = role;
  while (true) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    if (part.empty())
      return fail("it contains '//'");
    if (part == "." || part == "..")
      return fail("a component is '.' or '..'");
    if (part.front() == '-')
      return fail("a component starts with '-'");
    if (part == "*")
      return fail("'*' cannot be part of a hierarchical role");
    for (char c : part) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f)
        return fail("it contains whitespace or a control character");
    }
    if (slash == std::string_view::npos)
      return {};
    rest.remove_prefix(slash + 1);
  }
}

bool is_subrole_or_same(std::string_view child,
                        std::string_view parent) noexcept {
  if (child == parent)
    return true;
  return child.size() > parent.size() && child[parent.size()] == '/'
         && child.substr(0, parent.size()) == parent;
}

} // namespace dcos
