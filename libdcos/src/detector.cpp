#include "dcos/detector_actor.hpp"

#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"

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

using remote_impl = detector_actor::extend<
  caf::reacts_to<resolve_atom>,
  // From the HTTP client thread: the actor port, or the error text.
  caf::reacts_to<resolved_atom, uint16_t, std::string>>;

struct remote_state {
  static inline const char* name = "dcos.remote_detector";
  std::string host;
  uint16_t port = 0;
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

remote_impl::behavior_type remote_detector(remote_self self, std::string host,
                                           uint16_t port,
                                           caf::timespan max_backoff) {
  self->state.host = std::move(host);
  self->state.port = port;
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
        v1::Address address;
        if (reply->status != 200
            || from_json(reply->body, &address, "actor endpoint")
            || address.port() <= 0 || address.port() > 65535) {
          caf::anon_send(me, resolved_atom::value, uint16_t{0},
                         fmt::format("GET /master/actor_endpoint answered {} "
                                     "{}",
                                     reply->status, reply->body));
          return;
        }
        caf::anon_send(me, resolved_atom::value,
                       static_cast<uint16_t>(address.port()), std::string{});
      });
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

} // namespace dcos
