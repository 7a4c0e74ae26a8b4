#include "dcos/zk_url.hpp"

#include <charconv>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"

namespace dcos {

namespace {

constexpr std::string_view scheme = "zk://";

caf::error bad(std::string_view what, std::string_view text,
               std::string_view why) {
  return make_error(errc::invalid_argument,
                    fmt::format("{}: '{}' {}", what, text, why));
}

// "host:port": a non-empty host and a port in 1..65535.
bool valid_server(std::string_view server) {
  auto colon = server.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return false;
  auto digits = server.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(),
                                   digits.data() + digits.size(), port);
  return ec == std::errc{} && end == digits.data() + digits.size()
         && port > 0 && port <= 65535;
}

} // namespace

std::string zk_url::to_string() const {
  std::string out{scheme};
  if (credentials) {
    auto colon = credentials->find(':');
    out += credentials->substr(0, colon);
    out += ":***@";
  }
  return out + servers + path;
}

bool is_zk_url(std::string_view text) {
  return text.substr(0, scheme.size()) == scheme;
}

caf::expected<zk_url> parse_zk_url(std::string_view text,
                                   std::string_view what) {
  if (!is_zk_url(text))
    return bad(what, text, "is not a ZooKeeper URL (zk://HOST:PORT/PATH)");
  auto rest = text.substr(scheme.size());
  zk_url url;
  auto authority = rest.substr(0, rest.find('/'));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto creds = authority.substr(0, at);
    if (creds.find(':') == std::string_view::npos || creds.front() == ':')
      return bad(what, text, "has credentials that are not USER:PASSWORD");
    url.credentials = std::string{creds};
    rest = rest.substr(at + 1);
  }
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return bad(what, text, "has no path (zk://HOST:PORT/PATH)");
  auto servers = rest.substr(0, slash);
  if (servers.empty())
    return bad(what, text, "names no server");
  for (size_t begin = 0; begin <= servers.size();) {
    auto comma = servers.find(',', begin);
    auto end = comma == std::string_view::npos ? servers.size() : comma;
    auto server = servers.substr(begin, end - begin);
    if (!valid_server(server))
      return bad(what, text,
                 fmt::format("has a server '{}' that is not HOST:PORT",
                             server));
    begin = end + 1;
  }
  url.servers = std::string{servers};
  auto path = rest.substr(slash);
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  if (path == "/")
    return bad(what, text, "has the root as its path; name a znode");
  for (size_t begin = 1; begin <= path.size();) {
    auto next = path.find('/', begin);
    auto end = next == std::string_view::npos ? path.size() : next;
    auto part = path.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..")
      return bad(what, text, fmt::format("has a path component '{}' that "
                                         "ZooKeeper does not allow",
                                         part));
    begin = end + 1;
  }
  url.path = std::string{path};
  return url;
}

void add_zk_flag(flags& f, std::string name, std::string help,
                 std::optional<zk_url>* out) {
  auto what = "--" + name;
  f.add_custom(std::move(name), std::move(help), "",
               [out, what](std::string_view text) -> caf::error {
                 if (text.empty())
                   return {};
                 auto url = parse_zk_url(text, what);
                 if (!url)
                   return url.error();
                 *out = std::move(*url);
                 return {};
               });
}

} // namespace dcos
