#include "reader.hpp"

#include <fmt/format.h>

namespace dcos::yaml {

std::string describe(const bad_field& e) {
  if (e.path.empty())
    return e.line > 0 ? fmt::format("line {}: {}", e.line, e.why) : e.why;
  if (e.line > 0)
    return fmt::format("{} (line {}): {}", e.path, e.line, e.why);
  return fmt::format("{}: {}", e.path, e.why);
}

void fail(const YAML::Node& n, const std::string& path, std::string why) {
  throw bad_field{path, line_of(n), std::move(why)};
}

caf::timespan duration_of(const YAML::Node& n, const std::string& path) {
  auto text = scalar_of<std::string>(n, path);
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    fail(n, path, fmt::format("'{}' is not a duration", text));
  }
  auto unit = text.substr(used);
  double ns = 0;
  if (unit == "ns")
    ns = value;
  else if (unit == "us")
    ns = value * 1e3;
  else if (unit == "ms")
    ns = value * 1e6;
  else if (unit == "s")
    ns = value * 1e9;
  else if (unit == "m")
    ns = value * 60e9;
  else if (unit == "h")
    ns = value * 3600e9;
  else
    fail(n, path,
         fmt::format("'{}' needs a unit (ns, us, ms, s, m, h)", text));
  if (ns < 0)
    fail(n, path, "must not be negative");
  return caf::timespan{static_cast<int64_t>(ns)};
}

} // namespace dcos::yaml
