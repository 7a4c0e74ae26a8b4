// The backends of one VIP and the choice among them, shared by the TCP and
// UDP halves of the proxy (vip_proxy.hpp).
//
// Backend choice, as Minuteman v1 made it: the power of two choices over a
// peak-EWMA of each backend's latency (10 s decay) times its open
// connections plus one; a backend nothing went to for a second is tried
// again whatever its average. A backend that fails `failures_to_down` times
// in a row is down for `down_for`, after which the next connection probes
// it. For TCP the latency is the connect's; for UDP, the time from a
// flow's first datagram to the backend's first reply, and a failure is a
// refusal (ICMP port unreachable).
//
// Thread-safety: every member function may be called from any thread (they
// take the VIP's mutex); the counters are atomics, read without it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include <dcos/vip_table.hpp>

namespace dcos::minuteman {

using steady = std::chrono::steady_clock;

struct balance_options {
  uint32_t failures_to_down = 3;
  std::chrono::milliseconds down_for{5000};
};

struct backend {
  std::string ip; // as the table names it (an IP, or the agent's hostname)
  uint16_t port = 0;
  // Guarded by the VIP's mutex.
  boost::asio::ip::address address; // a hostname's may change in set()
  bool in_table = true;
  bool measured = false;
  double ewma_ns = 0;
  steady::time_point sampled;
  uint32_t pending = 0; // connections (flows) being made or open
  uint32_t failures_in_row = 0;
  steady::time_point down_until;
  // Counters, read without the mutex.
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> bytes_in{0};  // from the backend
  std::atomic<uint64_t> bytes_out{0}; // to the backend

  /// What the two choices compare: latency times load.
  double cost(steady::time_point now) const;
  void sample(double ns, steady::time_point now);
};

class vip_backends {
public:
  vip_backends(std::string key, balance_options opts, uint64_t seed);

  const std::string& key() const { return key_; }

  /// Makes `table_backends` the VIP's backends: known ones keep their
  /// averages and counters; ones that left stay listed (not chosen) while
  /// connections to them are open. `resolved` gives the addresses of
  /// backends named by a hostname; others without an address are skipped
  /// (logged once).
  void set(const std::vector<vip_backend>& table_backends,
           const std::map<std::string, boost::asio::ip::address>& resolved);

  /// The backend for a new connection, not among `tried`; its pending
  /// count is raised and `*address` is set to its address, copied under the
  /// mutex (set() may change a hostname backend's meanwhile). Null if none
  /// is left to try.
  std::shared_ptr<backend> pick(const backend* const* tried, size_t count,
                                boost::asio::ip::address* address);

  /// The connection to `b` (picked at `started`) works: a latency sample,
  /// and its failures are forgotten.
  void succeeded(backend& b, steady::time_point started);

  /// The connection to `b` failed before it worked; ends it.
  void failed(backend& b);

  /// The connection to `b` ended. REQUIRES: its `active` count was
  /// lowered first (a drained backend with none left is forgotten).
  void released(backend& b);

  /// Calls `f` on every backend, under the VIP's mutex (for stats).
  void visit(const std::function<void(const backend&)>& f) const;

  // Counters of the VIP, read without the mutex.
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> failures{0}; // client connections no backend took
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};

private:
  void forget_if_drained(backend& b); // REQUIRES: mtx_ held

  const std::string key_;
  const balance_options opts_;
  mutable std::mutex mtx_;
  std::vector<std::shared_ptr<backend>> backends_; // under mtx_
  std::set<std::string> skipped_;                  // logged once
  std::minstd_rand rng_;                           // under mtx_
};

} // namespace dcos::minuteman
