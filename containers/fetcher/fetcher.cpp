#include "fetcher.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/mesos_defaults.hpp"
#include "extract.hpp"
#include "file_lock.hpp"
#include "files.hpp"

namespace dcos::fetcher {

namespace fs = std::filesystem;

namespace {

constexpr int max_redirects = 5;

// Where a URI points.
struct source {
  bool http = false;  // http:// or https://
  bool tls = false;   // https://
  std::string path;   // file: the absolute path
  std::string host;   // http
  uint16_t port = 80; // http
  std::string target; // http: path plus query, from '/'
};

// A reason, without the URI (fetch_uri adds it).
caf::error failure(std::string reason) {
  return make_error(errc::io_error, std::move(reason));
}

caf::error os_failure(std::string_view what, int code) {
  return failure(fmt::format("{}: {}", what, std::strerror(code)));
}

caf::expected<source> parse_source(std::string_view uri) {
  source src;
  if (uri.starts_with("/")) {
    src.path = uri;
    return src;
  }
  if (uri.starts_with("file://")) {
    auto rest = uri.substr(7);
    if (rest.starts_with("localhost/"))
      rest.remove_prefix(9);
    if (!rest.starts_with("/"))
      return make_error(errc::invalid_argument,
                        "a file:// URI must name an absolute local path, as "
                        "in file:///abs/path");
    src.path = rest;
    return src;
  }
  src.tls = uri.starts_with("https://");
  if (!src.tls && !uri.starts_with("http://"))
    return make_error(errc::invalid_argument,
                      "not an absolute path or a file://, http:// or "
                      "https:// URI");
  auto scheme = src.tls ? "https://" : "http://";
  auto rest = uri.substr(src.tls ? 8 : 7);
  rest = rest.substr(0, rest.find('#'));
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos)
    return make_error(errc::invalid_argument,
                      fmt::format("user names in {} URIs are not supported",
                                  scheme));
  auto host_port = parse_host_port(authority, src.tls ? 443 : 80);
  if (!host_port)
    return host_port.error();
  if (host_port->first.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("the {} URI has no host", scheme));
  src.http = true;
  std::tie(src.host, src.port) = *host_port;
  src.target = slash == std::string_view::npos ? std::string{"/"}
                                                : std::string{rest.substr(slash)};
  if (src.target[0] == '?')
    src.target.insert(0, "/");
  return src;
}

// The last segment of the URI's path, without query or fragment.
std::string base_name(std::string_view uri) {
  if (auto scheme = uri.find("://"); scheme != std::string_view::npos) {
    uri.remove_prefix(scheme + 3);
    auto path = uri.find('/');
    uri = path == std::string_view::npos ? std::string_view{} : uri.substr(path);
  }
  uri = uri.substr(0, uri.find_first_of("?#"));
  auto slash = uri.rfind('/');
  return std::string{slash == std::string_view::npos ? uri
                                                      : uri.substr(slash + 1)};
}

caf::error copy_file(const std::string& from, const std::string& to) {
  struct stat st;
  if (::stat(from.c_str(), &st) != 0)
    return os_failure(from, errno);
  if (!S_ISREG(st.st_mode))
    return failure(fmt::format("{}: not a regular file", from));
  auto part = to + ".part";
  std::error_code ec;
  fs::copy_file(from, part, fs::copy_options::overwrite_existing, ec);
  if (!ec)
    fs::rename(part, to, ec);
  if (ec) {
    fs::remove(part, ec);
    return failure(fmt::format("cannot copy '{}' to '{}': {}", from, to,
                               ec.message()));
  }
  return {};
}

caf::error download(source src, const std::string& to,
                    std::chrono::milliseconds timeout) {
  for (int redirects = 0;; ++redirects) {
    http_call call;
    call.host = src.host;
    call.port = src.port;
    call.target = src.target;
    call.timeout = timeout;
    // As Mesos' fetcher (libcurl): the server's certificate is verified.
    call.tls = src.tls;
    auto reply = http_fetch(call);
    if (!reply)
      return failure(describe_reason(reply.error()));
    auto where = fmt::format("GET {}{}:{}{}", src.tls ? "https://" : "",
                             src.host, src.port, src.target);
    auto status = reply->status;
    if (status == 301 || status == 302 || status == 303 || status == 307
        || status == 308) {
      auto location = reply->header("location");
      if (location.empty())
        return failure(fmt::format("{}: HTTP {} without Location", where,
                                   status));
      if (redirects == max_redirects)
        return failure(fmt::format("{}: more than {} redirects", where,
                                   max_redirects));
      if (location.starts_with("/")) {
        src.target = location;
      } else if (location.find("://") != std::string::npos) {
        auto next = parse_source(location);
        if (!next)
          return failure(fmt::format("{}: redirected to '{}': {}", where,
                                     location,
                                     describe_reason(next.error())));
        if (!next->http)
          return failure(fmt::format("{}: redirected to '{}', which is not "
                                     "http:// or https://", where, location));
        src = *next;
      } else { // relative to the current path
        auto path = src.target.substr(0, src.target.find('?'));
        src.target = path.substr(0, path.rfind('/') + 1) + location;
      }
      continue;
    }
    if (status != 200)
      return failure(fmt::format("{}: HTTP {}", where, status));
    return replace_file(to, reply->body);
  }
}

caf::error fetch_to(const source& src, const std::string& to,
                    const fetch_options& opts) {
  return src.http ? download(src, to, opts.http_timeout)
                  : copy_file(src.path, to);
}

std::string hex(uint64_t x) {
  return fmt::format("{:016x}", x);
}

// Places the URI in the sandbox through the cache; sets `*hit` if the cached
// copy was used.
caf::error fetch_cached(const std::string& uri, const source& src,
                        const std::string& name, const std::string& dest,
                        const fetch_options& opts, bool* hit) {
  if (opts.cache_dir.empty())
    return failure("--cache_dir is needed for URIs with cache set");
  auto dir = opts.cache_dir + "/" + hex(fnv1a_64(uri));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return failure(fmt::format("cannot create cache directory '{}': {}", dir,
                               ec.message()));
  auto lock = file_lock::acquire(dir + "/lock");
  if (!lock)
    return lock.error();
  auto owner = read_file(dir + "/uri");
  if (owner && *owner != uri) // an FNV collision: never serve another file
    return fetch_to(src, dest, opts);
  auto cached = dir + "/" + name;
  if (::access(cached.c_str(), F_OK) == 0) {
    *hit = true;
  } else {
    if (!owner)
      if (auto err = replace_file(dir + "/uri", uri))
        return err;
    if (auto err = fetch_to(src, cached, opts))
      return err;
  }
  return copy_file(cached, dest);
}

// The destination in the sandbox: output_file (relative, without "..") or
// the URI's base name.
caf::expected<std::string> destination(const v1::CommandInfo::URI& uri,
                                       const std::string& sandbox,
                                       const std::string& name) {
  if (!uri.has_output_file())
    return sandbox + "/" + name;
  const auto& out = uri.output_file();
  if (out.empty() || out[0] == '/')
    return make_error(errc::invalid_argument,
                      fmt::format("output_file '{}' must be a path relative "
                                  "to the sandbox", out));
  for (const auto& part : fs::path{out})
    if (part == "..")
      return make_error(errc::invalid_argument,
                        fmt::format("output_file '{}' leaves the sandbox",
                                    out));
  auto dest = sandbox + "/" + out;
  std::error_code ec;
  fs::create_directories(fs::path{dest}.parent_path(), ec);
  if (ec)
    return failure(fmt::format("cannot create the directory of '{}': {}",
                               dest, ec.message()));
  return dest;
}

caf::expected<fetch_result> fetch(const v1::CommandInfo::URI& uri,
                                  const fetch_options& opts) {
  const auto& value = uri.value();
  auto src = parse_source(value);
  if (!src)
    return src.error();
  auto name = base_name(value);
  if (name.empty() || name == "." || name == "..")
    return make_error(errc::invalid_argument,
                      "the URI names no file; set output_file");
  auto dest = destination(uri, opts.sandbox, name);
  if (!dest)
    return dest.error();
  fetch_result result;
  result.path = *dest;
  if (uri.has_cache() && uri.cache()) {
    if (auto err = fetch_cached(value, *src, name, *dest, opts,
                                &result.from_cache))
      return err;
  } else if (auto err = fetch_to(*src, *dest, opts)) {
    return err;
  }
  if (uri.has_executable() && uri.executable()) {
    if (::chmod(dest->c_str(), 0755) != 0)
      return os_failure(fmt::format("cannot chmod '{}'", *dest), errno);
    return result;
  }
  auto kind = archive_kind_of(fs::path{*dest}.filename().string());
  if (extracts(uri) && kind != archive_kind::none) {
    if (auto err = extract(*dest, kind, opts.sandbox))
      return err;
    result.extracted_into = opts.sandbox;
  }
  return result;
}

} // namespace

uint64_t fnv1a_64(std::string_view data) noexcept {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

caf::expected<fetch_result> fetch_uri(const v1::CommandInfo::URI& uri,
                                      const fetch_options& opts) {
  auto result = fetch(uri, opts);
  if (!result) {
    auto code = code_of(result.error());
    return make_error(code == errc{} ? errc::io_error : code,
                      fmt::format("cannot fetch '{}': {}", uri.value(),
                                  describe_reason(result.error())));
  }
  return result;
}

} // namespace dcos::fetcher
