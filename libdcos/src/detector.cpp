#include "dcos/detector_actor.hpp"

#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "dcos/zk_url.hpp"

namespace dcos {

namespace {

using reply_promise = caf::typed_response_promise<master_actor>;

// -- fixed ------------------------------------------------------------------------

struct fixed_state {
  std::vector<reply_promise> waiting; // asked with the current master
};

detector_actor::behavior_type
fixed_detector(detector_actor::stateful_pointer<fixed_state> self,
               master_actor master) {
  return {
    [self, master](detect_atom, const master_actor& previous)
      -> caf::result<master_actor> {
      if (master != previous)
        return master;
      // Nothing will change: the answer waits (callers time out).
      auto rp = self->make_response_promise<master_actor>();
      self->state.waiting.push_back(rp);
      return rp;
    },
  };
}

// -- remote -------------------------------------------------------------------------

// Internal steps of a resolution, delivered back to the actor.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using resolved_atom = caf::atom_constant<caf::atom("resolved")>;

using redirect_atom = caf::atom_constant<caf::atom("redirect")>;

using remote_impl = detector_actor::extend<
  caf::reacts_to<resolve_atom>,
  // From the HTTP client thread: the actor port, or the error text.
  caf::reacts_to<resolved_atom, uint16_t, std::string>,
  // From the HTTP client thread: a standby named the leader's HOST:PORT.
  caf::reacts_to<redirect_atom, std::string, uint16_t>>;

struct remote_state {
  static inline const char* name = "dcos.remote_detector";
  std::string home_host; // the address the detector was given
  uint16_t home_port = 0;
  std::string host;      // the one asked in this resolution (a standby
  uint16_t port = 0;     // among several masters redirects to the leader)
  bool redirected = false;
  caf::timespan max_backoff{};
  caf::timespan backoff = std::chrono::milliseconds(500);
  master_actor current;
  bool resolving = false;
  std::vector<std::pair<master_actor, reply_promise>> waiting;
  std::shared_ptr<http_client> http = std::make_shared<http_client>();
  std::shared_ptr<spdlog::logger> log = logging::get("detector");
};

using remote_self = remote_impl::stateful_pointer<remote_state>;

// A fresh resolution answers everyone waiting, even with the handle they
// had: they lost their link to it, and the link works again.
void answer_waiters(remote_self self) {
  auto waiting = std::move(self->state.waiting);
  self->state.waiting.clear();
  for (auto& [previous, rp] : waiting)
    rp.deliver(self->state.current);
}

void retry_later(remote_self self, const std::string& why) {
  auto& st = self->state;
  st.resolving = false;
  st.log->warn("cannot reach master at {}:{}: {} (retrying in {}ms)", st.host,
               st.port, why,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 st.backoff)
                 .count());
  self->delayed_send(self, st.backoff, resolve_atom::value);
  st.backoff = std::min(st.backoff * 2, st.max_backoff);
}

// Where a redirect's Location ("//HOST:PORT/path" or "http://HOST:PORT/...")
// points.
std::optional<std::pair<std::string, uint16_t>>
redirect_target(const std::string& location) {
  auto rest = std::string_view{location};
  if (rest.substr(0, 5) == "http:")
    rest.remove_prefix(5);
  if (rest.substr(0, 2) != "//")
    return std::nullopt;
  rest.remove_prefix(2);
  auto where = parse_host_port(rest.substr(0, rest.find('/')), 5050);
  if (!where)
    return std::nullopt;
  return *where;
}

// GET /master/actor_endpoint at st.host:st.port; the answer comes back as a
// message (resolved_atom, or redirect_atom from a standby).
void ask_actor_endpoint(remote_self self) {
  auto& st = self->state;
  http_call call;
  call.host = st.host;
  call.port = st.port;
  call.target = "/master/actor_endpoint";
  call.timeout = std::chrono::seconds(5);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.http->fetch(call, [me](caf::expected<http_reply> reply) {
    // Runs on the HTTP client's thread: hand the result to the actor.
    if (!reply) {
      caf::anon_send(me, resolved_atom::value, uint16_t{0},
                     describe(reply.error()));
      return;
    }
    if (reply->status == 307) {
      if (auto leader = redirect_target(reply->header("location"))) {
        caf::anon_send(me, redirect_atom::value, leader->first,
                       leader->second);
        return;
      }
    }
    v1::Address address;
    if (reply->status != 200
        || from_json(reply->body, &address, "actor endpoint")
        || address.port() <= 0 || address.port() > 65535) {
      caf::anon_send(me, resolved_atom::value, uint16_t{0},
                     fmt::format("GET /master/actor_endpoint answered {} {}",
                                 reply->status, reply->body));
      return;
    }
    caf::anon_send(me, resolved_atom::value,
                   static_cast<uint16_t>(address.port()), std::string{});
  });
}

remote_impl::behavior_type remote_detector(remote_self self, std::string host,
                                           uint16_t port,
                                           caf::timespan max_backoff) {
  self->state.home_host = std::move(host);
  self->state.home_port = port;
  self->state.max_backoff = max_backoff;
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.current && msg.source == self->state.current.address()) {
      self->state.log->warn("lost the master at {}:{}", self->state.host,
                            self->state.port);
      self->state.current = master_actor{};
    }
  });
  return {
    [self](detect_atom, const master_actor& previous)
      -> caf::result<master_actor> {
      auto& st = self->state;
      if (st.current && st.current != previous)
        return st.current;
      if (st.current == previous)
        st.current = master_actor{}; // the caller found it gone
      auto rp = self->make_response_promise<master_actor>();
      st.waiting.emplace_back(previous, rp);
      if (!st.resolving)
        self->send(self, resolve_atom::value);
      return rp;
    },
    [self](resolve_atom) {
      auto& st = self->state;
      if (st.resolving || st.waiting.empty())
        return;
      st.resolving = true;
      st.host = st.home_host;
      st.port = st.home_port;
      st.redirected = false;
      ask_actor_endpoint(self);
    },
    [self](redirect_atom, const std::string& host, uint16_t port) {
      auto& st = self->state;
      if (st.redirected) { // one hop only: a leader does not redirect
        retry_later(self, "redirected twice");
        return;
      }
      st.log->info("{}:{} is a standby; the leader is {}:{}", st.host, st.port,
                   host, port);
      st.redirected = true;
      st.host = host;
      st.port = port;
      ask_actor_endpoint(self);
    },
    [self](resolved_atom, uint16_t actor_port, const std::string& error) {
      auto& st = self->state;
      if (actor_port == 0) {
        retry_later(self, error);
        return;
      }
      auto mm = self->system().middleman().actor_handle();
      self->request(mm, std::chrono::seconds(10), caf::connect_atom::value,
                    st.host, actor_port)
        .then(
          [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
                 const std::set<std::string>& ifs) {
            auto& st = self->state;
            auto expected = self->system().message_types(
              caf::detail::type_list<master_actor>{});
            if (!ptr || ifs != expected) {
              retry_later(self, "the peer is not a libdcos master of this "
                                "version");
              return;
            }
            st.resolving = false;
            st.backoff = std::chrono::milliseconds(500);
            st.current = caf::actor_cast<master_actor>(std::move(ptr));
            self->monitor(st.current);
            st.log->info("found the master at {}:{}", st.host, st.port);
            answer_waiters(self);
          },
          [self](caf::error& err) {
            retry_later(self, self->system().render(err));
          });
    },
  };
}

// -- election ---------------------------------------------------------------------

using election_impl = detector_actor::extend<
  // The election's answer to leader(previous).
  caf::reacts_to<leader_atom, int64_t, std::string>>;

struct election_detector_state {
  static inline const char* name = "dcos.election_detector";
  int64_t leader_seq = -1;    // (first: an actor handle first would make
  election_actor election;    // the state constructible from `self`)
  std::string leader_address; // "HOST:PORT" of the leader's HTTP endpoint
  detector_actor remote;      // reaches the leader at that address
  uint64_t remote_generation = 0;
  master_actor current;
  std::vector<reply_promise> waiting;
  std::shared_ptr<spdlog::logger> log = logging::get("detector");

  // The state ends with the actor (attached functors run after it is gone).
  ~election_detector_state() {
    if (remote)
      caf::anon_send_exit(remote, caf::exit_reason::user_shutdown);
  }
};

using election_self = election_impl::stateful_pointer<election_detector_state>;

void watch_leader(election_self self) {
  self->request(self->state.election, caf::infinite, leader_atom::value,
                self->state.leader_seq)
    .then(
      [self](int64_t seq, std::string& data) {
        self->send(self, leader_atom::value, seq, std::move(data));
      },
      [self](caf::error& err) {
        self->state.log->error("cannot follow the election: {}",
                               describe(err));
        self->quit(err);
      });
}

// Asks the leader's remote detector; a fresh finding answers everyone.
void resolve(election_self self, master_actor lost) {
  auto& st = self->state;
  auto generation = st.remote_generation;
  self->request(st.remote, caf::infinite, detect_atom::value, std::move(lost))
    .then(
      [self, generation](master_actor& found) {
        auto& st = self->state;
        if (generation != st.remote_generation)
          return; // the leader changed meanwhile
        st.current = std::move(found);
        auto waiting = std::move(st.waiting);
        st.waiting.clear();
        for (auto& rp : waiting)
          rp.deliver(st.current);
      },
      [](caf::error&) {
        // The remote detector was replaced (a new leader): nothing to do.
      });
}

election_impl::behavior_type election_detector(election_self self,
                                               election_actor election) {
  self->state.election = std::move(election);
  watch_leader(self);
  return {
    [self](detect_atom, master_actor& previous) -> caf::result<master_actor> {
      auto& st = self->state;
      if (st.current && st.current != previous)
        return st.current;
      auto rp = self->make_response_promise<master_actor>();
      st.waiting.push_back(rp);
      if (st.current && st.current == previous) {
        st.current = master_actor{}; // the caller lost it: look again
        resolve(self, std::move(previous));
      }
      return rp;
    },
    [self](leader_atom, int64_t seq, std::string& data) {
      auto& st = self->state;
      st.leader_seq = seq;
      auto endpoint = seq < 0 ? std::nullopt : master_http_endpoint(data);
      if (seq >= 0 && !endpoint)
        st.log->error("the leader's data is not a MasterInfo with an "
                      "address: {}",
                      data);
      auto address = endpoint ? fmt::format("{}:{}", endpoint->first,
                                            endpoint->second)
                              : std::string{};
      if (address != st.leader_address) {
        if (st.remote)
          caf::anon_send_exit(st.remote, caf::exit_reason::user_shutdown);
        st.remote = detector_actor{};
        st.current = master_actor{};
        st.leader_address = address;
        ++st.remote_generation;
        if (endpoint) {
          st.log->info("the leading master is at {}", address);
          st.remote = spawn_remote_detector(self->system(), endpoint->first,
                                            endpoint->second);
          resolve(self, master_actor{});
        }
      }
      watch_leader(self);
    },
  };
}

} // namespace

detector_actor spawn_fixed_detector(caf::actor_system& sys,
                                    master_actor master) {
  return sys.spawn(fixed_detector, std::move(master));
}

detector_actor spawn_remote_detector(caf::actor_system& sys, std::string host,
                                     uint16_t port, caf::timespan max_backoff) {
  return caf::actor_cast<detector_actor>(
    sys.spawn(remote_detector, std::move(host), port, max_backoff));
}

std::optional<std::pair<std::string, uint16_t>>
master_http_endpoint(const std::string& json) {
  v1::MasterInfo info;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, &info, options).ok())
    return std::nullopt;
  const auto& a = info.address();
  auto host = a.has_ip() ? a.ip() : a.has_hostname() ? a.hostname()
                                                     : info.hostname();
  auto port = a.port() != 0 ? static_cast<uint32_t>(a.port()) : info.port();
  if (host.empty() || port == 0 || port > 65535)
    return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(port));
}

detector_actor spawn_election_detector(caf::actor_system& sys,
                                       election_actor election) {
  return caf::actor_cast<detector_actor>(
    sys.spawn(election_detector, std::move(election)));
}

caf::expected<master_location> parse_master_location(std::string_view text,
                                                     std::string_view what) {
  master_location where;
  if (is_zk_url(text)) {
    auto url = parse_zk_url(text, what);
    if (!url)
      return url.error();
    where.zk = std::move(*url);
    return where;
  }
  auto address = parse_host_port(text, 5050);
  if (!address)
    return make_error(errc::invalid_argument,
                      fmt::format("{}: '{}' is neither HOST:PORT nor "
                                  "zk://HOSTS/PATH",
                                  what, text));
  where.host = std::move(address->first);
  where.port = address->second;
  return where;
}

detector_actor spawn_detector(caf::actor_system& sys,
                              const master_location& where,
                              caf::timespan zk_session_timeout) {
  if (!where.zk)
    return spawn_remote_detector(sys, where.host, where.port);
  auto election = spawn_zk_election(sys, *where.zk, zk_session_timeout);
  auto detector = spawn_election_detector(sys, election);
  // The election lives exactly as long as its detector.
  detector->attach_functor([election] {
    caf::anon_send_exit(election, caf::exit_reason::user_shutdown);
  });
  return detector;
}

} // namespace dcos
