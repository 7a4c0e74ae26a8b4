// Checks whether a TCP port accepts connections, without blocking the
// caller: for TCP health checks. Owns one I/O thread.
//
// Thread-safety: probe() may be called from any thread; `done` runs on the
// prober's thread. The destructor drops outstanding probes (their `done`
// is never called) and joins; do not destroy a prober from its callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace dcos {

class tcp_prober {
public:
  tcp_prober();
  tcp_prober(const tcp_prober&) = delete;
  tcp_prober& operator=(const tcp_prober&) = delete;
  ~tcp_prober();

  /// `done(true, "")` once a connection to host:port was established (and
  /// closed again), `done(false, why)` otherwise.
  void probe(std::string host, uint16_t port,
             std::chrono::milliseconds timeout,
             std::function<void(bool, std::string)> done);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace dcos
