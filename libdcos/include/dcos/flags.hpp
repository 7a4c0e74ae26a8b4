// Command-line flags shared by every libdcos daemon and tool.
//
// A flag is declared once, bound to a variable whose current value is the
// default, and loaded from up to three sources, highest precedence first:
//   1. the command line: `--snake_name=value` (booleans also `--name` and
//      `--no-name`; `--name value` is not accepted, as in Mesos);
//   2. the environment: DCOS_SNAKE_NAME=value;
//   3. a YAML file named by `--config=FILE` (or DCOS_CONFIG) whose top-level
//      keys are flag names; a non-scalar value is passed on as JSON text.
// Arguments that do not start with `--` (and everything after `--`) are kept
// as positional arguments for the caller (the `dcos` tool's sub-commands).
//
// We do not use Boost.Program_options: it reads INI rather than YAML, maps
// environment variables only through a global callback, and its messages do
// not name the source of a bad value; the rules above fit in one small class.
//
// Thread-safety: none; declare and load on one thread before any actor runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/timestamp.hpp>

namespace dcos {

/// Parses `text` into `out`; the error message says what was expected.
caf::error parse_flag_value(std::string_view text, bool& out);
caf::error parse_flag_value(std::string_view text, std::string& out);
caf::error parse_flag_value(std::string_view text, double& out);
caf::error parse_flag_value(std::string_view text, int32_t& out);
caf::error parse_flag_value(std::string_view text, int64_t& out);
caf::error parse_flag_value(std::string_view text, uint16_t& out);
caf::error parse_flag_value(std::string_view text, uint32_t& out);
caf::error parse_flag_value(std::string_view text, uint64_t& out);
/// Durations use Mesos' units: ns, us, ms, secs, mins, hrs, days, weeks
/// (also s, m, h, d), with an optional fraction: "500ms", "1.5secs".
caf::error parse_flag_value(std::string_view text, caf::timespan& out);

/// The items of a list-valued flag ("a,b,,c" with ',' gives a, b, c):
/// empty items are dropped.
std::vector<std::string> split_list(std::string_view text, char sep = ',');

/// Renders a value the way parse_flag_value reads it back (for --help).
std::string flag_value_text(bool x);
std::string flag_value_text(const std::string& x);
std::string flag_value_text(double x);
std::string flag_value_text(int64_t x);
std::string flag_value_text(uint64_t x);
std::string flag_value_text(caf::timespan x);

class flags {
public:
  using parser = std::function<caf::error(std::string_view)>;

  /// `usage_line` is printed first by usage(), e.g. "dcos-master [flags]".
  flags(std::string usage_line, std::string summary);

  /// Declares `--name`, bound to `*target`; the current `*target` is the
  /// default shown by usage().
  /// REQUIRES: `name` is snake_case and new; `target` outlives this object.
  template <class T>
  void add(T* target, std::string name, std::string help) {
    std::string default_text;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if constexpr (std::is_signed_v<T>)
        default_text = flag_value_text(static_cast<int64_t>(*target));
      else
        default_text = flag_value_text(static_cast<uint64_t>(*target));
    } else {
      default_text = flag_value_text(*target);
    }
    declare(std::move(name), std::move(help), std::move(default_text),
            std::is_same_v<T, bool>,
            [target](std::string_view text) {
              T value{};
              if (auto err = parse_flag_value(text, value))
                return err;
              *target = std::move(value);
              return caf::error{};
            });
  }

  /// Declares `--name` with a custom parser. `default_text` is only shown.
  /// REQUIRES: `name` is snake_case and new.
  void add_custom(std::string name, std::string help, std::string default_text,
                  parser parse);

  /// Loads all sources. On failure returns one line naming the flag and its
  /// source; values set before the failure may have been assigned, so callers
  /// exit on error (see parse_or_exit).
  caf::error load(int argc, const char* const* argv,
                  const char* const* envp);

  /// True if --help was on the command line.
  bool help_requested() const noexcept { return help_requested_; }

  /// True if `name` was given by any source (not left at its default).
  bool is_set(std::string_view name) const;

  /// Every flag but --config with its value as text, sorted by name: the
  /// text it was given by the source that won, or its default text. For
  /// /flags endpoints.
  std::vector<std::pair<std::string, std::string>> values() const;

  /// Non-flag arguments in order.
  const std::vector<std::string>& positional() const noexcept {
    return positional_;
  }

  /// The generated --help text.
  std::string usage() const;

private:
  struct flag {
    std::string help;
    std::string default_text;
    bool is_bool;
    parser parse;
    bool set = false;
    std::string given; // the text assigned, when set
  };

  void declare(std::string name, std::string help, std::string default_text,
               bool is_bool, parser parse);
  caf::error assign(const std::string& name, std::string_view value,
                    std::string_view source);
  caf::error load_config_file(const std::string& path);

  std::string usage_line_;
  std::string summary_;
  std::map<std::string, flag, std::less<>> flags_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

/// For main(): loads `f` from argv and the process environment. Prints usage
/// and exits 0 on --help; prints one line to stderr and exits 2 on a bad flag.
void parse_or_exit(flags& f, int argc, char** argv);

} // namespace dcos
