// A ZooKeeper session (Apache ZooKeeper's C client, multi-threaded) whose
// events and results arrive as messages to an actor, so that no actor ever
// waits on ZooKeeper. The C client runs two threads of its own (I/O and
// completions); every callback only sends a message.
//
// Messages to the owner, each carrying the session's `generation` so that
// the owner can ignore an old session's stragglers:
//   (zk_event_atom, generation, int32 type, int32 state, string path)
//       session events (type ZOO_SESSION_EVENT, with the new state) and
//       watches (ZOO_CHILD_EVENT, ZOO_DELETED_EVENT, ... on `path`);
//   (zk_reply_atom, generation, uint64 tag, zk::reply)
//       exactly one per call below, with the caller's `tag`.
//
// Thread-safety: a client is used by its owning actor only. Destroying it
// closes the session on a thread of its own (zookeeper_close() blocks on
// the network), after which no further message is sent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "dcos/atoms.hpp"
#include "dcos/zk_url.hpp"

typedef struct _zhandle zhandle_t;

namespace dcos::zk {

using zk_event_atom = caf::atom_constant<caf::atom("zkevent")>;
using zk_reply_atom = caf::atom_constant<caf::atom("zkreply")>;

struct reply {
  int32_t rc = 0;                    // ZOK, ZNONODE, ZCONNECTIONLOSS, ...
  std::string path;                  // the path the call named
  std::string value;                 // get: data; create: the created path
  std::vector<std::string> children; // children: the names (not paths)
  int64_t ephemeral_owner = 0;       // get/exists: the owning session or 0
  int32_t version = -1;              // get/exists: the data version
  std::vector<int32_t> results;      // multi: each operation's code
};

/// One operation of a multi(): all of them happen, or none does.
struct op {
  enum kind_t { create, set, remove, check } kind = check;
  std::string path;
  std::string data;     // create, set
  int mode = 0;         // create: ZOO_PERSISTENT, ...
  int32_t version = -1; // set, remove, check: the expected version (-1: any)
};

// CAF 0.17 wants every message element inspectable (replies stay local).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply& x) {
  return f(x.rc, x.path, x.value, x.children, x.ephemeral_owner, x.version,
           x.results);
}

/// ZooKeeper's name for a return code ("ZNONODE"), for messages.
std::string rc_name(int32_t rc);

/// True for the codes after which the call's effect is unknown
/// (the connection was lost or the call timed out).
bool uncertain(int32_t rc);

class client {
public:
  /// Starts connecting to `url.servers` (returns at once) and adds the
  /// digest credentials if the URL has them. Fails only if the C client
  /// refuses the arguments.
  static caf::expected<std::unique_ptr<client>>
  start(const zk_url& url, caf::timespan session_timeout, caf::actor_addr owner,
        uint64_t generation);

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// The session's id once connected (0 before).
  int64_t session_id() const;

  /// The session timeout the server agreed to (the requested one before
  /// the first connection).
  caf::timespan session_timeout() const;

  /// Creates `path` with `data`; `mode` is ZOO_PERSISTENT, ZOO_EPHEMERAL,
  /// ZOO_EPHEMERAL_SEQUENTIAL, ... The reply's `value` is the created path.
  /// Nodes are world-readable; with credentials only their creator may
  /// change them (Mesos' ACL), otherwise anyone may.
  void create(uint64_t tag, const std::string& path, const std::string& data,
              int mode);

  /// Reads `path`'s data and stat.
  void get(uint64_t tag, const std::string& path);

  /// Lists `path`'s children; with `watch`, the next change of the list
  /// arrives once as a ZOO_CHILD_EVENT.
  void children(uint64_t tag, const std::string& path, bool watch);

  /// Reads `path`'s stat (rc ZNONODE if it does not exist).
  void exists(uint64_t tag, const std::string& path);

  /// Deletes `path` if its version is `version` (-1: any).
  void remove(uint64_t tag, const std::string& path, int32_t version = -1);

  /// Where the C client's callbacks send (an implementation detail).
  struct context;

  /// Runs `ops` atomically (one transaction, at most 1 MB in all). The
  /// reply's rc is ZOK or the failure; `results` has each operation's code
  /// (the one that failed says why; the others say ZRUNTIMEINCONSISTENCY).
  void multi(uint64_t tag, std::vector<op> ops);

private:
  client(zhandle_t* zh, std::shared_ptr<context> ctx, caf::timespan timeout);

  zhandle_t* zh_;
  std::shared_ptr<context> ctx_;
  caf::timespan requested_timeout_;
};

} // namespace dcos::zk
