// The addresses of the VIPs, on a dummy interface Minuteman owns
// ("minuteman", as DC/OS names it), or loopback aliases where the kernel has
// no dummy interfaces: what lets the proxy listen on an address
// no machine has and lets every process on the host (and every container
// whose traffic goes through the host) reach it.
//
// It runs `ip` (iproute2) rather than speaking rtnetlink: the VIP set
// changes when apps change, a few commands a minute, and the kernel's
// rtnetlink client lives in the containerizer, which a service may not use.
//
// Thread-safety: none; one owner thread (the proxy's control thread). Every
// call blocks until `ip` is done.
#pragma once

#include <set>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace dcos::minuteman {

class vip_interface {
public:
  /// Creates the dummy interface `name` (or takes it over if it exists,
  /// removing the addresses a previous run left) and sets it up. Where the
  /// kernel has no dummy interfaces, the addresses go on loopback ("lo")
  /// as aliases instead, and fallback() says why. Fails without root
  /// (CAP_NET_ADMIN) or without `ip`.
  static caf::expected<vip_interface> open(std::string name);

  vip_interface(vip_interface&& other) noexcept
    : name_(std::move(other.name_)), created_(other.created_),
      open_(std::exchange(other.open_, false)), ips_(std::move(other.ips_)),
      fallback_(std::move(other.fallback_)) {
  }
  vip_interface& operator=(vip_interface&&) = delete;
  ~vip_interface();

  /// Makes the interface hold exactly `ips` (IPv4 as /32, IPv6 as /128).
  /// Returns the first failure; the addresses it could set stay set.
  caf::error sync(const std::set<std::string>& ips);

  /// Removes every address it added, and the interface if it created it.
  void close();

  /// The interface that holds the addresses: `name`, or "lo".
  const std::string& name() const noexcept { return name_; }

  /// Why the addresses are on loopback; empty if they are on `name`.
  const std::string& fallback() const noexcept { return fallback_; }

private:
  vip_interface() = default;
  std::string name_;
  bool created_ = false;
  bool open_ = false;
  std::set<std::string> ips_;
  std::string fallback_;
};

} // namespace dcos::minuteman
