// ZooKeeper addresses as Mesos writes them:
//
//   zk://host1:2181,host2:2181/mesos
//   zk://user:password@host1:2181/mesos   (digest authentication)
//
// The path names the election's (or the store's) znode; it must be absolute
// and have no empty, "." or ".." component. A flag that takes a ZooKeeper
// address takes either form of --master: zk://... or HOST:PORT.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

namespace dcos {

class flags;

/// Mesos' default for --zk_session_timeout.
constexpr caf::timespan default_zk_session_timeout = std::chrono::seconds(10);

struct zk_url {
  std::string servers;                    // "host1:2181,host2:2181"
  std::string path;                       // "/mesos", never with a trailing '/'
  std::optional<std::string> credentials; // "user:password" for digest auth

  /// The URL again, with the password hidden (for logs and errors).
  std::string to_string() const;
};

/// Parses `text`. Errors name the part that is wrong, prefixed with `what`
/// (the flag, e.g. "--zk").
caf::expected<zk_url> parse_zk_url(std::string_view text,
                                   std::string_view what);

/// True if `text` starts with "zk://".
bool is_zk_url(std::string_view text);

/// Declares `--name` on `f`: a zk:// URL parsed into `*out` (left empty if
/// the flag is not given or empty); a bad URL fails the flags' load with
/// the part that is wrong. REQUIRES: `out` outlives `f`'s load.
void add_zk_flag(flags& f, std::string name, std::string help,
                 std::optional<zk_url>* out);

} // namespace dcos
