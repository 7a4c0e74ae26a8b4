// Asking an actor from outside any actor (an HTTP handler, a CLI callback)
// without blocking: a short-lived actor sends the request and hands the
// answer to a callback, then ends.
#pragma once

#include <utility>

#include <caf/all.hpp>

namespace dcos {

/// Sends `msg...` to `dest` as a request; `on_reply` gets the answer or
/// `on_error` the error (a timeout after `timeout`). Both run on a CAF worker
/// thread: keep them short and non-blocking.
template <class Handle, class OnReply, class OnError, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, caf::timespan timeout,
         OnReply on_reply, OnError on_error, Ts... msg) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(msg)...)
      .then(std::move(on_reply),
            [on_error](caf::error& err) mutable { on_error(err); });
  });
}

} // namespace dcos
