#include "dns_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <random>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "answer_cache.hpp"
#include "dns_answer.hpp"

namespace dcos::mesos_dns {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr size_t max_message = 65535;
constexpr auto tcp_idle = std::chrono::seconds(10);

size_t type_index(uint16_t qtype) {
  switch (qtype) {
    case 1: return 0;   // A
    case 28: return 1;  // AAAA
    case 33: return 2;  // SRV
    case 6: return 3;   // SOA
    case 2: return 4;   // NS
    case 255: return 5; // ANY
    default: return 6;
  }
}

uint16_t message_id(std::string_view wire) {
  return wire.size() < 2 ? 0
                         : static_cast<uint16_t>(
                             (static_cast<uint8_t>(wire[0]) << 8)
                             | static_cast<uint8_t>(wire[1]));
}

std::string with_length(const std::string& wire) {
  std::string out;
  out.reserve(wire.size() + 2);
  out += static_cast<char>((wire.size() >> 8) & 0xff);
  out += static_cast<char>(wire.size() & 0xff);
  out += wire;
  return out;
}

// The cache of the server thread running here (each keeps its own).
thread_local answer_cache* current_cache = nullptr;

} // namespace

struct dns_server::impl {
  dns_settings s;
  asio::io_context io;
  udp::socket udp_socket{io};
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<answer_cache>> caches; // one per thread
  std::shared_ptr<const zone_holder> zone;
  dns_counters counters;
  uint64_t seed = 0;
  std::atomic<uint64_t> next_rng{0};
  std::mutex stop_mutex;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = logging::get("mesos_dns");

  std::minstd_rand& rng() {
    thread_local std::minstd_rand r{
      static_cast<std::minstd_rand::result_type>(seed + ++next_rng)};
    return r;
  }

  // The servers for `qname`: its zone's, else the resolvers.
  const std::vector<upstream>& upstreams_for(const std::string& qname) const {
    for (const auto& [zone, servers] : s.zone_resolvers)
      if (qname == zone
          || (qname.size() > zone.size()
              && qname.compare(qname.size() - zone.size() - 1,
                               zone.size() + 1, "." + zone)
                   == 0))
        return servers;
    return s.resolvers;
  }

  // Answers one query; `forward` is called instead when it must go
  // upstream, `reply` otherwise (not at all for a packet to drop).
  template <class Reply, class Forward>
  void handle(std::string_view query, dns_transport transport, Reply&& reply,
              Forward&& forward) {
    auto start = clock_type::now();
    auto z = zone->current();
    // Only UDP replies are cached: that is where the load is, and a TCP
    // reply has another size limit.
    auto* cache = transport == dns_transport::udp && z && query.size() >= 12
                    ? current_cache
                    : nullptr;
    if (cache) {
      std::string wire;
      answer_cache::reply_info info;
      if (cache->find(query, z, wire, info)) {
        count_answer(info, start);
        reply(std::move(wire));
        return;
      }
    }
    static const record_set empty;
    auto out = answer_query(query, z ? z->records : empty, s,
                            z ? z->serial : 0, transport, rng());
    if (out.action == dns_outcome::drop) {
      ++counters.dropped;
      return;
    }
    if (out.action == dns_outcome::forward) {
      ++counters.by_type[type_index(out.qtype)];
      if (!s.config.external_on() || upstreams_for(out.qname).empty()) {
        ++counters.by_rcode[rcode_refused];
        reply(error_reply(query, rcode_refused));
        return;
      }
      forward(out);
      return;
    }
    if (!z && out.rcode != rcode_formerr && out.rcode != rcode_notimp) {
      // The zone is not known yet: say so rather than "no such name".
      ++counters.by_type[type_index(out.qtype)];
      ++counters.by_rcode[rcode_servfail];
      reply(error_reply(query, rcode_servfail));
      return;
    }
    answer_cache::reply_info info{out.qtype, out.rcode, out.truncated};
    count_answer(info, start);
    if (cache && (out.rcode == rcode_noerror || out.rcode == rcode_nxdomain))
      cache->insert(query, out.wire, info);
    reply(std::move(out.wire));
  }

  void count_answer(const answer_cache::reply_info& info,
                    clock_type::time_point start) {
    ++counters.by_type[type_index(info.qtype)];
    ++counters.by_rcode[std::min<size_t>(info.rcode, 5)];
    if (info.truncated)
      ++counters.truncated;
    counters.latency_us_sum += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now()
                                                            - start)
        .count());
    ++counters.latency_count;
  }

  void forwarded(bool ok) {
    if (ok) {
      ++counters.forwarded;
    } else {
      ++counters.forward_failed;
      ++counters.by_rcode[rcode_servfail];
    }
  }

  void receive_udp();
  void accept_tcp();
  void forward_udp(std::string query, const std::vector<upstream>& servers,
                   udp::endpoint client);
};

namespace {

// One query forwarded over UDP: each server in turn, `timeout` each.
class udp_exchange : public std::enable_shared_from_this<udp_exchange> {
public:
  using done_fn = std::function<void(std::optional<std::string>)>;

  udp_exchange(asio::io_context& io, std::string query,
               std::vector<upstream> servers, std::chrono::seconds timeout,
               done_fn done)
    : socket_(io), timer_(io), query_(std::move(query)),
      servers_(std::move(servers)), timeout_(timeout), done_(std::move(done)) {
  }

  void start() { next(); }

private:
  void next() {
    if (index_ >= servers_.size()) {
      finish(std::nullopt);
      return;
    }
    const auto& server = servers_[index_++];
    boost::system::error_code ec;
    target_ = udp::endpoint(asio::ip::make_address(server.ip, ec), server.port);
    if (ec) {
      next();
      return;
    }
    if (socket_.is_open())
      socket_.close(ec);
    // Connected: only the server asked can answer, and a closed port
    // fails at once (ICMP port unreachable) instead of after the timeout.
    socket_.open(target_.protocol(), ec);
    if (!ec)
      socket_.connect(target_, ec);
    if (ec) {
      next();
      return;
    }
    auto self = shared_from_this();
    ++attempt_;
    auto attempt = attempt_;
    socket_.async_send(asio::buffer(query_),
                       [self, attempt](boost::system::error_code ec, size_t) {
                         if (ec && attempt == self->attempt_)
                           self->failed(attempt);
                       });
    receive(attempt);
    timer_.expires_after(timeout_);
    timer_.async_wait([self, attempt](boost::system::error_code ec) {
      if (!ec)
        self->failed(attempt);
    });
  }

  void receive(uint64_t attempt) {
    auto self = shared_from_this();
    socket_.async_receive(
      asio::buffer(buffer_),
      [self, attempt](boost::system::error_code ec, size_t size) {
        if (attempt != self->attempt_ || self->finished_)
          return;
        if (ec) {
          self->failed(attempt);
          return;
        }
        std::string reply(self->buffer_.data(), size);
        // Only an answer to this query counts.
        if (message_id(reply) != message_id(self->query_) || size < 12) {
          self->receive(attempt);
          return;
        }
        self->finish(std::move(reply));
      });
  }

  void failed(uint64_t attempt) {
    if (attempt != attempt_ || finished_)
      return;
    timer_.cancel();
    next();
  }

  void finish(std::optional<std::string> reply) {
    if (finished_)
      return;
    finished_ = true;
    ++attempt_;
    boost::system::error_code ec;
    timer_.cancel();
    socket_.close(ec);
    done_(std::move(reply));
  }

  udp::socket socket_;
  asio::steady_timer timer_;
  std::string query_;
  std::vector<upstream> servers_;
  std::chrono::seconds timeout_;
  done_fn done_;
  size_t index_ = 0;
  uint64_t attempt_ = 0;
  bool finished_ = false;
  udp::endpoint target_;
  std::array<char, max_message> buffer_{};
};

// One query forwarded over TCP: each server in turn, `timeout` each.
class tcp_exchange : public std::enable_shared_from_this<tcp_exchange> {
public:
  using done_fn = std::function<void(std::optional<std::string>)>;

  tcp_exchange(asio::io_context& io, std::string query,
               std::vector<upstream> servers, std::chrono::seconds timeout,
               done_fn done)
    : io_(io), timer_(io), query_(with_length(query)),
      id_(message_id(query)), servers_(std::move(servers)), timeout_(timeout),
      done_(std::move(done)) {
  }

  void start() { next(); }

private:
  void next() {
    if (index_ >= servers_.size()) {
      finish(std::nullopt);
      return;
    }
    const auto& server = servers_[index_++];
    boost::system::error_code ec;
    tcp::endpoint target(asio::ip::make_address(server.ip, ec), server.port);
    if (ec) {
      next();
      return;
    }
    socket_ = std::make_shared<tcp::socket>(io_);
    auto self = shared_from_this();
    auto socket = socket_;
    timer_.expires_after(timeout_);
    timer_.async_wait([self, socket](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignore;
        socket->close(ignore); // its pending operations fail: next server
      }
    });
    socket->async_connect(target, [self, socket](boost::system::error_code ec) {
      if (ec) {
        self->failed(socket);
        return;
      }
      asio::async_write(
        *socket, asio::buffer(self->query_),
        [self, socket](boost::system::error_code ec, size_t) {
          if (ec) {
            self->failed(socket);
            return;
          }
          asio::async_read(
            *socket, asio::buffer(self->length_),
            [self, socket](boost::system::error_code ec, size_t) {
              if (ec) {
                self->failed(socket);
                return;
              }
              size_t size = (static_cast<uint8_t>(self->length_[0]) << 8)
                            | static_cast<uint8_t>(self->length_[1]);
              self->reply_.resize(size);
              asio::async_read(
                *socket, asio::buffer(self->reply_),
                [self, socket](boost::system::error_code ec, size_t) {
                  if (ec || self->reply_.size() < 12
                      || message_id(self->reply_) != self->id_) {
                    self->failed(socket);
                    return;
                  }
                  self->finish(std::move(self->reply_));
                });
            });
        });
    });
  }

  void failed(const std::shared_ptr<tcp::socket>& socket) {
    if (socket != socket_ || finished_)
      return;
    boost::system::error_code ec;
    socket->close(ec);
    timer_.cancel();
    next();
  }

  void finish(std::optional<std::string> reply) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    if (socket_) {
      boost::system::error_code ec;
      socket_->close(ec);
    }
    done_(std::move(reply));
  }

  asio::io_context& io_;
  asio::steady_timer timer_;
  std::shared_ptr<tcp::socket> socket_;
  std::string query_; // with its length prefix
  uint16_t id_;
  std::vector<upstream> servers_;
  std::chrono::seconds timeout_;
  done_fn done_;
  size_t index_ = 0;
  bool finished_ = false;
  std::array<char, 2> length_{};
  std::string reply_;
};

// One client connection over TCP: length-prefixed queries, answered in
// order, until the client closes or stays idle for tcp_idle.
class tcp_session : public std::enable_shared_from_this<tcp_session> {
public:
  tcp_session(dns_server::impl& server, tcp::socket socket)
    : server_(server), socket_(std::move(socket)),
      idle_(socket_.get_executor()) {
  }

  void start() { read_length(); }

private:
  void arm_idle() {
    auto self = shared_from_this();
    idle_.expires_after(tcp_idle);
    idle_.async_wait([self](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignore;
        self->socket_.close(ignore);
      }
    });
  }

  void read_length() {
    arm_idle();
    auto self = shared_from_this();
    asio::async_read(socket_, asio::buffer(length_),
                     [self](boost::system::error_code ec, size_t) {
                       if (ec)
                         return self->close();
                       size_t size = (static_cast<uint8_t>(self->length_[0]) << 8)
                                     | static_cast<uint8_t>(self->length_[1]);
                       self->query_.resize(size);
                       asio::async_read(
                         self->socket_, asio::buffer(self->query_),
                         [self](boost::system::error_code ec, size_t) {
                           if (ec)
                             return self->close();
                           self->idle_.cancel();
                           self->answer();
                         });
                     });
  }

  void answer() {
    auto self = shared_from_this();
    bool replied = false;
    server_.handle(
      query_, dns_transport::tcp,
      [self, &replied](std::string wire) {
        replied = true;
        self->write(std::move(wire));
      },
      [self, &replied](const dns_outcome& out) {
        replied = true;
        auto servers = self->server_.upstreams_for(out.qname);
        auto query = self->query_;
        std::make_shared<tcp_exchange>(
          self->server_.io, query, servers,
          std::chrono::seconds(self->server_.s.config.timeout()),
          [self, query](std::optional<std::string> reply) {
            self->server_.forwarded(reply.has_value());
            self->write(reply ? std::move(*reply)
                              : error_reply(query, rcode_servfail));
          })
          ->start();
      });
    if (!replied)
      read_length(); // dropped: wait for the next query
  }

  void write(std::string wire) {
    if (wire.empty())
      return read_length();
    out_ = with_length(wire);
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_),
                      [self](boost::system::error_code ec, size_t) {
                        if (ec)
                          return self->close();
                        self->read_length();
                      });
  }

  void close() {
    boost::system::error_code ec;
    idle_.cancel();
    socket_.close(ec);
  }

  dns_server::impl& server_;
  tcp::socket socket_;
  asio::steady_timer idle_;
  std::array<char, 2> length_{};
  std::string query_;
  std::string out_;
};

} // namespace

namespace {

// One reader per server thread. It waits for the socket to be readable,
// then takes up to `batch` datagrams with one system call (recvmmsg) and
// sends their replies with one more (sendmmsg): under load a query costs
// its answer, not two system calls and a trip through the reactor.
class udp_reader : public std::enable_shared_from_this<udp_reader> {
public:
  explicit udp_reader(dns_server::impl& server) : server_(server) {
  }

  void arm() {
    auto self = shared_from_this();
    server_.udp_socket.async_wait(
      udp::socket::wait_read, [self](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted
            || !self->server_.udp_socket.is_open())
          return;
        if (!ec)
          self->drain();
        self->arm();
      });
  }

private:
  static constexpr size_t batch = 32;
  static constexpr size_t slot = 4096; // a query is far smaller
  static constexpr int rounds = 8;     // then let other handlers run

  void drain() {
    int fd = server_.udp_socket.native_handle();
    for (int round = 0; round < rounds; ++round) {
      for (size_t i = 0; i < batch; ++i) {
        in_iov_[i] = {buffers_.data() + i * slot, slot};
        in_[i] = {};
        in_[i].msg_hdr.msg_name = &peers_[i];
        in_[i].msg_hdr.msg_namelen = sizeof(peers_[i]);
        in_[i].msg_hdr.msg_iov = &in_iov_[i];
        in_[i].msg_hdr.msg_iovlen = 1;
      }
      int n = ::recvmmsg(fd, in_.data(), batch, MSG_DONTWAIT, nullptr);
      if (n <= 0)
        return;
      size_t replies = 0;
      for (int i = 0; i < n; ++i)
        serve(static_cast<size_t>(i), replies);
      send(replies);
      if (static_cast<size_t>(n) < batch)
        return;
    }
  }

  void serve(size_t i, size_t& replies) {
    std::string_view query(buffers_.data() + i * slot, in_[i].msg_len);
    auto& s = server_;
    s.handle(
      query, dns_transport::udp,
      [this, i, &replies](std::string wire) {
        if (wire.empty())
          return;
        auto k = replies++;
        replies_[k] = std::move(wire);
        out_iov_[k] = {replies_[k].data(), replies_[k].size()};
        out_[k] = {};
        out_[k].msg_hdr.msg_name = &peers_[i];
        out_[k].msg_hdr.msg_namelen = in_[i].msg_hdr.msg_namelen;
        out_[k].msg_hdr.msg_iov = &out_iov_[k];
        out_[k].msg_hdr.msg_iovlen = 1;
      },
      [this, i, query](const dns_outcome& out) {
        udp::endpoint client;
        std::memcpy(client.data(), &peers_[i], in_[i].msg_hdr.msg_namelen);
        client.resize(in_[i].msg_hdr.msg_namelen);
        server_.forward_udp(std::string(query),
                            server_.upstreams_for(out.qname), client);
      });
  }

  void send(size_t count) {
    int fd = server_.udp_socket.native_handle();
    size_t sent = 0;
    while (sent < count) {
      int r = ::sendmmsg(fd, out_.data() + sent,
                         static_cast<unsigned>(count - sent), MSG_DONTWAIT);
      if (r > 0) {
        sent += static_cast<size_t>(r);
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // The send buffer is full: wait for room, as a blocking send
        // would, but not forever (UDP may lose replies; clients retry).
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 1000) <= 0)
          return;
      } else {
        ++sent; // this client cannot be reached: skip its reply
      }
    }
  }

  dns_server::impl& server_;
  std::vector<char> buffers_ = std::vector<char>(batch * slot);
  std::array<mmsghdr, batch> in_{};
  std::array<iovec, batch> in_iov_{};
  std::array<sockaddr_storage, batch> peers_{};
  std::array<mmsghdr, batch> out_{};
  std::array<iovec, batch> out_iov_{};
  std::array<std::string, batch> replies_{};
};

} // namespace

void dns_server::impl::receive_udp() {
  std::make_shared<udp_reader>(*this)->arm();
}

void dns_server::impl::forward_udp(std::string query,
                                   const std::vector<upstream>& servers,
                                   udp::endpoint client) {
  auto* self = this;
  auto copy = query;
  std::make_shared<udp_exchange>(
    io, std::move(query), servers, std::chrono::seconds(s.config.timeout()),
    [self, client, copy](std::optional<std::string> reply) {
      self->forwarded(reply.has_value());
      auto wire = reply ? std::move(*reply)
                        : error_reply(copy, rcode_servfail);
      boost::system::error_code ec;
      self->udp_socket.send_to(asio::buffer(wire), client, 0, ec);
    })
    ->start();
}

void dns_server::impl::accept_tcp() {
  acceptor.async_accept([this](boost::system::error_code ec,
                               tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open())
      return;
    if (!ec)
      std::make_shared<tcp_session>(*this, std::move(socket))->start();
    accept_tcp();
  });
}

caf::expected<std::unique_ptr<dns_server>>
dns_server::start(dns_settings settings,
                  std::shared_ptr<const zone_holder> zone, unsigned threads,
                  uint64_t seed) {
  auto p = std::make_unique<impl>();
  p->seed = seed;
  p->zone = std::move(zone);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(settings.config.listener(), ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      fmt::format("Listener: '{}' is not an IP address",
                                  settings.config.listener()));
  auto port = static_cast<uint16_t>(settings.config.port());
  auto fail = [&](const char* what) {
    return make_error(errc::unavailable,
                      fmt::format("cannot serve DNS on {}:{} ({}): {}",
                                  settings.config.listener(), port, what,
                                  ec.message()));
  };
  // TCP first: with port 0 it picks the port, and UDP then takes the same.
  tcp::endpoint tcp_end(address, port);
  p->acceptor.open(tcp_end.protocol(), ec);
  if (!ec)
    p->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    p->acceptor.bind(tcp_end, ec);
  if (!ec)
    p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("TCP");
  port = p->acceptor.local_endpoint().port();
  udp::endpoint udp_end(address, port);
  p->udp_socket.open(udp_end.protocol(), ec);
  if (!ec)
    p->udp_socket.bind(udp_end, ec);
  if (ec)
    return fail("UDP");
  // Room for bursts (a benchmark, a cluster restarting at once).
  p->udp_socket.set_option(asio::socket_base::receive_buffer_size(4 << 20),
                           ec);
  settings.config.set_port(port);
  p->s = std::move(settings);
  auto* raw = p.get();
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    raw->receive_udp();
  raw->accept_tcp();
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    raw->caches.push_back(std::make_unique<answer_cache>());
    raw->threads.emplace_back([raw, cache = raw->caches.back().get()] {
      current_cache = cache;
      raw->io.run();
    });
  }
  return std::unique_ptr<dns_server>(new dns_server(std::move(p)));
}

dns_server::dns_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

dns_server::~dns_server() {
  stop();
}

void dns_server::stop() {
  std::lock_guard<std::mutex> guard{impl_->stop_mutex};
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  asio::post(impl_->io, [p = impl_.get()] {
    boost::system::error_code ec;
    p->acceptor.close(ec);
    p->udp_socket.close(ec);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
}

uint16_t dns_server::port() const noexcept {
  return static_cast<uint16_t>(impl_->s.config.port());
}

const dns_counters& dns_server::counters() const noexcept {
  return impl_->counters;
}

} // namespace dcos::mesos_dns
