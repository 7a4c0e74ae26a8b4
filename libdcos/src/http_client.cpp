#include "dcos/http_client.hpp"

#include <cctype>
#include <charconv>
#include <array>
#include <exception>
#include <limits>
#include <optional>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "http_text.hpp"

namespace dcos {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using boost::system::error_code;

constexpr uint64_t reply_limit = uint64_t{256} << 20;

using callback = std::function<void(caf::expected<http_reply>)>;

// The TLS settings every https call of a client shares: a client context
// that trusts the system's authorities (or SSL_CERT_FILE / SSL_CERT_DIR).
// Whether a call verifies is set on its own stream.
caf::expected<std::shared_ptr<ssl::context>> make_tls_context() {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds
                     | ssl::context::no_sslv2 | ssl::context::no_sslv3);
    error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec)
      return make_error(errc::io_error,
                        fmt::format("TLS: cannot load the trusted "
                                    "authorities: {}", ec.message()));
    return ctx;
  } catch (const std::exception& e) {
    return make_error(errc::io_error, fmt::format("TLS: {}", e.what()));
  }
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = logging::get("http");
  return logger;
}

// The operating system capitalises its messages ("Connection refused"); ours
// continue a sentence.
std::string reason(const error_code& ec) {
  auto text = ec.message();
  if (!text.empty())
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

using http_text::authority;
using http_text::lower;
using http_text::view;

// Method, target and header text go to the wire verbatim: control
// characters would let a caller smuggle a second request.
bool is_token(std::string_view text) {
  if (text.empty())
    return false;
  for (unsigned char c : text)
    if (c <= ' ' || c == 0x7f)
      return false;
  return true;
}

bool is_field_value(std::string_view text) {
  return text.find_first_of(std::string_view{"\r\n\0", 3}) == text.npos;
}

std::string validate(const http_call& call) {
  if (call.host.empty())
    return "no host";
  if (call.port == 0)
    return "port 0";
  if (!is_token(call.method))
    return "invalid method";
  if (!is_token(call.target))
    return "invalid target";
  if (!is_field_value(call.content_type))
    return "invalid content type";
  for (const auto& [name, value] : call.headers)
    if (!is_token(name) || name.find(':') != name.npos || !is_field_value(value))
      return fmt::format("invalid header '{}'", name);
  if (call.timeout.count() <= 0)
    return "timeout must be positive";
  return {};
}

template <class Fields>
std::map<std::string, std::string> headers_of(const Fields& fields) {
  std::map<std::string, std::string> out;
  for (const auto& field : fields) {
    auto [it, added] = out.try_emplace(lower(view(field.name_string())),
                                       view(field.value()));
    if (!added)
      it->second.append(", ").append(view(field.value()));
  }
  return out;
}

// One call; lives while any of its handlers is pending. Runs on one thread
// (the io_context's), so it needs no strand. With a reader, the reply's body
// goes to it piece by piece (stream()); else it is collected (fetch()).
class fetch_op : public std::enable_shared_from_this<fetch_op> {
public:
  // REQUIRES: `tls` is set if call.tls is.
  fetch_op(asio::io_context& ioc, http_call call, callback done,
           std::shared_ptr<ssl::context> tls,
           std::shared_ptr<http_stream_reader> reader = nullptr)
    : call_(std::move(call)),
      done_(std::move(done)),
      reader_(std::move(reader)),
      tls_context_(std::move(tls)),
      resolver_(ioc),
      socket_(ioc),
      deadline_(ioc) {}

  void start() {
    if (auto problem = validate(call_); !problem.empty())
      return fail(errc::invalid_argument, problem);
    try {
      build_request();
    } catch (const std::exception& e) {
      // Beast rejects, e.g., a TRACE with a body or an over-long header.
      return fail(errc::invalid_argument, e.what());
    }
    parser_.body_limit(reply_limit);
    stream_parser_.body_limit(std::numeric_limits<uint64_t>::max());
    // A reply to HEAD announces a length but carries no body.
    parser_.skip(call_.method == "HEAD");
    stream_parser_.skip(call_.method == "HEAD");
    deadline_.expires_after(call_.timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec)
        self->fail(errc::unavailable,
                   fmt::format("timed out after {}ms", self->call_.timeout.count()));
    });
    resolver_.async_resolve(
      call_.host, std::to_string(call_.port), tcp::resolver::numeric_service,
      [self = shared_from_this()](error_code ec, tcp::resolver::results_type hosts) {
        self->on_resolve(ec, hosts);
      });
  }

  void cancel() { fail(errc::unavailable, "cancelled: the client shut down"); }

private:
  void build_request() {
    request_.method_string(call_.method);
    request_.target(call_.target);
    request_.version(11);
    request_.set(http::field::host, authority(call_.host, call_.port));
    request_.set(http::field::user_agent, "libdcos");
    if (!call_.content_type.empty())
      request_.set(http::field::content_type, call_.content_type);
    for (const auto& [name, value] : call_.headers)
      request_.insert(name, value);
    request_.keep_alive(false);
    request_.body() = std::move(call_.body);
    request_.prepare_payload();
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& hosts) {
    if (finished_)
      return;
    if (ec)
      return fail(errc::unavailable,
                  fmt::format("cannot resolve '{}': {}", call_.host, reason(ec)));
    asio::async_connect(socket_, hosts,
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          self->on_connect(ec);
                        });
  }

  void on_connect(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail(errc::unavailable, reason(ec));
    if (!call_.tls)
      return write();
    tls_.emplace(socket_, *tls_context_);
    auto* handle = tls_->native_handle();
    // SNI names a host, never an address (RFC 6066).
    if (!is_ip_address(call_.host)
        && SSL_set_tlsext_host_name(handle, call_.host.c_str()) != 1)
      return fail(errc::invalid_argument, "TLS: cannot name the host");
    if (call_.verify_peer) {
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification(call_.host));
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](error_code ec) {
                            self->on_handshake(ec);
                          });
  }

  void on_handshake(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail(errc::unavailable, "TLS handshake: " + tls_reason(ec));
    write();
  }

  // Runs `f` on the connection's stream: the TLS stream or the socket.
  template <class F>
  void on_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }

  void write() {
    on_stream([this](auto& stream) {
      http::async_write(stream, request_,
                        [self = shared_from_this()](error_code ec, size_t) {
                          self->on_write(ec);
                        });
    });
  }

  void on_write(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail(errc::unavailable, reason(ec));
    on_stream([this](auto& stream) {
      if (reader_)
        return http::async_read_header(
          stream, buffer_, stream_parser_,
          [self = shared_from_this()](error_code ec, size_t) {
            self->on_stream_head(ec);
          });
      http::async_read(stream, buffer_, parser_,
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->on_read(ec);
                       });
    });
  }

  void on_stream_head(error_code ec) {
    if (finished_)
      return;
    if (ec)
      return fail_reading(ec);
    deadline_.cancel(); // the time-out is the head's; a stream has none
    const auto& res = stream_parser_.get();
    http_reply head{res.result_int(),
                    std::string{res[http::field::content_type]},
                    {},
                    headers_of(res)};
    reader_->head(head);
    read_body();
  }

  void read_body() {
    if (stream_parser_.is_done())
      return finish(http_reply{});
    auto& body = stream_parser_.get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    on_stream([this](auto& stream) {
      http::async_read_some(stream, buffer_, stream_parser_,
                            [self = shared_from_this()](error_code ec, size_t) {
                              self->on_stream_data(ec);
                            });
    });
  }

  // A TLS server that closes without close_notify (Python's, many small
  // ones) ends a reply that the close delimits, as curl takes it: the
  // truncation is the end of such a body. Anything else stays an error.
  template <class Parser>
  bool ended_by_close(Parser& parser, error_code& ec) {
    if (ec != ssl::error::stream_truncated || !parser.is_header_done()
        || !parser.need_eof())
      return false;
    error_code eof;
    parser.put_eof(eof);
    if (eof || !parser.is_done())
      return false;
    ec = {};
    return true;
  }

  void on_stream_data(error_code ec) {
    if (finished_)
      return;
    if (ec == http::error::need_buffer) // the chunk is full: not an error
      ec = {};
    bool closed = ended_by_close(stream_parser_, ec);
    if (ec)
      return fail_reading(ec);
    auto got = chunk_.size() - stream_parser_.get().body().size;
    if ((got > 0 && !reader_->data(std::string_view{chunk_.data(), got}))
        || closed)
      return finish(http_reply{});
    read_body();
  }

  void on_read(error_code ec) {
    if (finished_)
      return;
    ended_by_close(parser_, ec);
    if (ec)
      return fail_reading(ec);
    auto& res = parser_.get();
    finish(http_reply{res.result_int(),
                      std::string{res[http::field::content_type]},
                      std::move(res.body()), headers_of(res)});
  }

  void fail_reading(error_code ec) {
    if (ec == http::error::body_limit)
      return fail(errc::corrupt_payload, "reply body exceeds 256 MiB");
    if (ec == http::error::end_of_stream)
      return fail(errc::unavailable, "connection closed without a reply");
    // A TLS peer that closes without close_notify truncates the stream.
    if (ec == http::error::partial_message
        || ec == ssl::error::stream_truncated)
      return fail(errc::unavailable, "connection closed during the reply");
    if (ec.category() == http::make_error_code(http::error::bad_version).category())
      return fail(errc::corrupt_payload, "malformed reply: " + reason(ec));
    fail(errc::unavailable, reason(ec));
  }

  // OpenSSL's reason ("certificate verify failed"), without the library's
  // name that error_code::message() appends.
  static std::string tls_reason(const error_code& ec) {
    auto text = reason(ec);
    if (auto paren = text.rfind(" ("); paren != text.npos
        && text.back() == ')')
      text.erase(paren);
    return text;
  }

  void fail(errc code, std::string_view what) {
    finish(make_error(code, fmt::format("{} {}{}{}: {}", call_.method,
                                        call_.tls ? "https://" : "",
                                        authority(call_.host, call_.port),
                                        call_.target, what)));
  }

  void finish(caf::expected<http_reply> result) {
    if (finished_)
      return;
    finished_ = true;
    error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
    auto done = std::move(done_);
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log()->warn("HTTP callback threw: {}", e.what());
    } catch (...) {
      log()->warn("HTTP callback threw a non-standard exception");
    }
  }

  http_call call_;
  callback done_;
  std::shared_ptr<http_stream_reader> reader_; // stream() only
  std::shared_ptr<ssl::context> tls_context_; // https only
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_; // over socket_, https only
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  http::response_parser<http::buffer_body> stream_parser_;
  std::array<char, 16384> chunk_;
  bool finished_ = false;
};

} // namespace

std::string http_reply::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string{} : it->second;
}

caf::expected<http_reply> http_fetch(const http_call& call) {
  try {
    std::shared_ptr<ssl::context> tls;
    if (call.tls) {
      auto ctx = make_tls_context();
      if (!ctx)
        return std::move(ctx.error());
      tls = std::move(*ctx);
    }
    asio::io_context ioc{1};
    std::optional<caf::expected<http_reply>> result;
    std::make_shared<fetch_op>(ioc, call, [&result](caf::expected<http_reply> r) {
      result = std::move(r);
    }, std::move(tls))->start();
    ioc.run();
    return std::move(*result);
  } catch (const std::exception& e) {
    return make_error(errc::io_error, fmt::format("http_fetch: {}", e.what()));
  }
}

struct http_client::impl {
  void run() noexcept {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log()->error("HTTP client thread caught: {}", e.what());
      } catch (...) {
        log()->error("HTTP client thread caught a non-standard exception");
      }
    }
  }

  // Starts a call on the I/O thread.
  void launch(http_call call, callback done,
              std::shared_ptr<http_stream_reader> reader) {
    if (broken)
      return done(broken);
    asio::post(ioc, [this, call = std::move(call), done = std::move(done),
                     reader = std::move(reader)]() mutable {
      if (call.tls && !tls) { // made once, when the first https call needs it
        auto ctx = make_tls_context();
        if (!ctx)
          return done(std::move(ctx.error()));
        tls = std::move(*ctx);
      }
      auto op = std::make_shared<fetch_op>(ioc, std::move(call), std::move(done),
                                           tls, std::move(reader));
      std::erase_if(ops, [](const auto& weak) { return weak.expired(); });
      ops.push_back(op);
      op->start();
    });
  }

  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::vector<std::weak_ptr<fetch_op>> ops; // only touched on the I/O thread
  std::shared_ptr<ssl::context> tls;        // likewise
  std::thread thread;
  caf::error broken; // set if the thread could not be started
};

http_client::http_client() : impl_(std::make_unique<impl>()) {
  try {
    impl_->thread = std::thread([st = impl_.get()] { st->run(); });
  } catch (const std::exception& e) {
    impl_->broken = make_error(errc::io_error,
                               fmt::format("http_client: {}", e.what()));
  }
}

http_client::~http_client() {
  if (!impl_->thread.joinable())
    return;
  // Cancelling calls their callbacks at once; what remains queued afterwards
  // is only aborted I/O, which need not run.
  asio::post(impl_->ioc, [st = impl_.get()] {
    for (const auto& weak : st->ops)
      if (auto op = weak.lock())
        op->cancel();
    st->ioc.stop();
  });
  impl_->thread.join();
}

void http_client::fetch(http_call call, callback done) {
  impl_->launch(std::move(call), std::move(done), nullptr);
}

void http_client::stream(http_call call, http_stream_reader reader) {
  auto shared = std::make_shared<http_stream_reader>(std::move(reader));
  // The call's outcome is the stream's end; the reply itself is empty.
  auto done = [shared](caf::expected<http_reply> r) {
    shared->end(r ? caf::error{} : r.error());
  };
  impl_->launch(std::move(call), std::move(done), std::move(shared));
}

caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(std::string_view text, uint16_t default_port) {
  auto invalid = [text](std::string_view why) {
    return make_error(errc::invalid_argument,
                      fmt::format("'{}' is not host:port: {}", text, why));
  };
  std::string_view host = text;
  std::optional<std::string_view> port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == text.npos)
      return invalid("missing ']'");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return invalid("expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else if (auto colon = text.find(':');
             colon != text.npos && text.rfind(':') == colon) {
    // More than one colon, without brackets, is a bare IPv6 address.
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty())
    return invalid("no host");
  uint16_t port = default_port;
  if (port_text) {
    const char* first = port_text->data();
    const char* last = first + port_text->size();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(first, last, value);
    if (first == last || ec != std::errc{} || end != last || value > 65535)
      return make_error(errc::invalid_argument,
                        fmt::format("'{}': '{}' is not a port number", text,
                                    *port_text));
    port = static_cast<uint16_t>(value);
  }
  return std::pair{std::string{host}, port};
}

} // namespace dcos
