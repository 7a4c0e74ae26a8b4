#include "dcos/http_upload.hpp"

#include <sys/socket.h>

#include <atomic>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "http_text.hpp"

namespace dcos {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct http_upload::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  std::string what; // "POST host:port/target", for errors
  std::atomic<bool> cancelled{false};

  caf::error fail(std::string_view step, const error_code& ec) const {
    return make_error(errc::unavailable,
                      fmt::format("{}: {}: {}", what, step,
                                  cancelled ? std::string{"cancelled"}
                                            : ec.message()));
  }

  // Runs the pending operation for at most `timeout`.
  bool run_for(std::chrono::milliseconds timeout) {
    ioc.restart();
    ioc.run_for(timeout);
    if (ioc.stopped())
      return true;
    stream.cancel(); // timed out: the handler runs with operation_aborted
    ioc.restart();
    ioc.run();
    return false;
  }
};

http_upload::http_upload(std::unique_ptr<impl> state)
  : impl_(std::move(state)) {}

http_upload::~http_upload() {
  error_code ignored;
  impl_->stream.socket().close(ignored);
}

caf::expected<std::unique_ptr<http_upload>>
http_upload::open(const http_call& call) {
  auto st = std::make_unique<impl>();
  const auto what = fmt::format("{} {}:{}{}", call.method, call.host,
                                call.port, call.target);
  st->what = what;
  try {
    error_code ec;
    tcp::resolver resolver{st->ioc};
    auto endpoints = resolver.resolve(call.host, std::to_string(call.port), ec);
    if (ec)
      return st->fail("resolve", ec);
    st->stream.expires_after(call.timeout);
    st->stream.async_connect(endpoints,
                             [&ec](error_code e, const tcp::endpoint&) {
                               ec = e;
                             });
    if (!st->run_for(call.timeout) && !ec)
      ec = asio::error::timed_out;
    if (ec)
      return st->fail("connect", ec);
    st->stream.expires_never();
    http::request<http::empty_body> head{http::string_to_verb(call.method),
                                         call.target, 11};
    head.set(http::field::host, http_text::authority(call.host, call.port));
    if (!call.content_type.empty())
      head.set(http::field::content_type, call.content_type);
    for (const auto& [name, value] : call.headers)
      head.set(name, value);
    head.chunked(true);
    http::request_serializer<http::empty_body> serializer{head};
    http::write_header(st->stream.socket(), serializer, ec);
    if (ec)
      return st->fail("send", ec);
    std::unique_ptr<http_upload> upload{new http_upload(std::move(st))};
    if (auto err = upload->write(call.body))
      return err;
    return upload;
  } catch (const std::exception& e) {
    return make_error(errc::unavailable, fmt::format("{}: {}", what, e.what()));
  }
}

caf::error http_upload::write(std::string_view data) {
  if (data.empty())
    return {};
  error_code ec;
  if (impl_->cancelled)
    ec = asio::error::operation_aborted;
  else
    asio::write(impl_->stream.socket(),
                http::make_chunk(asio::buffer(data.data(), data.size())), ec);
  if (ec)
    return impl_->fail("send", ec);
  return {};
}

caf::expected<http_reply> http_upload::finish(std::chrono::milliseconds timeout) {
  error_code ec;
  if (impl_->cancelled)
    ec = asio::error::operation_aborted;
  else
    asio::write(impl_->stream.socket(), http::make_chunk_last(), ec);
  // A server that answered early may have stopped reading: its answer is
  // still there to read.
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  error_code read_ec = impl_->cancelled ? asio::error::operation_aborted
                                        : error_code{};
  if (!read_ec) {
    read_ec = asio::error::timed_out;
    http::async_read(impl_->stream, buffer, res,
                     [&read_ec](error_code e, size_t) { read_ec = e; });
    if (!impl_->run_for(timeout))
      read_ec = asio::error::timed_out;
  }
  if (read_ec)
    return impl_->fail(ec ? "send" : "answer", ec ? ec : read_ec);
  http_reply reply;
  reply.status = res.result_int();
  reply.content_type = http_text::view(res[http::field::content_type]);
  for (const auto& field : res) {
    auto [it, added] = reply.headers.try_emplace(
      http_text::lower(http_text::view(field.name_string())),
      http_text::view(field.value()));
    if (!added) {
      it->second += ", ";
      it->second += http_text::view(field.value());
    }
  }
  reply.body = std::move(res.body());
  return reply;
}

void http_upload::cancel() noexcept {
  impl_->cancelled = true;
  // Ends a blocked send or receive at once; the descriptor stays ours
  // until the destructor closes it.
  ::shutdown(impl_->stream.socket().native_handle(), SHUT_RDWR);
}

} // namespace dcos
