// The HTTP face of one Marathon instance among several (high availability),
// as Marathon's leader proxy presents it: every request is answered by the
// leader, whichever instance it reaches.
//
//  - While this instance leads (lead()), the routes it was given answer, and
//    every response carries `X-Marathon-Leader: http://HOST:PORT`.
//  - On a standby that knows the leader (follow()), a request is forwarded
//    to the leader unchanged (method, target, body, headers but Host and
//    Connection) with `X-Marathon-Via: 1.1 HOST:PORT` (ours) added, and the
//    leader's answer is passed back with the same header added. A request
//    that already came through this instance is a loop: 502. A leader that
//    cannot be reached: 502, or 504 after the proxy's timeout. The event
//    stream (/v2/events) is forwarded as it arrives, for as long as both
//    ends keep it open.
//  - With no leader known (starting, or during an election): 503
//    {"message": "Could not determine the current leader"}.
//
// /health, /version and /flags stay with the daemon runtime: they describe
// this process, not the leader.
//
// Thread-safety: lead(), follow() and the routes' handlers may run on any
// thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <caf/fwd.hpp>

#include <dcos/http_client.hpp>
#include <dcos/http_router.hpp>

namespace dcos::marathon {

class marathon_edge {
public:
  /// `self_address` is this instance's HTTP address, "HOST:PORT", as the
  /// other instances reach it (what it contends with).
  explicit marathon_edge(std::string self_address);

  /// Every path with every method, dispatched as above.
  http_router routes() const;

  /// Answers with `leading` (Marathon's routes) from now on.
  void lead(http_handler leading);

  /// This instance stands by; `leader` ("HOST:PORT") leads, "" if unknown.
  void follow(std::string leader);

  const std::string& self_address() const { return self_address_; }

private:
  struct target {
    std::mutex mtx;
    std::shared_ptr<const http_handler> leading; // set once this one leads
    std::string leader;                          // a standby's leader
  };

  std::string self_address_;
  std::shared_ptr<target> target_ = std::make_shared<target>();
  std::shared_ptr<http_client> client_ = std::make_shared<http_client>();
};

} // namespace dcos::marathon
