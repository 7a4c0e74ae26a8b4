#include "vip_proxy.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "splice_pipe.hpp"
#include "udp_relay.hpp"
#include "vip_backends.hpp"
#include "vip_interface.hpp"

namespace dcos::minuteman {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A client connection tries at most this many backends.
constexpr size_t max_tries = 3;
constexpr size_t buffer_size = 32 * 1024;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = logging::get("minuteman");
  return l;
}

} // namespace

// What a connect that takes too long is told (see impl::watch_connect).
struct connect_watch {
  virtual ~connect_watch() = default;
  virtual void connect_timed_out(uint64_t id) = 0;
};

// A VIP being served: its backends, and the TCP acceptor or UDP relay that
// takes its clients.
struct served_vip {
  std::shared_ptr<vip_backends> backends;
  std::string protocol;
  asio::ip::address address;
  uint16_t port = 0;
  std::unique_ptr<tcp::acceptor> acceptor; // under impl's mutex
  std::shared_ptr<udp_relay> udp;          // under impl's mutex
  bool listening = false;
  std::string error;
};

struct vip_proxy::impl {
  proxy_options opts;
  std::unique_ptr<vip_interface> iface;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
    work;
  std::vector<std::thread> io_threads;

  // Control thread: takes the latest table.
  std::thread control;
  std::mutex control_mtx;
  std::condition_variable control_cv;
  std::shared_ptr<const vip_table> pending_table;
  bool stopping = false;

  mutable std::mutex vips_mtx;
  std::map<std::string, std::shared_ptr<served_vip>> vips;
  std::atomic<uint64_t> applied{0};

  // The addresses of agents named by a hostname: resolved by the control
  // thread (never an I/O thread), again after `resolve_every`.
  struct resolution {
    std::optional<asio::ip::address> address;
    steady::time_point at;
  };
  std::map<std::string, resolution> resolutions; // control thread only

  impl(proxy_options o, std::unique_ptr<vip_interface> i)
    : opts(o), iface(std::move(i)), io(concurrency_hint(o.threads)) {
  }

  // Connects under way, by id. Every connect has the same timeout, so ids
  // (given in order) are in deadline order too: one timer sweeps them from
  // the front, instead of a timer per connection (whose cancel costs a
  // handler run on every connection).
  struct pending_connect {
    steady::time_point deadline;
    std::weak_ptr<connect_watch> session;
    asio::any_io_executor executor;
  };
  std::mutex connects_mtx;
  std::map<uint64_t, pending_connect> connects; // under connects_mtx
  uint64_t next_connect = 0;                     // under connects_mtx
  bool sweeping = false;                         // under connects_mtx
  std::optional<asio::steady_timer> sweeper;     // under connects_mtx

  // Watches a connect `session` started; its id for connect_done().
  uint64_t watch_connect(std::weak_ptr<connect_watch> session,
                         asio::any_io_executor executor) {
    std::lock_guard guard{connects_mtx};
    auto id = next_connect++;
    auto deadline = steady::now() + opts.connect_timeout;
    connects.emplace(id, pending_connect{deadline, std::move(session),
                                         std::move(executor)});
    if (!sweeping) {
      sweeping = true;
      arm_sweeper(deadline);
    }
    return id;
  }

  void connect_done(uint64_t id) {
    std::lock_guard guard{connects_mtx};
    connects.erase(id);
  }

  // REQUIRES: connects_mtx held.
  void arm_sweeper(steady::time_point at) {
    if (!sweeper)
      sweeper.emplace(io);
    sweeper->expires_at(at);
    sweeper->async_wait([this](auto ec) {
      if (!ec)
        sweep();
    });
  }

  // Times out the connects past their deadline: each is told on its own
  // executor (a strand of its own with several threads).
  void sweep() {
    std::vector<std::pair<uint64_t, pending_connect>> expired;
    {
      std::lock_guard guard{connects_mtx};
      auto now = steady::now();
      while (!connects.empty() && connects.begin()->second.deadline <= now) {
        expired.emplace_back(connects.begin()->first,
                             std::move(connects.begin()->second));
        connects.erase(connects.begin());
      }
      if (connects.empty())
        sweeping = false;
      else
        arm_sweeper(connects.begin()->second.deadline);
    }
    for (auto& [id, pc] : expired)
      if (auto s = pc.session.lock())
        asio::post(pc.executor, [s, id = id] { s->connect_timed_out(id); });
  }

  // With one I/O thread every socket is touched by that thread only (other
  // threads only post to it), so the reactor need not lock per operation.
  static int concurrency_hint(uint32_t threads) {
    return threads == 1 ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO
                        : BOOST_ASIO_CONCURRENCY_HINT_SAFE;
  }

  // Where a connection's handlers run: a strand of its own when several
  // threads run the proxy; with one, the thread is all the order needed.
  asio::any_io_executor connection_executor() {
    if (opts.threads > 1)
      return asio::make_strand(io);
    return io.get_executor();
  }

  void accept(std::shared_ptr<vip_backends> vip, tcp::acceptor* acceptor);
  void listen(served_vip& vip);
  void apply(const vip_table& table,
             const std::map<std::string, asio::ip::address>& resolved);
  std::map<std::string, asio::ip::address> resolve(const vip_table& table);
  void control_loop();
};

namespace {

// One client connection and the backend connection joined to it. Every
// handler runs on the client socket's strand.
class session : public connect_watch,
                public std::enable_shared_from_this<session> {
public:
  session(vip_proxy::impl& proxy, std::shared_ptr<vip_backends> vip,
          tcp::socket client)
    : proxy_(proxy), vip_(std::move(vip)), client_(std::move(client)),
      server_(client_.get_executor()),
      buffers_(new char[2 * buffer_size]) {
  }

  void start() {
    boost::system::error_code ignored;
    client_.set_option(tcp::no_delay{true}, ignored);
    try_next();
  }

private:
  void try_next() {
    backend_.reset();
    if (tries_ < max_tries)
      backend_ = vip_->pick(tried_.data(), tries_, &backend_address_);
    if (!backend_) {
      vip_->failures++;
      reset(client_);
      return;
    }
    tried_[tries_++] = backend_.get();
    boost::system::error_code ignored;
    server_.close(ignored);
    server_ = tcp::socket{client_.get_executor()};
    auto started = steady::now();
    connect_id_ = proxy_.watch_connect(weak_from_this(),
                                       client_.get_executor());
    tcp::endpoint to{backend_address_, backend_->port};
    server_.async_connect(to, [self = shared_from_this(), started](auto ec) {
      self->proxy_.connect_done(self->connect_id_);
      if (ec) {
        self->vip_->failed(*self->backend_);
        self->try_next();
        return;
      }
      self->vip_->succeeded(*self->backend_, started);
      self->joined();
    });
  }

  void connect_timed_out(uint64_t id) override {
    if (id == connect_id_ && !open_ && !finished_) {
      boost::system::error_code ignored;
      server_.close(ignored); // the connect completes, aborted
    }
  }

  void joined() {
    boost::system::error_code ignored;
    server_.set_option(tcp::no_delay{true}, ignored);
    open_ = true;
    backend_->connections++;
    backend_->active++;
    vip_->connections++;
    vip_->active++;
    up_.from = down_.to = &client_;
    up_.to = down_.from = &server_;
    up_.buf = buffers_.get();
    down_.buf = buffers_.get() + buffer_size;
    up_.upstream = true;
    pump(up_);
    pump(down_);
  }

  // One direction of the connection: `from` copied to `to` until `from`
  // ends; its FIN becomes a FIN on `to`; an error on either ends both with
  // a reset.
  struct direction {
    tcp::socket* from = nullptr;
    tcp::socket* to = nullptr;
    char* buf = nullptr;
    bool upstream = false;
    bool ended = false;                // `from` sent its FIN
    std::unique_ptr<splice_pipe> pipe; // once it carries a bulk stream
  };

  void pump(direction& d) {
    d.from->async_read_some(
      asio::buffer(d.buf, buffer_size),
      [self = shared_from_this(), &d](auto ec, size_t n) {
        if (ec == asio::error::eof) {
          self->ended(d);
          return;
        }
        if (ec) {
          self->finish(ec != asio::error::operation_aborted);
          return;
        }
        self->count(n, d.upstream);
        // A read that filled the buffer: a bulk stream, which the kernel
        // moves cheaper than a copy through here (splice_pipe.hpp).
        if (n == buffer_size && self->proxy_.opts.splice && !d.pipe)
          d.pipe = splice_pipe::open();
        self->forward(d, n);
      });
  }

  // `d.from` sent its FIN: passed on, or, if the other way ended too, the
  // close sends the last one.
  void ended(direction& d) {
    d.ended = true;
    if (up_.ended && down_.ended) {
      finish(false);
      return;
    }
    boost::system::error_code ignored;
    d.to->shutdown(tcp::socket::shutdown_send, ignored);
  }

  // What comes next on `d`: another read, or the pipe.
  void next(direction& d) {
    if (d.pipe)
      spliced(d);
    else
      pump(d);
  }

  // Moves `d`'s bytes through its pipe until a socket has to be waited
  // for; after 1 MB it lets other connections run first.
  void spliced(direction& d) {
    for (int round = 0; round < 16; ++round) {
      if (finished_)
        return;
      if (d.pipe->pending() > 0) {
        auto n = d.pipe->flush(d.to->native_handle());
        if (n == -EAGAIN)
          return wait_then_splice(d, *d.to, tcp::socket::wait_write);
        if (n < 0)
          return finish(true);
        continue;
      }
      auto n = d.pipe->fill(d.from->native_handle());
      if (n == -EAGAIN)
        return wait_then_splice(d, *d.from, tcp::socket::wait_read);
      if (n < 0)
        return finish(true);
      if (n == 0)
        return ended(d);
      count(static_cast<size_t>(n), d.upstream);
    }
    asio::post(client_.get_executor(),
               [self = shared_from_this(), &d] { self->spliced(d); });
  }

  void wait_then_splice(direction& d, tcp::socket& s,
                        tcp::socket::wait_type what) {
    s.async_wait(what, [self = shared_from_this(), &d](auto ec) {
      if (ec) {
        self->finish(ec != asio::error::operation_aborted);
        return;
      }
      self->spliced(d);
    });
  }

  // Writes what was read: at once (MSG_DONTWAIT: no mode change, no
  // completion to dispatch), and through the reactor only for what the
  // socket cannot take now.
  void forward(direction& d, size_t n) {
    auto sent = ::send(d.to->native_handle(), d.buf, n,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      finish(true);
      return;
    }
    size_t done = sent < 0 ? 0 : static_cast<size_t>(sent);
    if (done == n) {
      next(d);
      return;
    }
    asio::async_write(*d.to, asio::buffer(d.buf + done, n - done),
                      [self = shared_from_this(), &d](auto ec, size_t) {
                        if (ec) {
                          self->finish(ec != asio::error::operation_aborted);
                          return;
                        }
                        self->next(d);
                      });
  }

  void count(size_t n, bool upstream) {
    if (upstream) {
      backend_->bytes_out += n;
      vip_->bytes_out += n;
    } else {
      backend_->bytes_in += n;
      vip_->bytes_in += n;
    }
  }

  // Ends both connections, with a reset if `abort` (an error on one side
  // is passed to the other as a reset).
  void finish(bool abort) {
    if (finished_)
      return;
    finished_ = true;
    if (abort) {
      reset(client_);
      reset(server_);
    } else {
      boost::system::error_code ignored;
      client_.close(ignored);
      server_.close(ignored);
    }
    if (open_) {
      backend_->active--;
      vip_->active--;
      vip_->released(*backend_);
    }
  }

  static void reset(tcp::socket& s) {
    boost::system::error_code ignored;
    if (!s.is_open())
      return;
    s.set_option(tcp::socket::linger{true, 0}, ignored);
    s.close(ignored);
  }

  vip_proxy::impl& proxy_;
  std::shared_ptr<vip_backends> vip_;
  tcp::socket client_;
  tcp::socket server_;
  // Both directions' buffers in one allocation, not zeroed: a connection
  // is accepted thousands of times a second.
  std::unique_ptr<char[]> buffers_;
  std::shared_ptr<backend> backend_;
  asio::ip::address backend_address_; // as picked: set() may change it
  std::array<const backend*, max_tries> tried_{};
  size_t tries_ = 0;
  uint64_t connect_id_ = 0; // a timeout only ends the connect it was for
  direction up_;   // client to backend
  direction down_; // backend to client
  bool open_ = false;
  bool finished_ = false;
};

} // namespace

void vip_proxy::impl::accept(std::shared_ptr<vip_backends> vip,
                             tcp::acceptor* acceptor) {
  acceptor->async_accept(
    connection_executor(), [this, vip, acceptor](auto ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open())
        return;
      if (!ec)
        std::make_shared<session>(*this, vip, std::move(s))->start();
      else
        logger()->warn("{}: accept failed: {}", vip->key(), ec.message());
      std::lock_guard guard{vips_mtx};
      auto it = vips.find(vip->key());
      if (it == vips.end() || it->second->acceptor.get() != acceptor
          || !acceptor->is_open())
        return;
      // Take the connections already queued without a round trip through
      // the reactor each (the acceptor is non-blocking).
      for (int i = 0; i < 32; ++i) {
        tcp::socket more{connection_executor()};
        boost::system::error_code again;
        acceptor->accept(more, again);
        if (again)
          break;
        std::make_shared<session>(*this, vip, std::move(more))->start();
      }
      accept(vip, acceptor);
    });
}

// Opens the VIP's acceptor or UDP relay; on failure records why (logged
// when it changes) and tries again with the next table.
void vip_proxy::impl::listen(served_vip& vip) {
  const auto& key = vip.backends->key();
  std::string why;
  if (vip.protocol == "udp") {
    udp_options uopts;
    uopts.idle = opts.udp_idle;
    uopts.max_tries = max_tries;
    auto relay = udp_relay::open(connection_executor(),
                                 asio::ip::udp::endpoint{vip.address, vip.port},
                                 vip.backends, uopts);
    if (relay)
      vip.udp = std::move(*relay);
    else
      why = describe_reason(relay.error());
  } else {
    auto a = std::make_unique<tcp::acceptor>(io);
    tcp::endpoint endpoint{vip.address, vip.port};
    boost::system::error_code ec;
    a->open(endpoint.protocol(), ec);
    if (!ec)
      a->set_option(tcp::acceptor::reuse_address{true}, ec);
    if (!ec)
      a->bind(endpoint, ec);
    if (!ec)
      a->listen(asio::socket_base::max_listen_connections, ec);
    if (!ec)
      a->non_blocking(true, ec);
    if (ec) {
      why = ec.message();
    } else {
      vip.acceptor = std::move(a);
      accept(vip.backends, vip.acceptor.get());
    }
  }
  if (!why.empty()) {
    why = fmt::format("cannot listen on {}: {}", key, why);
    if (vip.error != why)
      logger()->error("{}", why);
    vip.error = std::move(why);
    return;
  }
  vip.listening = true;
  vip.error.clear();
  logger()->info("{}: listening", key);
}

void vip_proxy::impl::apply(
  const vip_table& table,
  const std::map<std::string, asio::ip::address>& resolved) {
  std::lock_guard guard{vips_mtx};
  std::set<std::string> keep;
  for (const auto& entry : table.vips) {
    auto key = entry.key();
    boost::system::error_code not_ip;
    auto vip_address = asio::ip::make_address(entry.ip, not_ip);
    if (not_ip)
      continue; // the table's addresses are checked; never throw here
    keep.insert(key);
    auto& vip = vips[key];
    if (!vip) {
      vip = std::make_shared<served_vip>();
      balance_options bopts;
      bopts.failures_to_down = opts.failures_to_down;
      bopts.down_for = opts.down_for;
      vip->backends = std::make_shared<vip_backends>(key, bopts, opts.seed);
      vip->protocol = entry.protocol;
      vip->address = vip_address;
      vip->port = entry.port;
    }
    vip->backends->set(entry.backends, resolved);
    if (!vip->listening)
      listen(*vip);
  }
  for (auto it = vips.begin(); it != vips.end();) {
    if (keep.count(it->first) != 0) {
      ++it;
      continue;
    }
    auto& vip = *it->second;
    if (vip.acceptor) {
      boost::system::error_code ignored;
      vip.acceptor->close(ignored);
    }
    if (vip.udp)
      vip.udp->close();
    logger()->info("{}: no longer a VIP", it->first);
    it = vips.erase(it); // open TCP connections hold their backends
  }
  applied++;
}

std::map<std::string, asio::ip::address>
vip_proxy::impl::resolve(const vip_table& table) {
  constexpr auto resolve_every = std::chrono::seconds(30);
  std::map<std::string, asio::ip::address> out;
  auto now = steady::now();
  for (const auto& v : table.vips)
    for (const auto& b : v.backends) {
      boost::system::error_code not_ip;
      asio::ip::make_address(b.ip, not_ip);
      if (!not_ip || out.count(b.ip) != 0)
        continue;
      auto& r = resolutions[b.ip];
      if (r.at == steady::time_point{} || now - r.at >= resolve_every) {
        // Blocking, on the control thread only: a name service that
        // hangs delays new tables, never a connection.
        tcp::resolver resolver{io};
        boost::system::error_code ec;
        auto results = resolver.resolve(b.ip, "", ec);
        r.at = now;
        auto before = r.address;
        r.address.reset();
        if (!ec)
          for (const auto& entry : results) {
            r.address = entry.endpoint().address();
            if (r.address->is_v4())
              break; // agents advertise IPv4 first, as Mesos does
          }
        if (!r.address && before != r.address)
          logger()->warn("agent {} does not resolve: {}", b.ip,
                         ec ? ec.message() : "no address");
      }
      if (r.address)
        out[b.ip] = *r.address;
    }
  return out;
}

void vip_proxy::impl::control_loop() {
  for (;;) {
    std::shared_ptr<const vip_table> table;
    {
      std::unique_lock lock{control_mtx};
      control_cv.wait(lock, [&] { return stopping || pending_table; });
      if (stopping)
        return;
      table = std::move(pending_table);
    }
    if (iface) {
      std::set<std::string> ips;
      for (const auto& v : table->vips)
        ips.insert(v.ip);
      if (auto err = iface->sync(ips))
        logger()->error("VIP addresses on {}: {}", iface->name(),
                        describe(err));
    }
    auto resolved = resolve(*table);
    std::promise<void> done;
    asio::post(io, [this, table, &resolved, &done] {
      apply(*table, resolved);
      done.set_value();
    });
    done.get_future().wait();
  }
}

caf::expected<std::unique_ptr<vip_proxy>>
vip_proxy::start(proxy_options opts, std::unique_ptr<vip_interface> iface) {
  if (opts.threads == 0)
    return make_error(errc::invalid_argument,
                      "proxy threads: must be positive");
  auto p = std::make_unique<impl>(opts, std::move(iface));
  p->work.emplace(p->io.get_executor());
  for (uint32_t i = 0; i < opts.threads; ++i)
    p->io_threads.emplace_back([io = &p->io] {
      // splice(2) to a socket whose peer has gone raises SIGPIPE (it has
      // no MSG_NOSIGNAL); blocked in this thread, it leaves the call to
      // fail with EPIPE, whatever the host process does with the signal.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      io->run();
    });
  p->control = std::thread{[raw = p.get()] { raw->control_loop(); }};
  return std::unique_ptr<vip_proxy>{new vip_proxy(std::move(p))};
}

vip_proxy::vip_proxy(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

vip_proxy::~vip_proxy() {
  stop();
}

void vip_proxy::publish(std::shared_ptr<const vip_table> table) {
  {
    std::lock_guard guard{impl_->control_mtx};
    impl_->pending_table = std::move(table);
  }
  impl_->control_cv.notify_one();
}

uint64_t vip_proxy::applied() const {
  return impl_->applied.load();
}

std::vector<vip_stats> vip_proxy::stats() const {
  std::vector<vip_stats> out;
  std::lock_guard guard{impl_->vips_mtx};
  auto now = steady::now();
  for (const auto& [key, vip] : impl_->vips) {
    vip_stats s;
    s.key = key;
    s.listening = vip->listening;
    s.error = vip->error;
    const auto& vb = *vip->backends;
    s.connections = vb.connections;
    s.active = vb.active;
    s.failures = vb.failures;
    s.bytes_in = vb.bytes_in;
    s.bytes_out = vb.bytes_out;
    vb.visit([&](const backend& b) {
      backend_stats bs;
      bs.ip = b.ip;
      bs.port = b.port;
      bs.down = b.down_until > now;
      bs.latency_ms = b.ewma_ns / 1e6;
      bs.connections = b.connections;
      bs.active = b.active;
      bs.connect_failures = b.connect_failures;
      bs.bytes_in = b.bytes_in;
      bs.bytes_out = b.bytes_out;
      s.backends.push_back(std::move(bs));
    });
    out.push_back(std::move(s));
  }
  return out;
}

void vip_proxy::stop() {
  auto& p = *impl_;
  {
    std::lock_guard guard{p.control_mtx};
    if (p.stopping)
      return;
    p.stopping = true;
  }
  p.control_cv.notify_one();
  if (p.control.joinable())
    p.control.join();
  p.work.reset();
  p.io.stop();
  for (auto& t : p.io_threads)
    t.join();
  {
    std::lock_guard guard{p.vips_mtx};
    for (auto& [_, vip] : p.vips)
      if (vip->udp)
        vip->udp->abandon(); // its flows hold it
    p.vips.clear();
  }
  if (p.iface)
    p.iface->close();
}

} // namespace dcos::minuteman
