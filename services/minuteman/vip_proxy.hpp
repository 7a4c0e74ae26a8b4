// Minuteman's data plane: a userspace layer-4 proxy (Boost.Asio on epoll)
// that listens on every VIP of the table it is given: a TCP VIP joins each
// client connection to one of its backends; a UDP VIP relays each client's
// datagrams to one of them (udp_relay.hpp). Backends are chosen as
// Minuteman v1 chose them (vip_backends.hpp).
//
// TCP: a connect that fails is retried on another backend (at most three
// tries), so a backend that dies loses no client connection once it is
// detected. Bytes are passed through in order, as they come; a half-close
// (FIN) is passed on as one, and a reset as a reset. With `splice`, a
// direction that carries a bulk stream moves it with splice(2)
// (splice_pipe.hpp). A backend that leaves
// the table takes no new connection; open ones run until either end closes
// (drain); a UDP flow to it runs until it is idle.
//
// Backends named by a hostname instead of an IP are resolved by the
// control thread, again every 30 s.
//
// Thread-safety: publish(), stats() and stop() may be called from any
// thread. publish() never blocks on I/O: the table is taken by the proxy's
// control thread, which also keeps the VIP addresses on the interface
// (vip_interface.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include <dcos/vip_table.hpp>

#include "vip_interface.hpp"

namespace dcos::minuteman {


struct proxy_options {
  uint32_t threads = 1;
  std::chrono::milliseconds connect_timeout{1000};
  uint32_t failures_to_down = 3;
  std::chrono::milliseconds down_for{5000};
  std::chrono::milliseconds udp_idle{60000}; // a UDP flow's idle timeout
  // Bulk streams through splice(2) (splice_pipe.hpp): less CPU per byte,
  // but fewer bytes per second for one stream on loopback, so off unless
  // asked for (the benchmark measures both).
  bool splice = false;
  uint64_t seed = 1;
};

struct backend_stats {
  std::string ip;
  uint16_t port = 0;
  bool down = false;
  double latency_ms = 0; // the EWMA of latency (vip_backends.hpp)
  uint64_t connections = 0;
  uint64_t active = 0;
  uint64_t connect_failures = 0; // UDP: refusals
  uint64_t bytes_in = 0;  // from the backend
  uint64_t bytes_out = 0; // to the backend
};

struct vip_stats {
  std::string key; // vip_entry::key()
  bool listening = false;
  std::string error; // why it is not listening
  uint64_t connections = 0; // for UDP: flows (a client address's datagrams)
  uint64_t active = 0;
  uint64_t failures = 0; // client connections (flows) no backend took
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  // Every backend the VIP has had, drained ones while connections to them
  // are open.
  std::vector<backend_stats> backends;
};

class vip_proxy {
public:
  /// Starts the I/O and control threads. `iface` (may be null: addresses
  /// are then assumed local already) is owned by the proxy.
  static caf::expected<std::unique_ptr<vip_proxy>>
  start(proxy_options opts, std::unique_ptr<vip_interface> iface);

  ~vip_proxy();

  /// Makes `table` the one served: listeners for new VIPs, backends
  /// updated, listeners of VIPs no longer in it closed (their open
  /// connections run on). Only the latest table matters.
  void publish(std::shared_ptr<const vip_table> table);

  /// Counters of every VIP served, sorted by key.
  std::vector<vip_stats> stats() const;

  /// The number of tables applied so far (for tests that wait for one).
  uint64_t applied() const;

  /// Closes the listeners and every connection, removes the addresses it
  /// added, and joins the threads. Idempotent.
  void stop();

  struct impl;

private:
  explicit vip_proxy(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace dcos::minuteman
