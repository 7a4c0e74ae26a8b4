// Asking an actor from outside any actor (an HTTP handler, a CLI callback,
// main()) without blocking: a short-lived actor sends the request and hands
// the answer to a callback, then ends.
#pragma once

#include <functional>
#include <utility>

#include <caf/all.hpp>

#include <dcos/error.hpp>

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

/// Calls `done` once, from another actor: with no error once `dest`
/// answers `msg...` (with a `Reply`), polling every 20 ms while it refuses
/// with errc::unavailable (a service loading its state); with the error
/// otherwise (the service ended). How a daemon waits to serve until its
/// service has loaded.
template <class Reply, class Handle, class... Ts>
void when_ready(caf::actor_system& sys, Handle dest,
                std::function<void(const caf::error&)> done, Ts... msg) {
  using poll_atom = caf::atom_constant<caf::atom("poll")>;
  sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, poll_atom::value);
    return {
      [=](poll_atom) {
        self->request(dest, std::chrono::seconds(30), msg...)
          .then(
            [=](const Reply&) {
              done(caf::error{});
              self->quit();
            },
            [=](caf::error& err) {
              if (code_of(err) == errc::unavailable) {
                self->delayed_send(self, std::chrono::milliseconds(20),
                                   poll_atom::value);
                return;
              }
              done(err);
              self->quit();
            });
      },
    };
  });
}

} // namespace dcos
