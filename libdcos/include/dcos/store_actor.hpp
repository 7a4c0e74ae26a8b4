// Durable key-value storage, the only way kernel actors touch a disk.
//
// put() answers ok only once the value is durable (the file store has
// fsync'd it), and replaces it atomically; append() adds to a value (logs)
// and answers once the new bytes are durable; a crash during an append may
// leave a torn tail, which readers of logs must tolerate. get() of a missing
// key answers errc::not_found. Keys are
// short names ("registry", "checkpoint/executors/..."); values are bytes,
// usually a serialized protobuf message.
//
// Implementations:
//  - spawn_file_store: one file per key under a directory; writes go to a
//    temporary file, are fsync'd and renamed over the old one, so a crash
//    leaves either the old or the new value. Runs on its own thread (a
//    detached actor) because file I/O blocks.
//  - spawn_memory_store: a map in memory, for tests and the simulation
//    (where a crash may be modelled to lose un-synced writes).
//  - spawn_zk_store: znodes in ZooKeeper, shared by several masters, with
//    writes fenced by the writer's election membership.
#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/error.hpp>
#include <dcos/zk_url.hpp>

namespace dcos {

using store_actor = caf::typed_actor<
  caf::replies_to<get_atom, std::string>::with<std::string>,
  caf::replies_to<put_atom, std::string, std::string>::with<ok_atom>,
  // Appends bytes to the value (a log); ok once durable.
  caf::replies_to<append_atom, std::string, std::string>::with<ok_atom>,
  caf::replies_to<erase_atom, std::string>::with<ok_atom>,
  // All keys starting with the prefix, sorted.
  caf::replies_to<keys_atom, std::string>::with<std::vector<std::string>>>;

/// Reads `key` from `store` in `self`'s turn, as state that starts out empty:
/// `on_value(bytes)` gets the value, or "" if the key does not exist yet;
/// `on_error(err)` gets any other failure. One of the two runs, once.
/// (The agent's journal and the master's registry load this way.)
template <class Self, class OnValue, class OnError>
void load_or_empty(Self* self, const store_actor& store, std::string key,
                   OnValue on_value, OnError on_error) {
  self->request(store, caf::infinite, get_atom::value, std::move(key))
    .then([on_value](const std::string& bytes) mutable { on_value(bytes); },
          [on_value, on_error](caf::error& err) mutable {
            if (code_of(err) == errc::not_found)
              on_value(std::string{});
            else
              on_error(err);
          });
}

/// REQUIRES: `dir` is writable (created if missing); errors surface as
/// errc::io_error answers, never as a crash.
store_actor spawn_file_store(caf::actor_system& sys, std::string dir);

store_actor spawn_memory_store(caf::actor_system& sys);

/// A store under `url.path` in ZooKeeper (created if missing): each key is a
/// znode under `keys/` (its name escaped). A value of any size is kept:
/// one bigger than a znode may hold is written as chunks under `chunks/`
/// first, and the key is switched to them in one transaction, so a reader
/// sees the old value or the new one, never a mix.
///
/// Fenced: if `fence` is not empty, every write checks in the same
/// transaction that the znode `fence` exists (the writer's membership in
/// its election, spawn_zk_election). Once it is gone, writes fail with
/// errc::conflict and change nothing: a deposed leader can never overwrite
/// what its successor wrote.
///
/// Requests are served one at a time, in order; while ZooKeeper cannot be
/// reached they wait (callers put their own timeout on them). append()
/// rewrites the whole value. Other failures (no permission) answer
/// errc::io_error naming the znode.
store_actor spawn_zk_store(
  caf::actor_system& sys, zk_url url, std::string fence,
  caf::timespan session_timeout = default_zk_session_timeout);

} // namespace dcos
