// Answering an HTTP request from an actor's reply: the REST edges of the
// user-space services ask their actor and turn the reply, or the failure,
// into the response. Never blocks an I/O thread.
//
// Thread-safety: as ask() (ask.hpp): the callbacks run on a CAF worker.
#pragma once

#include <type_traits>
#include <utility>

#include <dcos/ask.hpp>
#include <dcos/http_server.hpp>

namespace dcos {

/// What an `on_reply` of ask_for_response() returns when it has passed the
/// responder on to a further call, which answers instead.
inline http_response answered_later() {
  http_response r;
  r.status = 0;
  return r;
}

namespace detail {

// The argument type of a reply handler (CAF needs it spelled out).
template <class F>
struct reply_of : reply_of<decltype(&F::operator())> {};
template <class C, class R, class A>
struct reply_of<R (C::*)(A) const> {
  using type = std::decay_t<A>;
};

} // namespace detail

/// Sends `msg...` to `dest` and answers `respond` with `on_reply(reply)`
/// (unless that is answered_later()), or with `on_failure(err)` if the
/// request fails or times out after `timeout`. `on_reply` takes the reply
/// by reference, as one argument.
template <class Handle, class OnReply, class OnFailure, class... Ts>
void ask_for_response(caf::actor_system& sys, const Handle& dest,
                      caf::timespan timeout, const http_responder& respond,
                      OnReply on_reply, OnFailure on_failure, Ts... msg) {
  using reply = typename detail::reply_of<OnReply>::type;
  ask(
    sys, dest, timeout,
    [respond, on_reply](reply& x) mutable {
      auto r = on_reply(x);
      if (r.status != 0)
        respond(std::move(r));
    },
    [respond, on_failure](const caf::error& err) {
      respond(on_failure(err));
    },
    std::move(msg)...);
}

} // namespace dcos
