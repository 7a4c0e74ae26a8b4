#include "dcos/tcp_probe.hpp"

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dcos {

namespace asio = boost::asio;

struct tcp_prober::impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{
    io.get_executor()};
  std::thread thread{[this] { io.run(); }};
};

tcp_prober::tcp_prober() : impl_(std::make_unique<impl>()) {
}

tcp_prober::~tcp_prober() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

void tcp_prober::probe(std::string host, uint16_t port,
                       std::chrono::milliseconds timeout,
                       std::function<void(bool, std::string)> done) {
  auto& io = impl_->io;
  asio::post(io, [&io, host = std::move(host), port, timeout,
                  done = std::move(done)]() mutable {
    struct attempt {
      asio::ip::tcp::resolver resolver;
      asio::ip::tcp::socket socket;
      asio::steady_timer timer;
      std::function<void(bool, std::string)> done;
      bool finished = false;
      explicit attempt(asio::io_context& io)
        : resolver(io), socket(io), timer(io) {
      }
      void finish(bool ok, std::string why) {
        if (finished)
          return;
        finished = true;
        boost::system::error_code ignored;
        timer.cancel();
        resolver.cancel();
        socket.close(ignored);
        done(ok, std::move(why));
      }
    };
    auto a = std::make_shared<attempt>(io);
    a->done = std::move(done);
    a->timer.expires_after(timeout);
    a->timer.async_wait([a](boost::system::error_code ec) {
      if (!ec)
        a->finish(false, "timed out");
    });
    a->resolver.async_resolve(
      host, std::to_string(port),
      [a](boost::system::error_code ec,
          asio::ip::tcp::resolver::results_type results) {
        if (ec) {
          a->finish(false, ec.message());
          return;
        }
        asio::async_connect(a->socket, results,
                            [a](boost::system::error_code ec,
                                const asio::ip::tcp::endpoint&) {
                              a->finish(!ec, ec ? ec.message() : "");
                            });
      });
  });
}

} // namespace dcos
