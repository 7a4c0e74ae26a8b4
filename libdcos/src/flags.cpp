#include "dcos/flags.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dcos/error.hpp"

extern char** environ;

namespace dcos {

namespace {

caf::error bad_value(std::string_view text, std::string_view expected) {
  return make_error(errc::invalid_argument,
                    fmt::format("'{}' is not {}", text, expected));
}

template <class T>
caf::error parse_integer(std::string_view text, T& out,
                         std::string_view expected) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return bad_value(text, expected);
  out = value;
  return {};
}

bool is_snake_case(std::string_view name) {
  return !name.empty() && std::islower(static_cast<unsigned char>(name[0]))
         && std::all_of(name.begin(), name.end(), [](char c) {
              return std::islower(static_cast<unsigned char>(c))
                     || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
            });
}

std::string env_name(std::string_view flag) {
  std::string result = "DCOS_";
  for (char c : flag)
    result += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

// Renders a YAML node as JSON text so that structured config values (for
// example `resources:` written as a list of maps) reach the flag's parser in
// the JSON form that parser already understands.
void emit_json(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first)
          out += ',';
        first = false;
        emit_json(item, out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!first)
          out += ',';
        first = false;
        emit_json(kv.first, out);
        out += ':';
        emit_json(kv.second, out);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Scalar: {
      // Numbers and booleans stay bare only when they were written bare.
      const auto& text = node.Scalar();
      double ignored;
      bool bare = node.Tag() != "!" && (text == "true" || text == "false"
                                        || !parse_flag_value(text, ignored));
      if (bare) {
        out += text;
        return;
      }
      out += '"';
      for (char c : text) {
        if (c == '"' || c == '\\')
          out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      out += '"';
      return;
    }
    default:
      out += "null";
  }
}

} // namespace

caf::error parse_flag_value(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") {
    out = true;
    return {};
  }
  if (text == "false" || text == "0" || text == "no") {
    out = false;
    return {};
  }
  return bad_value(text, "a boolean (true/false)");
}

caf::error parse_flag_value(std::string_view text, std::string& out) {
  out.assign(text);
  return {};
}

caf::error parse_flag_value(std::string_view text, double& out) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()
      || !std::isfinite(value))
    return bad_value(text, "a number");
  out = value;
  return {};
}

caf::error parse_flag_value(std::string_view text, int32_t& out) {
  return parse_integer(text, out, "a 32-bit integer");
}

caf::error parse_flag_value(std::string_view text, int64_t& out) {
  return parse_integer(text, out, "an integer");
}

caf::error parse_flag_value(std::string_view text, uint16_t& out) {
  return parse_integer(text, out, "a port number (0-65535)");
}

caf::error parse_flag_value(std::string_view text, uint32_t& out) {
  return parse_integer(text, out, "a non-negative 32-bit integer");
}

caf::error parse_flag_value(std::string_view text, uint64_t& out) {
  return parse_integer(text, out, "a non-negative integer");
}

caf::error parse_flag_value(std::string_view text, caf::timespan& out) {
  auto unit_at = std::find_if(text.begin(), text.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c));
  });
  std::string_view number(text.data(), unit_at - text.begin());
  std::string_view unit(unit_at, text.end() - unit_at);
  double value = 0;
  if (parse_flag_value(number, value) || value < 0)
    return bad_value(text, "a duration like 500ms, 10secs or 5mins");
  static constexpr std::pair<std::string_view, double> units[] = {
    {"ns", 1},        {"us", 1e3},          {"ms", 1e6},
    {"s", 1e9},       {"secs", 1e9},        {"m", 60e9},
    {"mins", 60e9},   {"h", 3600e9},        {"hrs", 3600e9},
    {"d", 86400e9},   {"days", 86400e9},    {"weeks", 604800e9},
  };
  for (auto& [name, factor] : units) {
    if (unit == name) {
      auto ns = value * factor;
      if (ns > static_cast<double>(std::numeric_limits<int64_t>::max()))
        break;
      out = caf::timespan{static_cast<int64_t>(std::llround(ns))};
      return {};
    }
  }
  return bad_value(text, "a duration like 500ms, 10secs or 5mins");
}

std::string flag_value_text(bool x) {
  return x ? "true" : "false";
}

std::string flag_value_text(const std::string& x) {
  return x;
}

std::string flag_value_text(double x) {
  return fmt::format("{}", x);
}

std::string flag_value_text(int64_t x) {
  return std::to_string(x);
}

std::string flag_value_text(uint64_t x) {
  return std::to_string(x);
}

std::string flag_value_text(caf::timespan x) {
  auto ns = x.count();
  static constexpr std::pair<int64_t, std::string_view> units[] = {
    {604800'000'000'000, "weeks"}, {86400'000'000'000, "days"},
    {3600'000'000'000, "hrs"},     {60'000'000'000, "mins"},
    {1'000'000'000, "secs"},       {1'000'000, "ms"},
    {1'000, "us"},
  };
  for (auto& [factor, name] : units)
    if (ns != 0 && ns % factor == 0)
      return fmt::format("{}{}", ns / factor, name);
  return fmt::format("{}ns", ns);
}

flags::flags(std::string usage_line, std::string summary)
  : usage_line_(std::move(usage_line)), summary_(std::move(summary)) {
  // `--config` is handled by load() itself; declared here for --help.
  declare("config",
          "YAML file whose top-level keys are flag names (lowest precedence "
          "after defaults)",
          "", false, [](std::string_view) { return caf::error{}; });
}

void flags::declare(std::string name, std::string help,
                    std::string default_text, bool is_bool, parser parse) {
  if (!is_snake_case(name) || flags_.count(name) > 0) {
    std::fprintf(stderr, "BUG: flag '%s' is not snake_case or declared twice\n",
                 name.c_str());
    std::abort();
  }
  flags_.emplace(std::move(name), flag{std::move(help), std::move(default_text),
                                       is_bool, std::move(parse)});
}

void flags::add_custom(std::string name, std::string help,
                       std::string default_text, parser parse) {
  declare(std::move(name), std::move(help), std::move(default_text), false,
          std::move(parse));
}

caf::error flags::assign(const std::string& name, std::string_view value,
                         std::string_view source) {
  auto i = flags_.find(name);
  if (i == flags_.end())
    return make_error(errc::invalid_argument,
                      fmt::format("unknown flag '--{}' ({})", name, source));
  if (auto err = i->second.parse(value))
    return make_error(errc::invalid_argument,
                      fmt::format("--{} ({}): {}", name, source,
                                  describe_reason(err)));
  i->second.set = true;
  i->second.given.assign(value);
  return {};
}

std::vector<std::pair<std::string, std::string>> flags::values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, f] : flags_)
    if (name != "config")
      out.emplace_back(name, f.set ? f.given : f.default_text);
  return out;
}

caf::error flags::load_config_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return make_error(errc::invalid_argument,
                      fmt::format("--config: cannot read '{}'", path));
  } catch (const YAML::Exception& e) {
    return make_error(errc::parse_error,
                      fmt::format("--config: '{}' line {}: {}", path,
                                  e.mark.line + 1, e.msg));
  }
  if (root.IsNull())
    return {};
  if (!root.IsMap())
    return make_error(errc::parse_error,
                      fmt::format("--config: '{}' must be a map of flag "
                                  "names to values",
                                  path));
  for (const auto& kv : root) {
    auto name = kv.first.as<std::string>();
    auto i = flags_.find(name);
    if (i != flags_.end() && i->second.set)
      continue; // command line or environment already decided
    std::string value;
    if (kv.second.IsScalar())
      value = kv.second.Scalar();
    else
      emit_json(kv.second, value);
    if (auto err = assign(name, value, "config file " + path))
      return err;
  }
  return {};
}

caf::error flags::load(int argc, const char* const* argv,
                       const char* const* envp) {
  std::string config_path;
  // 1. Command line.
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (only_positional || arg.substr(0, 2) != "--") {
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "--help") {
      help_requested_ = true;
      continue;
    }
    auto body = arg.substr(2);
    auto eq = body.find('=');
    std::string name(body.substr(0, eq));
    if (eq == std::string_view::npos) {
      // A bare flag is only allowed for booleans: --name or --no-name.
      bool negated = name.rfind("no-", 0) == 0;
      auto target = negated ? name.substr(3) : name;
      auto f = flags_.find(target);
      if (f == flags_.end())
        return make_error(errc::invalid_argument,
                          fmt::format("unknown flag '--{}' (command line)",
                                      name));
      if (!f->second.is_bool)
        return make_error(errc::invalid_argument,
                          fmt::format("--{} (command line): needs a value, "
                                      "as in --{}=VALUE",
                                      target, target));
      if (auto err = assign(target, negated ? "false" : "true",
                            "command line"))
        return err;
      continue;
    }
    auto value = body.substr(eq + 1);
    if (name == "config") {
      config_path.assign(value);
      flags_.find("config")->second.set = true;
      continue;
    }
    if (auto err = assign(name, value, "command line"))
      return err;
  }
  // 2. Environment, for flags the command line left alone.
  for (auto env = envp; env != nullptr && *env != nullptr; ++env) {
    std::string_view entry = *env;
    if (entry.rfind("DCOS_", 0) != 0)
      continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto key = entry.substr(0, eq);
    auto value = entry.substr(eq + 1);
    if (key == "DCOS_CONFIG") {
      if (config_path.empty())
        config_path.assign(value);
      continue;
    }
    for (auto& [name, f] : flags_) {
      if (f.set || env_name(name) != key)
        continue;
      if (auto err = assign(name, value,
                            fmt::format("environment {}", key)))
        return err;
    }
  }
  // 3. Config file.
  if (!config_path.empty())
    return load_config_file(config_path);
  return {};
}

bool flags::is_set(std::string_view name) const {
  auto i = flags_.find(name);
  return i != flags_.end() && i->second.set;
}

std::string flags::usage() const {
  std::string out = fmt::format("Usage: {}\n\n{}\n\nFlags (also DCOS_<NAME> "
                                "in the environment, or keys of --config):\n",
                                usage_line_, summary_);
  for (auto& [name, f] : flags_) {
    auto head = f.is_bool ? fmt::format("  --[no-]{}", name)
                          : fmt::format("  --{}=VALUE", name);
    out += fmt::format("{:<34} {}", head, f.help);
    if (!f.default_text.empty())
      out += fmt::format(" (default: {})", f.default_text);
    out += '\n';
  }
  out += fmt::format("{:<34} {}\n", "  --help", "print this help and exit");
  return out;
}

void parse_or_exit(flags& f, int argc, char** argv) {
  auto err = f.load(argc, argv, environ);
  if (f.help_requested()) {
    std::fputs(f.usage().c_str(), stdout);
    std::exit(0);
  }
  if (err) {
    std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "dcos",
                 describe_reason(err).c_str());
    std::exit(2);
  }
}

std::vector<std::string> split_list(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto at = text.find(sep);
    auto item = text.substr(0, at);
    if (!item.empty())
      out.emplace_back(item);
    if (at == std::string_view::npos)
      break;
    text.remove_prefix(at + 1);
  }
  return out;
}

} // namespace dcos
