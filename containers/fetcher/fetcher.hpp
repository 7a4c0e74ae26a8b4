// Fetching the URIs of a dcos.v1.CommandInfo into a sandbox: the work of
// dcos-fetcher.
//
// Sources: `file:///abs/path` or a plain absolute path (copied), and
// `http://host[:port]/path` or `https://host[:port]/path` (downloaded with
// dcos::http_fetch, following up to 5 redirects; an https server's
// certificate must be trusted, as with Mesos' fetcher: the system's
// authorities, or OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR in the agent's
// environment). Any other form is refused naming the URI. A file lands in
// SANDBOX/<output_file>, or SANDBOX/<basename of the URI path>; it is written
// under a temporary name and renamed, so a killed fetcher leaves no partial
// file under the final name.
//
// `cache`: the file is kept in CACHE_DIR/<16 hex digits of FNV-1a-64 of the
// URI>/<basename>, which also holds `uri` (the full URI, so that a hash
// collision bypasses the cache instead of serving the wrong file) and `lock`.
// An exclusive flock on `lock` is held from the lookup to the copy into the
// sandbox, so concurrent fetchers of one URI download it once. A cached URI
// is never fetched again, even if its source has changed or gone.
//
// `executable`: chmod 0755 and never extracted. Otherwise, unless `extract` is
// false, archives are unpacked into the sandbox (see extract.hpp); the
// archive itself stays.
//
// Errors name the URI and the reason, e.g.
//   cannot fetch 'http://h/x.tgz': GET h:80/x.tgz: HTTP 404
//
// Thread-safety: fetch_uri() may run concurrently, in threads or processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <dcos/v1/command.pb.h>

namespace dcos::fetcher {

struct fetch_options {
  std::string sandbox;   // must exist
  std::string cache_dir; // needed only for URIs with `cache`; created if absent
  std::chrono::milliseconds http_timeout{std::chrono::minutes(5)}; // per request
};

struct fetch_result {
  std::string path;           // the file in the sandbox
  bool from_cache = false;    // an earlier fetch of the URI was reused
  std::string extracted_into; // empty: not extracted
};

/// Fetches `uri` as described above.
caf::expected<fetch_result> fetch_uri(const v1::CommandInfo::URI& uri,
                                      const fetch_options& opts);

/// FNV-1a, 64 bits: names the cache directory of a URI.
uint64_t fnv1a_64(std::string_view data) noexcept;

} // namespace dcos::fetcher
