// The UDP half of Minuteman's proxy (vip_proxy.hpp): one relay per UDP VIP.
//
// UDP has no connections, so the relay keeps flows, as IPVS does: the
// datagrams from one client address go to one backend, chosen when the
// first of them arrives (vip_backends.hpp), through a socket connected to
// it; what the backend sends back goes to the client from the VIP's own
// address and port, so a client that connected its socket to the VIP
// accepts it. A flow no datagram crossed for `idle` ends; a client that
// sends again after that may reach another backend.
//
// A backend that refuses (ICMP port unreachable, seen as ECONNREFUSED on
// the flow's socket) fails the flow over to another backend, and the
// client's last datagram is sent again there: once a dead backend is
// detected, no flow is lost to it. Datagrams are never reordered within a
// flow; as with any UDP path, one the kernel cannot queue is dropped.
//
// Thread-safety: every handler runs on the executor given to open() (a
// strand when the proxy has several threads); close() may be called from
// any thread.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>
#include <caf/expected.hpp>

#include "vip_backends.hpp"

namespace dcos::minuteman {

struct udp_options {
  std::chrono::milliseconds idle{60000};
  size_t max_tries = 3; // backends one flow tries before it is dropped
};

class udp_relay {
public:
  /// Binds the VIP's `endpoint` and starts relaying. Fails if the address
  /// cannot be bound (not on this host, or the port is taken).
  static caf::expected<std::shared_ptr<udp_relay>>
  open(boost::asio::any_io_executor executor,
       boost::asio::ip::udp::endpoint endpoint,
       std::shared_ptr<vip_backends> backends, udp_options opts);

  /// Closes the VIP's socket and ends every flow. Idempotent.
  void close();

  /// Forgets every flow without touching their sockets. REQUIRES: no
  /// thread runs the executor any more (the proxy stopped).
  void abandon();

  struct impl;

private:
  explicit udp_relay(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

} // namespace dcos::minuteman
