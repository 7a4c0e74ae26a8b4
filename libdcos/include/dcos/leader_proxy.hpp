// The HTTP face of one instance of a highly available service (Marathon,
// Metronome) among several: every request is answered by the leader,
// whichever instance it reaches, as their leader proxies present it.
//
//  - While this instance leads (lead()), the routes it was given answer;
//    with `dialect.mark_own_answers`, every answer carries the leader header
//    (Marathon's `X-Marathon-Leader: http://HOST:PORT`).
//  - On a standby that knows the leader (follow()), a request is forwarded
//    to the leader unchanged (method, target, body, headers but Host and
//    Connection) with the via header naming this instance added, and the
//    leader's answer is passed back with the via header and (if the leader
//    did not set it) the leader header added. A request that already came
//    through this instance is a loop: the dialect's refusal. A leader that
//    cannot be reached: 502, or 504 after the proxy's timeout. A streamed
//    path (Marathon's /v2/events) is forwarded as it arrives, for as long as
//    both ends keep it open.
//  - With no leader known (starting, or during an election): 503 with the
//    dialect's message.
//  - The dialect's local paths (Metronome's /ping) are answered by this
//    instance's own routes whoever leads; every other path waits for one.
//
// /health, /version and /flags stay with the daemon runtime: they describe
// this process, not the leader.
//
// Thread-safety: lead(), follow() and the routes' handlers may run on any
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <dcos/http_client.hpp>
#include <dcos/http_router.hpp>

namespace dcos {

/// How one service's leader proxy speaks (header names, refusals).
struct leader_proxy_dialect {
  std::string service;        // its logger's name: "marathon"
  std::string leader_header;  // "X-Marathon-Leader"
  std::string leader_prefix;  // before HOST:PORT in it: "http://"
  bool mark_own_answers = false; // the leader's own answers carry it too
  std::string via_header;     // "X-Marathon-Via"
  std::string via_prefix;     // before HOST:PORT in it: "1.1 "
  unsigned loop_status = 502; // a request that came through here already
  std::string loop_message;
  std::string no_leader_message; // with 503
  bool json_refusals = true;  // {"message": ...}; else text/plain
  std::set<std::string> streamed_paths; // forwarded as they arrive
  std::set<std::string> local_paths;    // never forwarded
};

class leader_proxy {
public:
  /// `self_address` is this instance's HTTP address, "HOST:PORT", as the
  /// other instances reach it (what it contends with).
  leader_proxy(std::string self_address, leader_proxy_dialect dialect);

  /// Every path with every method, dispatched as above.
  http_router routes() const;

  /// Answers with `leading` (the service's routes) from now on.
  void lead(http_handler leading);

  /// This instance stands by; `leader` ("HOST:PORT") leads, "" if unknown.
  void follow(std::string leader);

  /// Answers the local paths while this instance does not lead.
  /// REQUIRES: called before routes() serves.
  void serve_locally(http_handler local);

  const std::string& self_address() const { return self_address_; }

private:
  struct target {
    std::mutex mtx;
    std::shared_ptr<const http_handler> leading; // set once this one leads
    std::string leader;                          // a standby's leader
  };

  std::string self_address_;
  std::shared_ptr<const leader_proxy_dialect> dialect_;
  std::shared_ptr<const http_handler> local_;
  std::shared_ptr<target> target_ = std::make_shared<target>();
  std::shared_ptr<http_client> client_ = std::make_shared<http_client>();
};

} // namespace dcos
