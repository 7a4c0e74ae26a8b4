#include "vip_proxy.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "vip_interface.hpp"

namespace dcos::minuteman {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// Minuteman v1's decay of the latency average.
constexpr double ewma_decay_ns = 10e9;
// A backend no connection went to for this long is tried again.
constexpr double probe_idle_ns = 1e9;
// A client connection tries at most this many backends.
constexpr size_t max_tries = 3;
constexpr size_t buffer_size = 32 * 1024;

struct backend {
  tcp::endpoint endpoint;
  std::string ip;
  uint16_t port = 0;
  // Guarded by the VIP's mutex.
  bool in_table = true;
  bool measured = false;
  double ewma_ns = 0;
  steady::time_point sampled;
  uint32_t pending = 0; // connections being made or open
  uint32_t failures_in_row = 0;
  steady::time_point down_until;
  // Counters, read without the mutex.
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};

  // The cost the two choices compare: latency times load. The average
  // decays while no sample comes (as Finagle's peak EWMA); an unmeasured
  // backend is tried once before the others' averages count against it.
  double cost(steady::time_point now) const {
    if (!measured)
      return pending == 0 ? 0 : 1e15 * pending;
    auto idle = std::chrono::duration<double, std::nano>(now - sampled).count();
    // One slow connect must not starve a backend for the minutes its
    // average takes to decay: one not sampled for a second is probed.
    if (idle > probe_idle_ns && pending == 0)
      return 0;
    return ewma_ns * std::exp(-idle / ewma_decay_ns) * (pending + 1);
  }

  void sample(double ns, steady::time_point now) {
    if (!measured) {
      ewma_ns = ns;
      measured = true;
    } else if (ns > ewma_ns) {
      ewma_ns = ns; // peak: a slow connect counts at once
    } else {
      auto elapsed
        = std::chrono::duration<double, std::nano>(now - sampled).count();
      double w = std::exp(-elapsed / ewma_decay_ns);
      ewma_ns = ewma_ns * w + ns * (1 - w);
    }
    sampled = now;
  }
};

struct vip_state {
  std::string key;
  tcp::endpoint endpoint;
  std::unique_ptr<tcp::acceptor> acceptor; // io threads, under impl's mutex
  bool listening = false;
  std::string error;
  std::mutex mtx;
  std::vector<std::shared_ptr<backend>> backends; // under mtx
  std::set<std::string> skipped; // backends with no IP, logged once
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

std::shared_ptr<spdlog::logger> logger() {
  static auto l = logging::get("minuteman");
  return l;
}

} // namespace

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
  std::map<std::string, std::shared_ptr<vip_state>> vips;
  std::atomic<uint64_t> applied{0};

  std::mutex rng_mtx;
  std::minstd_rand rng;

  impl(proxy_options o, std::unique_ptr<vip_interface> i)
    : opts(o), iface(std::move(i)), rng(static_cast<uint32_t>(o.seed)) {
  }

  // The backend for a new connection, not among `tried`; its pending count
  // is raised. Null if the VIP has none left to try.
  std::shared_ptr<backend> pick(vip_state& vip, const backend* const* tried,
                                size_t tried_count) {
    std::lock_guard guard{vip.mtx};
    auto now = steady::now();
    // Reused: no allocation per connection.
    thread_local std::vector<backend*> up, down;
    up.clear();
    down.clear();
    for (const auto& b : vip.backends) {
      if (!b->in_table
          || std::find(tried, tried + tried_count, b.get())
               != tried + tried_count)
        continue;
      (b->down_until <= now ? up : down).push_back(b.get());
    }
    backend* chosen = nullptr;
    if (up.empty()) {
      // Every backend is down: probe the one that has been down longest.
      for (auto* b : down)
        if (chosen == nullptr || b->down_until < chosen->down_until)
          chosen = b;
    } else if (up.size() == 1) {
      chosen = up.front();
    } else {
      size_t i, j;
      {
        std::lock_guard rng_guard{rng_mtx};
        std::uniform_int_distribution<size_t> first{0, up.size() - 1};
        std::uniform_int_distribution<size_t> second{0, up.size() - 2};
        i = first(rng);
        j = second(rng);
      }
      if (j >= i)
        ++j;
      chosen = up[i]->cost(now) <= up[j]->cost(now) ? up[i] : up[j];
    }
    if (chosen == nullptr)
      return nullptr;
    ++chosen->pending;
    for (const auto& b : vip.backends)
      if (b.get() == chosen)
        return b;
    return nullptr;
  }

  void connected(vip_state& vip, backend& b, steady::time_point started) {
    std::lock_guard guard{vip.mtx};
    auto now = steady::now();
    b.sample(std::chrono::duration<double, std::nano>(now - started).count(),
             now);
    b.failures_in_row = 0;
    b.down_until = {};
  }

  void connect_failed(vip_state& vip, backend& b) {
    b.connect_failures++;
    std::lock_guard guard{vip.mtx};
    --b.pending;
    if (++b.failures_in_row >= opts.failures_to_down) {
      if (b.down_until <= steady::now())
        logger()->warn("{}: backend {}:{} is down after {} failed connects; "
                    "probing it again in {} ms",
                    vip.key, b.ip, b.port, b.failures_in_row,
                    opts.down_for.count());
      b.down_until = steady::now() + opts.down_for;
    }
  }

  void closed(vip_state& vip, backend& b) {
    std::lock_guard guard{vip.mtx};
    --b.pending;
  }

  // Where a connection's handlers run: a strand of its own when several
  // threads run the proxy; with one, the thread is all the order needed.
  asio::any_io_executor connection_executor() {
    if (opts.threads > 1)
      return asio::make_strand(io);
    return io.get_executor();
  }

  void accept(std::shared_ptr<vip_state> vip);
  void apply(const vip_table& table);
  void control_loop();
};

namespace {

// One client connection and the backend connection joined to it. Every
// handler runs on the client socket's strand.
class session : public std::enable_shared_from_this<session> {
public:
  session(vip_proxy::impl& proxy, std::shared_ptr<vip_state> vip,
          tcp::socket client)
    : proxy_(proxy), vip_(std::move(vip)), client_(std::move(client)),
      server_(client_.get_executor()), timer_(client_.get_executor()),
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
      backend_ = proxy_.pick(*vip_, tried_.data(), tries_);
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
    auto attempt = ++attempt_;
    timer_.expires_after(proxy_.opts.connect_timeout);
    timer_.async_wait([self = shared_from_this(), attempt](auto ec) {
      if (!ec && self->attempt_ == attempt && !self->open_) {
        boost::system::error_code ignored;
        self->server_.close(ignored); // the connect completes, aborted
      }
    });
    server_.async_connect(backend_->endpoint, [self = shared_from_this(),
                                               started](auto ec) {
      self->timer_.cancel();
      if (ec) {
        self->proxy_.connect_failed(*self->vip_, *self->backend_);
        self->try_next();
        return;
      }
      self->proxy_.connected(*self->vip_, *self->backend_, started);
      self->joined();
    });
  }

  void joined() {
    boost::system::error_code ignored;
    server_.set_option(tcp::no_delay{true}, ignored);
    open_ = true;
    backend_->connections++;
    backend_->active++;
    vip_->connections++;
    vip_->active++;
    pump(client_, server_, buffers_.get(), true);
    pump(server_, client_, buffers_.get() + buffer_size, false);
  }

  // Copies `from` to `to` until `from` ends: its FIN becomes a FIN on `to`;
  // an error on either ends both with a reset.
  void pump(tcp::socket& from, tcp::socket& to, char* buf, bool upstream) {
    from.async_read_some(
      asio::buffer(buf, buffer_size),
      [self = shared_from_this(), &from, &to, buf, upstream](auto ec,
                                                             size_t n) {
        if (ec == asio::error::eof) {
          boost::system::error_code ignored;
          to.shutdown(tcp::socket::shutdown_send, ignored);
          (upstream ? self->up_done_ : self->down_done_) = true;
          if (self->up_done_ && self->down_done_)
            self->finish(false);
          return;
        }
        if (ec) {
          self->finish(ec != asio::error::operation_aborted);
          return;
        }
        self->count(n, upstream);
        asio::async_write(to, asio::buffer(buf, n),
                          [self, &from, &to, buf, upstream](auto wec,
                                                            size_t) {
                            if (wec) {
                              self->finish(wec
                                           != asio::error::operation_aborted);
                              return;
                            }
                            self->pump(from, to, buf, upstream);
                          });
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
      proxy_.closed(*vip_, *backend_);
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
  std::shared_ptr<vip_state> vip_;
  tcp::socket client_;
  tcp::socket server_;
  asio::steady_timer timer_;
  // Both directions' buffers in one allocation, not zeroed: a connection
  // is accepted thousands of times a second.
  std::unique_ptr<char[]> buffers_;
  std::shared_ptr<backend> backend_;
  std::array<const backend*, max_tries> tried_{};
  size_t tries_ = 0;
  uint32_t attempt_ = 0; // a timer only ends the connect it was set for
  bool open_ = false;
  bool up_done_ = false;
  bool down_done_ = false;
  bool finished_ = false;
};

} // namespace

void vip_proxy::impl::accept(std::shared_ptr<vip_state> vip) {
  auto* acceptor = vip->acceptor.get();
  acceptor->async_accept(
    connection_executor(), [this, vip, acceptor](auto ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open())
        return;
      if (!ec)
        std::make_shared<session>(*this, vip, std::move(s))->start();
      else
        logger()->warn("{}: accept failed: {}", vip->key, ec.message());
      std::lock_guard guard{vips_mtx};
      if (vip->acceptor.get() != acceptor || !acceptor->is_open())
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
      accept(vip);
    });
}

void vip_proxy::impl::apply(const vip_table& table) {
  std::lock_guard guard{vips_mtx};
  std::set<std::string> keep;
  for (const auto& entry : table.vips) {
    if (entry.protocol != "tcp")
      continue;
    auto key = entry.key();
    boost::system::error_code not_ip;
    auto vip_address = asio::ip::make_address(entry.ip, not_ip);
    if (not_ip)
      continue; // the table's addresses are checked; never throw here
    keep.insert(key);
    auto& vip = vips[key];
    if (!vip) {
      vip = std::make_shared<vip_state>();
      vip->key = key;
      vip->endpoint = tcp::endpoint{vip_address, entry.port};
    }
    // Backends: known ones keep their averages and counters.
    {
      std::lock_guard vguard{vip->mtx};
      std::map<std::pair<std::string, uint16_t>, std::shared_ptr<backend>>
        known;
      for (auto& b : vip->backends)
        known[{b->ip, b->port}] = b;
      std::vector<std::shared_ptr<backend>> next;
      for (const auto& b : entry.backends) {
        boost::system::error_code bad;
        auto address = asio::ip::make_address(b.ip, bad);
        if (bad) {
          auto skipped = b.ip + ":" + std::to_string(b.port);
          if (vip->skipped.insert(skipped).second)
            logger()->warn("{}: skipping backend {} (task {}): its agent is "
                           "not named by an IP address",
                           key, skipped, b.task_id);
          continue;
        }
        auto it = known.find({b.ip, b.port});
        std::shared_ptr<backend> be;
        if (it != known.end()) {
          be = it->second;
          known.erase(it);
        } else {
          be = std::make_shared<backend>();
          be->ip = b.ip;
          be->port = b.port;
          be->endpoint = tcp::endpoint{address, b.port};
        }
        be->in_table = true;
        next.push_back(std::move(be));
      }
      for (auto& [_, b] : known) // drained: listed while connections run
        if (b->active > 0) {
          b->in_table = false;
          next.push_back(b);
        }
      vip->backends = std::move(next);
    }
    if (!vip->listening) {
      auto a = std::make_unique<tcp::acceptor>(io);
      boost::system::error_code ec;
      a->open(vip->endpoint.protocol(), ec);
      if (!ec)
        a->set_option(tcp::acceptor::reuse_address{true}, ec);
      if (!ec)
        a->bind(vip->endpoint, ec);
      if (!ec)
        a->listen(asio::socket_base::max_listen_connections, ec);
      if (!ec)
        a->non_blocking(true, ec);
      if (ec) {
        auto why = fmt::format("cannot listen on {}: {}", key, ec.message());
        if (vip->error != why)
          logger()->error("{}", why);
        vip->error = why;
        continue;
      }
      vip->acceptor = std::move(a);
      vip->listening = true;
      vip->error.clear();
      logger()->info("{}: listening", key);
      accept(vip);
    }
  }
  for (auto it = vips.begin(); it != vips.end();) {
    if (keep.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (it->second->acceptor) {
      boost::system::error_code ignored;
      it->second->acceptor->close(ignored);
    }
    logger()->info("{}: no longer a VIP", it->first);
    it = vips.erase(it); // open connections hold their vip_state
  }
  applied++;
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
    std::promise<void> done;
    asio::post(io, [this, table, &done] {
      apply(*table);
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
    p->io_threads.emplace_back([io = &p->io] { io->run(); });
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
  for (const auto& [key, vip] : impl_->vips) {
    vip_stats s;
    s.key = key;
    s.listening = vip->listening;
    s.error = vip->error;
    s.connections = vip->connections;
    s.active = vip->active;
    s.failures = vip->failures;
    s.bytes_in = vip->bytes_in;
    s.bytes_out = vip->bytes_out;
    std::lock_guard vguard{vip->mtx};
    auto now = steady::now();
    for (const auto& b : vip->backends) {
      backend_stats bs;
      bs.ip = b->ip;
      bs.port = b->port;
      bs.down = b->down_until > now;
      bs.latency_ms = b->ewma_ns / 1e6;
      bs.connections = b->connections;
      bs.active = b->active;
      bs.connect_failures = b->connect_failures;
      bs.bytes_in = b->bytes_in;
      bs.bytes_out = b->bytes_out;
      s.backends.push_back(std::move(bs));
    }
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
    p.vips.clear();
  }
  if (p.iface)
    p.iface->close();
}

} // namespace dcos::minuteman
