// The DNS edge of dcos-dns: UDP and TCP on the listener's port, answering
// the zone's names from the current records (dns_answer.hpp) and
// forwarding every other name upstream.
//
// Forwarding: a name inside one of ZoneResolvers' zones goes to that zone's
// servers, any other to Resolvers; the servers are tried in order, each for
// Timeout seconds, until one answers (its reply is relayed as it is). When
// none answers the client gets SERVFAIL; with ExternalOn false, REFUSED.
// A query that came over TCP is forwarded over TCP.
//
// Records are read from a zone_holder, published whole: a query sees either
// the old zone or the new one, never a mix. Until the first zone is
// published every name in the zone is SERVFAIL (the zone is not known yet,
// which is not the same as a name that does not exist).
//
// The server runs on its own threads (Boost.Asio), outside any actor: it is
// the edge, as the HTTP server is.
//
// Thread-safety: counters() and port() may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "dns_config.hpp"
#include "zone_snapshot.hpp"

namespace dcos::mesos_dns {

/// What /metrics reports; every field only grows.
struct dns_counters {
  // By query type: A, AAAA, SRV, SOA, NS, ANY, other.
  std::array<std::atomic<uint64_t>, 7> by_type{};
  // By reply code: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED.
  std::array<std::atomic<uint64_t>, 6> by_rcode{};
  std::atomic<uint64_t> truncated{0};
  std::atomic<uint64_t> dropped{0};       // not even a header
  std::atomic<uint64_t> forwarded{0};     // answered by an upstream
  std::atomic<uint64_t> forward_failed{0};
  std::atomic<uint64_t> latency_us_sum{0}; // answers from the zone
  std::atomic<uint64_t> latency_count{0};
};

class dns_server {
public:
  /// Binds UDP and TCP on the listener and port of `settings` (port 0 picks
  /// a free one, the same for both) and starts `threads` threads that
  /// answer from `zone`. `seed` seeds the order of answers.
  static caf::expected<std::unique_ptr<dns_server>>
  start(dns_settings settings, std::shared_ptr<const zone_holder> zone,
        unsigned threads = 1, uint64_t seed = 0);

  ~dns_server(); // stops

  dns_server(const dns_server&) = delete;
  dns_server& operator=(const dns_server&) = delete;

  uint16_t port() const noexcept;
  const dns_counters& counters() const noexcept;

  /// Stops serving and joins the threads. Idempotent.
  void stop();

  struct impl;

private:
  explicit dns_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace dcos::mesos_dns
