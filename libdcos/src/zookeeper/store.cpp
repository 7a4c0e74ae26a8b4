// The ZooKeeper store (dcos/store_actor.hpp, spawn_zk_store).
//
// Layout under the store's path:
//   keys/<escaped key>     "i" + the value (inline), or
//                          "c <generation> <chunks>" (chunked)
//   chunks/<escaped key>~<generation>~<index>   a piece of a chunked value
// A put() of a chunked value creates its chunks (each in its own fenced
// transaction), then switches the key and deletes the previous chunks in
// one more. Chunks a crashed writer left behind are deleted by the next
// put() or erase() of their key.
//
// One request runs at a time. Each ZooKeeper call carries a continuation;
// a lost connection or session restarts the request that was running from
// its first step (every step re-reads what it depends on, so a step that
// did happen before the loss is harmless to repeat).
#include <zookeeper/zookeeper.h>

#include <deque>
#include <functional>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "client.hpp"
#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "dcos/store_actor.hpp"

namespace dcos {

namespace {

using zk::zk_event_atom;
using zk::zk_reply_atom;

// Below ZooKeeper's 1 MB limit on a znode and on a transaction, with room
// for the transaction's other operations.
constexpr size_t chunk_size = 512 * 1024;

using store_impl = store_actor::extend<
  caf::reacts_to<zk_event_atom, uint64_t, int32_t, int32_t, std::string>,
  caf::reacts_to<zk_reply_atom, uint64_t, uint64_t, zk::reply>>;

struct request {
  enum kind_t { get, put, erase, keys } kind = get;
  std::string key; // keys: the prefix
  std::string value;
  bool append = false;
  caf::typed_response_promise<std::string> value_rp;
  caf::typed_response_promise<ok_atom> ok_rp;
  caf::typed_response_promise<std::vector<std::string>> keys_rp;
};

using continuation = std::function<void(const zk::reply&)>;

struct store_state {
  static inline const char* name = "dcos.zk_store";

  zk_url url;
  std::string fence;
  caf::timespan session_timeout{};
  std::shared_ptr<spdlog::logger> log = logging::get("store");

  std::unique_ptr<zk::client> session;
  uint64_t generation = 0;
  bool connected = false;
  bool layout_ready = false;
  std::optional<caf::error> failure; // the layout cannot be created

  std::deque<request> queue; // front() is running once started
  bool running = false;
  uint64_t next_tag = 0;
  std::unordered_map<uint64_t, continuation> continuations;
};

using store_self = store_impl::stateful_pointer<store_state>;

// Key names as znode names: letters, digits, '_' and '-' stay, every other
// byte becomes %XX (so '~' separates chunk names unambiguously).
std::string escape(const std::string& key) {
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) != 0 || c == '_' || c == '-')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string unescape(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size()) {
      out += static_cast<char>(std::stoi(name.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

std::string key_path(const store_state& st, const std::string& key) {
  return st.url.path + "/keys/" + escape(key);
}

std::string chunk_prefix(const std::string& key) {
  return escape(key) + "~";
}

std::string chunk_path(const store_state& st, const std::string& key,
                       uint64_t gen, size_t index) {
  return fmt::format("{}/chunks/{}{}~{}", st.url.path, chunk_prefix(key), gen,
                     index);
}

// A key's znode data, parsed.
struct manifest {
  bool exists = false;
  int32_t version = -1;  // of the key's znode
  bool chunked = false;
  std::string inline_value;
  uint64_t gen = 0;      // chunked: which chunks
  size_t chunks = 0;
};

std::optional<manifest> parse_manifest(const zk::reply& r) {
  manifest m;
  m.exists = true;
  m.version = r.version;
  if (r.value.empty())
    return std::nullopt;
  if (r.value[0] == 'i') {
    m.inline_value = r.value.substr(1);
    return m;
  }
  unsigned long long gen = 0;
  size_t chunks = 0;
  if (std::sscanf(r.value.c_str(), "c %llu %zu", &gen, &chunks) != 2)
    return std::nullopt;
  m.chunked = true;
  m.gen = gen;
  m.chunks = chunks;
  return m;
}

void run_next(store_self self);

// Issues one call; `k` runs with its reply (unless the session is replaced
// first, which restarts the request instead).
template <class Issue>
void call(store_self self, Issue issue, continuation k) {
  auto& st = self->state;
  auto tag = ++st.next_tag;
  st.continuations.emplace(tag, std::move(k));
  issue(*st.session, tag);
}

void restart_request(store_self self) {
  auto& st = self->state;
  st.continuations.clear();
  st.running = false;
  if (st.connected && st.layout_ready)
    run_next(self);
}

// Ends the running request (its answer delivered) and starts the next.
void next_request(store_self self) {
  auto& st = self->state;
  st.queue.pop_front();
  st.running = false;
  run_next(self);
}

void finish(store_self self, caf::error err) {
  auto& st = self->state;
  auto& rq = st.queue.front();
  switch (rq.kind) {
    case request::get: rq.value_rp.deliver(err); break;
    case request::put:
    case request::erase: rq.ok_rp.deliver(err); break;
    case request::keys: rq.keys_rp.deliver(err); break;
  }
  next_request(self);
}

void finish_ok(store_self self) {
  self->state.queue.front().ok_rp.deliver(ok_atom::value);
  next_request(self);
}

// For a failed call: waits for the connection if the outcome is unknown,
// otherwise fails the request with ZooKeeper's reason.
void on_failure(store_self self, const zk::reply& r, std::string_view doing) {
  auto& st = self->state;
  if (zk::uncertain(r.rc)) { // again now, or once connected again
    restart_request(self);
    return;
  }
  if (r.rc == ZSESSIONEXPIRED || r.rc == ZINVALIDSTATE || r.rc == ZCLOSING) {
    st.running = false; // again in the next session
    st.continuations.clear();
    return;
  }
  finish(self, make_error(errc::io_error,
                          fmt::format("{}: {} {}: {}", st.url.to_string(),
                                      doing, r.path, zk::rc_name(r.rc))));
}

// A failed transaction: fenced off, raced (start over), or an error.
void on_multi_failure(store_self self, const zk::reply& r) {
  auto& st = self->state;
  bool fenced = !st.fence.empty() && !r.results.empty()
                && r.results.front() == ZNONODE;
  if (fenced) {
    finish(self, make_error(errc::conflict,
                            fmt::format("{}: not written: the writer's "
                                        "election znode {} is gone (it no "
                                        "longer leads)",
                                        st.url.to_string(), st.fence)));
    return;
  }
  if (r.rc == ZBADVERSION || r.rc == ZNODEEXISTS || r.rc == ZNONODE) {
    restart_request(self); // someone else changed the key meanwhile
    return;
  }
  on_failure(self, r, "cannot write under");
}

// Runs `ops` after the fence check, in one transaction.
void transact(store_self self, std::vector<zk::op> ops,
              std::function<void()> done) {
  auto& st = self->state;
  if (!st.fence.empty())
    ops.insert(ops.begin(), zk::op{zk::op::check, st.fence, "", 0, -1});
  call(
    self, [&](zk::client& c, uint64_t tag) { c.multi(tag, std::move(ops)); },
    [self, done = std::move(done)](const zk::reply& r) {
      if (r.rc == ZOK)
        done();
      else
        on_multi_failure(self, r);
    });
}

// Reads the key's manifest (absent: exists == false).
void read_manifest(store_self self, const std::string& key,
                   std::function<void(const manifest&)> k) {
  auto& st = self->state;
  call(
    self, [&](zk::client& c, uint64_t tag) { c.get(tag, key_path(st, key)); },
    [self, k = std::move(k)](const zk::reply& r) {
      if (r.rc == ZNONODE) {
        k(manifest{});
        return;
      }
      if (r.rc != ZOK) {
        on_failure(self, r, "cannot read");
        return;
      }
      auto m = parse_manifest(r);
      if (!m) {
        finish(self, make_error(errc::corrupt_payload,
                                fmt::format("{}: {} is not a value of this "
                                            "store",
                                            self->state.url.to_string(),
                                            r.path)));
        return;
      }
      k(*m);
    });
}

using value_continuation = std::function<void(std::optional<std::string>)>;

// Reads chunks [index, m.chunks) of `key` onto `value`.
void read_chunks(store_self self, const std::string& key, manifest m,
                 size_t index, std::shared_ptr<std::string> value,
                 value_continuation k) {
  auto& st = self->state;
  if (index == m.chunks) {
    k(std::move(*value));
    return;
  }
  call(
    self,
    [&](zk::client& c, uint64_t tag) {
      c.get(tag, chunk_path(st, key, m.gen, index));
    },
    [self, key, m, index, value, k](const zk::reply& r) {
      if (r.rc == ZNONODE) { // rewritten meanwhile: read again
        restart_request(self);
        return;
      }
      if (r.rc != ZOK) {
        on_failure(self, r, "cannot read");
        return;
      }
      value->append(r.value);
      read_chunks(self, key, m, index + 1, value, k);
    });
}

// Reads the value of `key` (nullopt: there is none).
void read_value(store_self self, const std::string& key,
                value_continuation k) {
  read_manifest(self, key, [self, key, k](const manifest& m) {
    if (!m.exists)
      k(std::nullopt);
    else if (!m.chunked)
      k(m.inline_value);
    else
      read_chunks(self, key, m, 0, std::make_shared<std::string>(), k);
  });
}

// The names of the chunks of `key` that exist (any generation).
void list_chunks(store_self self, const std::string& key,
                 std::function<void(std::vector<std::string>)> k) {
  auto& st = self->state;
  call(
    self,
    [&](zk::client& c, uint64_t tag) {
      c.children(tag, st.url.path + "/chunks", false);
    },
    [self, key, k = std::move(k)](const zk::reply& r) {
      if (r.rc != ZOK) {
        on_failure(self, r, "cannot list");
        return;
      }
      std::vector<std::string> mine;
      auto prefix = chunk_prefix(key);
      for (const auto& name : r.children)
        if (name.compare(0, prefix.size(), prefix) == 0)
          mine.push_back(self->state.url.path + "/chunks/" + name);
      k(std::move(mine));
    });
}

// Writes the chunks [index, end) of generation `gen`, one transaction each.
void write_chunks(store_self self, const std::string& key, uint64_t gen,
                  size_t index, std::function<void()> done) {
  auto& st = self->state;
  const auto& value = st.queue.front().value;
  auto count = (value.size() + chunk_size - 1) / chunk_size;
  if (index == count) {
    done();
    return;
  }
  std::vector<zk::op> ops{zk::op{zk::op::create,
                                 chunk_path(st, key, gen, index),
                                 value.substr(index * chunk_size, chunk_size),
                                 ZOO_PERSISTENT, -1}};
  transact(self, std::move(ops), [self, key, gen, index, done] {
    write_chunks(self, key, gen, index + 1, done);
  });
}

void put(store_self self) {
  auto key = self->state.queue.front().key;
  if (self->state.queue.front().append) {
    // The old value and the new bytes, then an ordinary put. (A restart
    // after this point puts the whole value again: harmless.)
    read_value(self, key, [self](std::optional<std::string> old) {
      auto& rq = self->state.queue.front();
      rq.value = old.value_or("") + rq.value;
      rq.append = false;
      put(self);
    });
    return;
  }
  read_manifest(self, key, [self, key](const manifest& m) {
    list_chunks(self, key, [self, key, m](std::vector<std::string> old) {
      auto& st = self->state;
      const auto& value = st.queue.front().value;
      auto write_key = [self, key, m, old](std::string data) {
        auto& st = self->state;
        std::vector<zk::op> ops;
        if (m.exists)
          ops.push_back({zk::op::set, key_path(st, key), std::move(data), 0,
                         m.version});
        else
          ops.push_back({zk::op::create, key_path(st, key), std::move(data),
                         ZOO_PERSISTENT, -1});
        return ops;
      };
      if (value.size() <= chunk_size) {
        auto ops = write_key("i" + value);
        for (const auto& path : old)
          ops.push_back({zk::op::remove, path, "", 0, -1});
        transact(self, std::move(ops), [self] { finish_ok(self); });
        return;
      }
      // A generation no chunk of this key uses, leftovers included.
      uint64_t gen = m.gen + 1;
      for (const auto& path : old) {
        // "<escaped key>~<generation>~<index>" (the key has no '~').
        auto name = path.substr(path.rfind('/') + 1);
        gen = std::max<uint64_t>(gen,
                                 std::stoull(name.substr(name.find('~') + 1))
                                   + 1);
      }
      auto count = (value.size() + chunk_size - 1) / chunk_size;
      write_chunks(self, key, gen, 0, [self, write_key, old, gen, count] {
        auto ops = write_key(fmt::format("c {} {}", gen, count));
        for (const auto& path : old)
          ops.push_back({zk::op::remove, path, "", 0, -1});
        transact(self, std::move(ops), [self] { finish_ok(self); });
      });
    });
  });
}

void erase(store_self self) {
  auto key = self->state.queue.front().key;
  read_manifest(self, key, [self, key](const manifest& m) {
    list_chunks(self, key, [self, key, m](std::vector<std::string> old) {
      if (!m.exists && old.empty()) {
        finish_ok(self);
        return;
      }
      std::vector<zk::op> ops;
      for (const auto& path : old)
        ops.push_back({zk::op::remove, path, "", 0, -1});
      if (m.exists)
        ops.push_back({zk::op::remove, key_path(self->state, key), "", 0,
                       m.version});
      transact(self, std::move(ops), [self] { finish_ok(self); });
    });
  });
}

void get(store_self self) {
  auto key = self->state.queue.front().key;
  read_value(self, key, [self, key](std::optional<std::string> value) {
    auto& st = self->state;
    if (!value) {
      finish(self, make_error(errc::not_found, "no value for '" + key + "'"));
      return;
    }
    st.queue.front().value_rp.deliver(std::move(*value));
    next_request(self);
  });
}

void keys(store_self self) {
  auto& st = self->state;
  call(
    self,
    [&](zk::client& c, uint64_t tag) {
      c.children(tag, st.url.path + "/keys", false);
    },
    [self](const zk::reply& r) {
      if (r.rc != ZOK) {
        on_failure(self, r, "cannot list");
        return;
      }
      auto& st = self->state;
      const auto& prefix = st.queue.front().key;
      std::vector<std::string> out;
      for (const auto& name : r.children) {
        auto key = unescape(name);
        if (key.compare(0, prefix.size(), prefix) == 0)
          out.push_back(std::move(key));
      }
      std::sort(out.begin(), out.end());
      st.queue.front().keys_rp.deliver(std::move(out));
      next_request(self);
    });
}

void run_next(store_self self) {
  auto& st = self->state;
  if (st.running || st.queue.empty() || !st.connected || !st.layout_ready)
    return;
  st.running = true;
  switch (st.queue.front().kind) {
    case request::get: get(self); break;
    case request::put: put(self); break;
    case request::erase: erase(self); break;
    case request::keys: keys(self); break;
  }
}

// Creates the store's path and its two directories, then runs requests.
void ensure_layout(store_self self, std::vector<std::string> paths) {
  if (paths.empty()) {
    self->state.layout_ready = true;
    run_next(self);
    return;
  }
  auto path = paths.front();
  paths.erase(paths.begin());
  call(
    self,
    [&](zk::client& c, uint64_t tag) {
      c.create(tag, path, "", ZOO_PERSISTENT);
    },
    [self, paths](const zk::reply& r) {
      if (r.rc == ZOK || r.rc == ZNODEEXISTS) {
        ensure_layout(self, paths);
        return;
      }
      if (zk::uncertain(r.rc) || r.rc == ZCLOSING)
        return; // again on reconnection
      auto& st = self->state;
      st.failure = make_error(errc::io_error,
                              fmt::format("{}: cannot create {}: {}",
                                          st.url.to_string(), r.path,
                                          zk::rc_name(r.rc)));
      st.log->error("{}", describe(*st.failure));
      while (!st.queue.empty()) {
        st.running = true;
        finish(self, *st.failure);
      }
    });
}

std::vector<std::string> layout_paths(const zk_url& url) {
  std::vector<std::string> out;
  for (size_t at = url.path.find('/', 1); at != std::string::npos;
       at = url.path.find('/', at + 1))
    out.push_back(url.path.substr(0, at));
  out.push_back(url.path);
  out.push_back(url.path + "/keys");
  out.push_back(url.path + "/chunks");
  return out;
}

// Runs requests at once if the layout exists (its last directory does only
// once all of it does), and creates it otherwise. One read instead of a
// create per path on every start: ZooKeeper logs and syncs even a create
// that fails because the node exists (an error transaction), and a new
// leader waited for four of them before it could read its registry.
void check_layout(store_self self) {
  auto last = self->state.url.path + "/chunks";
  call(
    self, [&](zk::client& c, uint64_t tag) { c.exists(tag, last); },
    [self](const zk::reply& r) {
      if (r.rc == ZOK)
        ensure_layout(self, {});
      else if (!zk::uncertain(r.rc) && r.rc != ZCLOSING)
        ensure_layout(self, layout_paths(self->state.url));
      // else: again on reconnection
    });
}

void start_session(store_self self) {
  auto& st = self->state;
  st.session.reset();
  st.connected = false;
  st.continuations.clear();
  st.running = false;
  auto session = zk::client::start(st.url, st.session_timeout, self->address(),
                                   ++st.generation);
  if (!session) {
    st.log->error("{}", describe(session.error()));
    self->quit(session.error());
    return;
  }
  st.session = std::move(*session);
}

store_impl::behavior_type zk_store(store_self self, zk_url url,
                                   std::string fence,
                                   caf::timespan session_timeout) {
  self->state.url = std::move(url);
  self->state.fence = std::move(fence);
  self->state.session_timeout = session_timeout;
  start_session(self);
  auto enqueue = [self](request rq) {
    auto& st = self->state;
    st.queue.push_back(std::move(rq));
    if (st.failure) {
      st.running = true;
      finish(self, *st.failure);
      return;
    }
    run_next(self);
  };
  return {
    [self, enqueue](get_atom, std::string& key) -> caf::result<std::string> {
      request rq;
      rq.kind = request::get;
      rq.key = std::move(key);
      rq.value_rp = self->make_response_promise<std::string>();
      auto rp = rq.value_rp;
      enqueue(std::move(rq));
      return rp;
    },
    [self, enqueue](put_atom, std::string& key,
                    std::string& value) -> caf::result<ok_atom> {
      request rq;
      rq.kind = request::put;
      rq.key = std::move(key);
      rq.value = std::move(value);
      rq.ok_rp = self->make_response_promise<ok_atom>();
      auto rp = rq.ok_rp;
      enqueue(std::move(rq));
      return rp;
    },
    [self, enqueue](append_atom, std::string& key,
                    std::string& bytes) -> caf::result<ok_atom> {
      request rq;
      rq.kind = request::put;
      rq.append = true;
      rq.key = std::move(key);
      rq.value = std::move(bytes);
      rq.ok_rp = self->make_response_promise<ok_atom>();
      auto rp = rq.ok_rp;
      enqueue(std::move(rq));
      return rp;
    },
    [self, enqueue](erase_atom, std::string& key) -> caf::result<ok_atom> {
      request rq;
      rq.kind = request::erase;
      rq.key = std::move(key);
      rq.ok_rp = self->make_response_promise<ok_atom>();
      auto rp = rq.ok_rp;
      enqueue(std::move(rq));
      return rp;
    },
    [self, enqueue](keys_atom, std::string& prefix)
      -> caf::result<std::vector<std::string>> {
      request rq;
      rq.kind = request::keys;
      rq.key = std::move(prefix);
      rq.keys_rp = self->make_response_promise<std::vector<std::string>>();
      auto rp = rq.keys_rp;
      enqueue(std::move(rq));
      return rp;
    },
    [self](zk_event_atom, uint64_t generation, int32_t type, int32_t state,
           const std::string&) {
      auto& st = self->state;
      if (generation != st.generation || type != ZOO_SESSION_EVENT)
        return;
      if (state == ZOO_CONNECTED_STATE && !st.connected) {
        st.connected = true;
        if (!st.layout_ready)
          check_layout(self);
        else
          restart_request(self);
      } else if (state == ZOO_CONNECTING_STATE) {
        st.connected = false;
      } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        st.log->warn("{}: the ZooKeeper session expired; starting another",
                     st.url.to_string());
        start_session(self);
      }
    },
    [self](zk_reply_atom, uint64_t generation, uint64_t tag,
           const zk::reply& r) {
      auto& st = self->state;
      if (generation != st.generation)
        return;
      auto i = st.continuations.find(tag);
      if (i == st.continuations.end())
        return;
      auto k = std::move(i->second);
      st.continuations.erase(i);
      k(r);
    },
  };
}

} // namespace

store_actor spawn_zk_store(caf::actor_system& sys, zk_url url,
                           std::string fence, caf::timespan session_timeout) {
  return caf::actor_cast<store_actor>(
    sys.spawn(zk_store, std::move(url), std::move(fence), session_timeout));
}

} // namespace dcos
