#include "readiness_prober.hpp"

#include <map>
#include <memory>

#include <dcos/http_client.hpp>

namespace dcos::marathon {

namespace {

using probed_atom = caf::atom_constant<caf::atom("probed")>;
using probe_reply = caf::typed_response_promise<int32_t, std::string,
                                                std::string>;

// The I/O thread's answer, sent back to the actor.
using prober_impl = readiness_prober::extend<
  caf::reacts_to<probed_atom, uint64_t, int32_t, std::string, std::string,
                 caf::error>>;

struct prober_state {
  static inline const char* name = "marathon.readiness_prober";
  // Made on the first probe. Its destructor (with the state's) fails the
  // outstanding calls, whose answers then go nowhere.
  std::unique_ptr<http_client> http;
  uint64_t next = 0;
  std::map<uint64_t, probe_reply> pending;
};

prober_impl::behavior_type
prober(prober_impl::stateful_pointer<prober_state> self) {
  return {
    [self](probe_atom, const std::string& host, uint16_t port, bool https,
           const std::string& path, caf::timespan timeout) -> probe_reply {
      auto& st = self->state;
      if (!st.http)
        st.http = std::make_unique<http_client>();
      auto id = st.next++;
      auto rp = self->make_response_promise<int32_t, std::string,
                                            std::string>();
      st.pending.emplace(id, rp);
      http_call call;
      call.host = host;
      call.port = port;
      call.target = path.empty() ? "/" : path;
      call.tls = https;
      call.verify_peer = false;
      call.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        timeout);
      caf::actor me = caf::actor_cast<caf::actor>(self);
      st.http->fetch(call, [me, id](caf::expected<http_reply> r) {
        if (r)
          caf::anon_send(me, probed_atom::value, id,
                         static_cast<int32_t>(r->status), r->content_type,
                         r->body, caf::error{});
        else
          caf::anon_send(me, probed_atom::value, id, int32_t{0},
                         std::string{}, std::string{}, r.error());
      });
      return rp;
    },
    [self](probed_atom, uint64_t id, int32_t status, std::string& type,
           std::string& body, caf::error& error) {
      auto& st = self->state;
      auto at = st.pending.find(id);
      if (at == st.pending.end())
        return;
      auto rp = at->second;
      st.pending.erase(at);
      if (error)
        rp.deliver(std::move(error));
      else
        rp.deliver(status, std::move(type), std::move(body));
    },
  };
}

} // namespace

readiness_prober spawn_http_prober(caf::actor_system& sys) {
  return caf::actor_cast<readiness_prober>(sys.spawn(prober));
}

} // namespace dcos::marathon
