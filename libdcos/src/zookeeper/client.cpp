#include "client.hpp"

#include <zookeeper/zookeeper.h>

#include <mutex>
#include <thread>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"

namespace dcos::zk {

// What the C client's callbacks need: where to send, and which session.
struct client::context {
  caf::actor_addr owner;
  uint64_t generation = 0;
  bool authenticated = false;

  template <class... Ts>
  void send(Ts&&... xs) const {
    if (auto hdl = caf::actor_cast<caf::actor>(owner))
      caf::anon_send(hdl, std::forward<Ts>(xs)...);
  }
};

namespace {

// One call in flight; the completion owns and frees it.
struct pending {
  std::shared_ptr<const client::context> ctx;
  uint64_t tag;
  std::string path;
};

// Mesos' ACL for a znode with credentials: everyone reads, the creator
// does everything else.
ACL everyone_read_creator_all_entries[] = {
  {ZOO_PERM_READ, {const_cast<char*>("world"), const_cast<char*>("anyone")}},
  {ZOO_PERM_ALL, {const_cast<char*>("auth"), const_cast<char*>("")}},
};
ACL_vector everyone_read_creator_all = {2, everyone_read_creator_all_entries};

void log_line(const char* message) {
  static auto log = logging::get("zookeeper");
  log->debug("{}", message);
}

void global_watcher(zhandle_t*, int type, int state, const char* path,
                    void* watcher_ctx) {
  auto* ctx = static_cast<const client::context*>(watcher_ctx);
  ctx->send(zk_event_atom::value, ctx->generation, int32_t{type},
            int32_t{state}, std::string{path != nullptr ? path : ""});
}

template <class Fill>
void complete(int rc, const void* data, Fill fill) {
  std::unique_ptr<const pending> call{static_cast<const pending*>(data)};
  const auto& ctx = call->ctx;
  reply r;
  r.rc = rc;
  r.path = call->path;
  if (rc == ZOK)
    fill(r);
  ctx->send(zk_reply_atom::value, ctx->generation, call->tag, std::move(r));
}

void fill_stat(reply& r, const Stat* stat) {
  if (stat != nullptr) {
    r.ephemeral_owner = stat->ephemeralOwner;
    r.version = stat->version;
  }
}

} // namespace

std::string rc_name(int32_t rc) {
  switch (rc) {
    case ZOK: return "ZOK";
    case ZCONNECTIONLOSS: return "ZCONNECTIONLOSS";
    case ZOPERATIONTIMEOUT: return "ZOPERATIONTIMEOUT";
    case ZINVALIDSTATE: return "ZINVALIDSTATE";
    case ZNONODE: return "ZNONODE";
    case ZNOAUTH: return "ZNOAUTH";
    case ZBADVERSION: return "ZBADVERSION";
    case ZNODEEXISTS: return "ZNODEEXISTS";
    case ZNOTEMPTY: return "ZNOTEMPTY";
    case ZSESSIONEXPIRED: return "ZSESSIONEXPIRED";
    case ZINVALIDACL: return "ZINVALIDACL";
    case ZAUTHFAILED: return "ZAUTHFAILED";
    case ZCLOSING: return "ZCLOSING";
    default: return fmt::format("{} ({})", zerror(rc), rc);
  }
}

bool uncertain(int32_t rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT;
}

caf::expected<std::unique_ptr<client>>
client::start(const zk_url& url, caf::timespan session_timeout,
              caf::actor_addr owner, uint64_t generation) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
  auto ctx = std::make_shared<context>();
  ctx->owner = std::move(owner);
  ctx->generation = generation;
  ctx->authenticated = url.credentials.has_value();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
    session_timeout);
  zhandle_t* zh = zookeeper_init2(url.servers.c_str(), global_watcher,
                                  static_cast<int>(ms.count()), nullptr,
                                  ctx.get(), 0, log_line);
  if (zh == nullptr)
    return make_error(errc::invalid_argument,
                      fmt::format("{}: the ZooKeeper client refused the "
                                  "servers ({})",
                                  url.to_string(), std::strerror(errno)));
  if (url.credentials) {
    const auto& c = *url.credentials;
    int rc = zoo_add_auth(zh, "digest", c.data(), static_cast<int>(c.size()),
                          nullptr, nullptr);
    if (rc != ZOK) {
      zookeeper_close(zh);
      return make_error(errc::invalid_argument,
                        fmt::format("{}: cannot add the credentials: {}",
                                    url.to_string(), rc_name(rc)));
    }
  }
  return std::unique_ptr<client>{new client(zh, std::move(ctx),
                                            session_timeout)};
}

client::client(zhandle_t* zh, std::shared_ptr<context> ctx,
               caf::timespan timeout)
  : zh_(zh), ctx_(std::move(ctx)), requested_timeout_(timeout) {
}

client::~client() {
  // zookeeper_close() waits for the server's answer; after it returns, the
  // C client calls nothing any more, so the context may go.
  std::thread([zh = zh_, ctx = ctx_] { zookeeper_close(zh); }).detach();
}

int64_t client::session_id() const {
  const clientid_t* id = zoo_client_id(zh_);
  return id != nullptr ? id->client_id : 0;
}

caf::timespan client::session_timeout() const {
  int ms = zoo_recv_timeout(zh_);
  return ms > 0 ? caf::timespan{std::chrono::milliseconds(ms)}
                : requested_timeout_;
}

namespace {

// Hands `call` to the C client via `issue`; if the client refuses at once,
// the completion will never run, so the reply is sent here.
template <class Issue>
void submit(const std::shared_ptr<client::context>& ctx, uint64_t tag,
            const std::string& path, Issue issue) {
  auto* call = new pending{ctx, tag, path};
  int rc = issue(static_cast<const void*>(call));
  if (rc != ZOK) {
    delete call;
    reply r;
    r.rc = rc;
    r.path = path;
    ctx->send(zk_reply_atom::value, ctx->generation, tag, std::move(r));
  }
}

} // namespace

void client::create(uint64_t tag, const std::string& path,
                    const std::string& data, int mode) {
  const ACL_vector* acl = ctx_->authenticated ? &everyone_read_creator_all
                                              : &ZOO_OPEN_ACL_UNSAFE;
  submit(ctx_, tag, path, [&](const void* call) {
    return zoo_acreate(
      zh_, path.c_str(), data.data(), static_cast<int>(data.size()), acl,
      mode,
      [](int rc, const char* value, const void* d) {
        complete(rc, d, [value](reply& r) { r.value = value; });
      },
      call);
  });
}

void client::get(uint64_t tag, const std::string& path) {
  submit(ctx_, tag, path, [&](const void* call) {
    return zoo_aget(
      zh_, path.c_str(), 0,
      [](int rc, const char* value, int len, const Stat* stat, const void* d) {
        complete(rc, d, [&](reply& r) {
          if (value != nullptr && len > 0)
            r.value.assign(value, static_cast<size_t>(len));
          fill_stat(r, stat);
        });
      },
      call);
  });
}

void client::children(uint64_t tag, const std::string& path, bool watch) {
  submit(ctx_, tag, path, [&](const void* call) {
    return zoo_awget_children(
      zh_, path.c_str(), watch ? global_watcher : nullptr,
      watch ? ctx_.get() : nullptr,
      [](int rc, const String_vector* names, const void* d) {
        complete(rc, d, [names](reply& r) {
          for (int i = 0; names != nullptr && i < names->count; ++i)
            r.children.emplace_back(names->data[i]);
        });
      },
      call);
  });
}

void client::exists(uint64_t tag, const std::string& path) {
  submit(ctx_, tag, path, [&](const void* call) {
    return zoo_aexists(
      zh_, path.c_str(), 0,
      [](int rc, const Stat* stat, const void* d) {
        complete(rc, d, [stat](reply& r) { fill_stat(r, stat); });
      },
      call);
  });
}

void client::remove(uint64_t tag, const std::string& path, int32_t version) {
  submit(ctx_, tag, path, [&](const void* call) {
    return zoo_adelete(
      zh_, path.c_str(), version,
      [](int rc, const void* d) { complete(rc, d, [](reply&) {}); }, call);
  });
}

namespace {

// A transaction in flight: the C client reads `ops` and writes `results`
// until the completion runs, so both live here.
struct pending_multi {
  pending call;
  std::vector<op> ops;
  std::vector<zoo_op_t> zoo_ops;
  std::vector<zoo_op_result_t> results;
  std::vector<std::string> created; // buffers for created paths
};

} // namespace

void client::multi(uint64_t tag, std::vector<op> ops) {
  const ACL_vector* acl = ctx_->authenticated ? &everyone_read_creator_all
                                              : &ZOO_OPEN_ACL_UNSAFE;
  auto* m = new pending_multi{pending{ctx_, tag, ""}, std::move(ops), {}, {},
                              {}};
  auto n = m->ops.size();
  m->zoo_ops.resize(n);
  m->results.resize(n);
  m->created.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto& o = m->ops[i];
    auto* z = &m->zoo_ops[i];
    switch (o.kind) {
      case op::create:
        m->created[i].resize(o.path.size() + 16);
        zoo_create_op_init(z, o.path.c_str(), o.data.data(),
                           static_cast<int>(o.data.size()), acl, o.mode,
                           m->created[i].data(),
                           static_cast<int>(m->created[i].size()));
        break;
      case op::set:
        zoo_set_op_init(z, o.path.c_str(), o.data.data(),
                        static_cast<int>(o.data.size()), o.version, nullptr);
        break;
      case op::remove:
        zoo_delete_op_init(z, o.path.c_str(), o.version);
        break;
      case op::check:
        zoo_check_op_init(z, o.path.c_str(), o.version);
        break;
    }
  }
  auto done = [](int rc, const void* d) {
    std::unique_ptr<const pending_multi> m{
      static_cast<const pending_multi*>(d)};
    reply r;
    r.rc = rc;
    for (const auto& result : m->results)
      r.results.push_back(result.err);
    const auto& ctx = m->call.ctx;
    ctx->send(zk_reply_atom::value, ctx->generation, m->call.tag,
              std::move(r));
  };
  int rc = zoo_amulti(zh_, static_cast<int>(n), m->zoo_ops.data(),
                      m->results.data(), done, m);
  if (rc != ZOK) {
    auto call = m->call;
    delete m;
    reply r;
    r.rc = rc;
    call.ctx->send(zk_reply_atom::value, call.ctx->generation, call.tag,
                   std::move(r));
  }
}

} // namespace dcos::zk
