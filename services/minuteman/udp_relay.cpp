#include "udp_relay.hpp"

#include <array>
#include <map>
#include <vector>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos::minuteman {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// The largest UDP payload.
constexpr size_t datagram_size = 65536;
// Datagrams taken from the VIP's socket per wakeup, without a round trip
// through the reactor each (the socket is non-blocking).
constexpr int batch = 64;

class flow;

} // namespace

struct udp_relay::impl : std::enable_shared_from_this<udp_relay::impl> {
  asio::any_io_executor executor;
  udp::socket socket;
  std::shared_ptr<vip_backends> backends;
  udp_options opts;
  bool closed = false;
  std::map<udp::endpoint, std::shared_ptr<flow>> flows;
  udp::endpoint sender;
  std::unique_ptr<char[]> buffer{new char[datagram_size]};       // clients'
  std::unique_ptr<char[]> reply_buffer{new char[datagram_size]}; // backends'

  impl(asio::any_io_executor ex, std::shared_ptr<vip_backends> b,
       udp_options o)
    : executor(ex), socket(ex), backends(std::move(b)), opts(o) {
  }

  void receive();
  void datagram(size_t n);
  void shut();

  // A backend's reply, sent on from the VIP's address. Never blocks: the
  // socket is non-blocking, and a reply it cannot queue is dropped.
  void reply(const char* data, size_t n, const udp::endpoint& to) {
    boost::system::error_code dropped;
    socket.send_to(asio::buffer(data, n), to, 0, dropped);
  }
};

namespace {

// The datagrams of one client address, and the backend they go to.
class flow : public std::enable_shared_from_this<flow> {
public:
  flow(std::shared_ptr<udp_relay::impl> relay, udp::endpoint client)
    : relay_(std::move(relay)), client_(client), socket_(relay_->executor),
      idle_(relay_->executor) {
  }

  // Chooses a backend; false if none is left to try.
  bool assign() {
    auto& backends = *relay_->backends;
    while (tries_ < relay_->opts.max_tries) {
      asio::ip::address address;
      backend_ = backends.pick(tried_.data(), tries_, &address);
      if (!backend_)
        return false;
      tried_[tries_++] = backend_.get();
      boost::system::error_code ec;
      socket_ = udp::socket{relay_->executor};
      udp::endpoint to{address, backend_->port};
      socket_.open(to.protocol(), ec);
      if (!ec)
        socket_.non_blocking(true, ec);
      if (!ec)
        socket_.connect(to, ec); // no packet: it only fixes the peer
      if (ec) {
        backends.failed(*backend_);
        backend_.reset();
        continue;
      }
      ++generation_;
      started_ = steady::now();
      answered_ = false;
      backend_->connections++;
      backend_->active++;
      if (!counted_) {
        counted_ = true;
        backends.connections++;
        backends.active++;
      }
      receive();
      return true;
    }
    backend_.reset();
    return false;
  }

  void start_idle_timer() {
    last_active_ = steady::now();
    arm(relay_->opts.idle);
  }

  void forward(const char* data, size_t n) {
    last_.assign(data, data + n);
    last_active_ = steady::now();
    send_last();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    idle_.cancel();
    release(false);
    if (counted_)
      relay_->backends->active--;
    auto it = relay_->flows.find(client_);
    if (it != relay_->flows.end() && it->second.get() == this)
      relay_->flows.erase(it);
  }

  // Drops the relay without touching the sockets (the proxy stopped).
  void abandon() {
    closed_ = true;
    relay_.reset();
  }

private:
  void send_last() {
    boost::system::error_code ec;
    socket_.send(asio::buffer(last_), 0, ec);
    if (ec == asio::error::connection_refused) {
      refused();
      return;
    }
    if (!ec) {
      backend_->bytes_out += last_.size();
      relay_->backends->bytes_out += last_.size();
    }
  }

  // Waits for the backend's replies and takes every one queued into the
  // relay's buffer (handlers of one relay never run at once, so one buffer
  // serves every flow; a flow waiting holds none).
  void receive() {
    socket_.async_wait(
      udp::socket::wait_read,
      [self = shared_from_this(), generation = generation_](auto ec) {
        // A socket replaced by a failover has nothing more to say.
        if (self->closed_ || generation != self->generation_
            || ec == asio::error::operation_aborted)
          return;
        for (int i = 0; i < batch && !ec; ++i) {
          auto& buf = self->relay_->reply_buffer;
          auto n = self->socket_.receive(
            asio::buffer(buf.get(), datagram_size), 0, ec);
          if (!ec)
            self->answered(buf.get(), n);
        }
        if (ec == asio::error::connection_refused) {
          self->refused();
          return;
        }
        if (ec && ec != asio::error::would_block) {
          self->close();
          return;
        }
        self->receive();
      });
  }

  void answered(const char* data, size_t n) {
    if (!answered_) {
      answered_ = true;
      relay_->backends->succeeded(*backend_, started_);
      // It works: should it fail later, the flow may try others again.
      tried_[0] = backend_.get();
      tries_ = 1;
    }
    last_active_ = steady::now();
    backend_->bytes_in += n;
    relay_->backends->bytes_in += n;
    relay_->reply(data, n, client_);
  }

  // The backend refused: fail over, and send the last datagram again.
  void refused() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    release(true);
    if (!assign()) {
      relay_->backends->failures++;
      close();
      return;
    }
    send_last();
  }

  void release(bool failed) {
    if (!backend_)
      return;
    backend_->active--;
    if (failed)
      relay_->backends->failed(*backend_);
    else
      relay_->backends->released(*backend_);
    backend_.reset();
  }

  void arm(steady::duration after) {
    idle_.expires_after(after);
    idle_.async_wait([self = shared_from_this()](auto ec) {
      if (ec || self->closed_)
        return;
      auto idle_for = steady::now() - self->last_active_;
      if (idle_for >= self->relay_->opts.idle)
        self->close();
      else
        self->arm(self->relay_->opts.idle - idle_for);
    });
  }

  std::shared_ptr<udp_relay::impl> relay_;
  udp::endpoint client_;
  udp::socket socket_;
  asio::steady_timer idle_;
  std::shared_ptr<backend> backend_;
  std::array<const backend*, 8> tried_{};
  size_t tries_ = 0;
  steady::time_point started_;
  steady::time_point last_active_;
  std::vector<char> last_; // the client's last datagram
  uint64_t generation_ = 0; // of socket_, replaced at each failover
  bool answered_ = false;
  bool counted_ = false;
  bool closed_ = false;
};

} // namespace

void udp_relay::impl::receive() {
  socket.async_receive_from(
    asio::buffer(buffer.get(), datagram_size), sender,
    [self = shared_from_this()](auto ec, size_t n) {
      if (self->closed || ec == asio::error::operation_aborted)
        return;
      if (!ec)
        self->datagram(n);
      for (int i = 0; i < batch && !self->closed; ++i) {
        boost::system::error_code again;
        auto more = self->socket.receive_from(
          asio::buffer(self->buffer.get(), datagram_size), self->sender, 0,
          again);
        if (again)
          break;
        self->datagram(more);
      }
      if (!self->closed)
        self->receive();
    });
}

void udp_relay::impl::datagram(size_t n) {
  auto it = flows.find(sender);
  if (it == flows.end()) {
    auto f = std::make_shared<flow>(shared_from_this(), sender);
    if (!f->assign()) {
      backends->failures++;
      return;
    }
    f->start_idle_timer();
    it = flows.emplace(sender, std::move(f)).first;
  }
  auto f = it->second; // forward() may end the flow
  f->forward(buffer.get(), n);
}

void udp_relay::impl::shut() {
  if (closed)
    return;
  closed = true;
  boost::system::error_code ignored;
  socket.close(ignored);
  auto all = std::move(flows);
  for (auto& [_, f] : all)
    f->close();
}

caf::expected<std::shared_ptr<udp_relay>>
udp_relay::open(asio::any_io_executor executor, udp::endpoint endpoint,
                std::shared_ptr<vip_backends> backends, udp_options opts) {
  if (opts.max_tries == 0 || opts.max_tries > 8)
    return make_error(errc::invalid_argument,
                      "udp max_tries: must be 1 to 8");
  auto p = std::make_shared<impl>(executor, std::move(backends), opts);
  boost::system::error_code ec;
  p->socket.open(endpoint.protocol(), ec);
  if (!ec)
    p->socket.set_option(udp::socket::reuse_address{true}, ec);
  if (!ec)
    p->socket.bind(endpoint, ec);
  if (!ec)
    p->socket.non_blocking(true, ec);
  if (ec)
    return make_error(errc::io_error, ec.message());
  asio::post(executor, [p] { p->receive(); });
  return std::shared_ptr<udp_relay>{new udp_relay(std::move(p))};
}

udp_relay::udp_relay(std::shared_ptr<impl> p) : impl_(std::move(p)) {
}

void udp_relay::close() {
  asio::post(impl_->executor, [p = impl_] { p->shut(); });
}

void udp_relay::abandon() {
  impl_->closed = true;
  auto all = std::move(impl_->flows);
  for (auto& [_, f] : all)
    f->abandon();
}

} // namespace dcos::minuteman
