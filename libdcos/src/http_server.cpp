#include "dcos/http_server.hpp"

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <caf/sec.hpp>

#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "http_text.hpp"

namespace dcos {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t body_limit = 16 * 1024 * 1024;
// Beast 1.74 takes boost::none for "no limit" but then refuses every body
// with a Content-Length (it compares the length with the empty optional):
// the largest limit is none that works.
constexpr uint64_t no_body_limit = std::numeric_limits<uint64_t>::max();
constexpr auto idle_timeout = std::chrono::seconds(60);
// After answering a request that ends the connection, the rest of what the
// client sends is read and dropped for this long: closing a socket with
// unread data makes the kernel send a reset, which can destroy our answer
// (a 413, say) before the client has read it.
constexpr auto linger_timeout = std::chrono::seconds(5);
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
// What one read of a streamed request's body hands over at most.
constexpr size_t body_piece_size = 64 * 1024;

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = logging::get("http");
  return logger;
}

class connection;
class stream_state;

// Shared by the server, its connections and every responder, so that a
// responder outliving the server finds `open` false instead of freed memory.
struct server_state {
  explicit server_state(http_handler h) : handler(std::move(h)) {}

  const http_handler handler;
  std::mutex mutex;
  bool open = true;
  // Every open connection: for stop() to close, and to keep it alive while
  // a handler has its request and no I/O is pending on it (responders hold
  // only weak references).
  std::unordered_map<const connection*, std::shared_ptr<connection>> connections;
};

// Serves one socket; every member function runs on the socket's strand.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket socket, std::shared_ptr<server_state> state)
    : stream_(std::move(socket)), state_(std::move(state)) {}

  void start() {
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this()] { self->read_header(); });
  }

  /// Any thread: runs `f(*this)` on the strand.
  template <class F>
  void post_to_strand(F f) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), f = std::move(f)]() mutable {
                 f(*self);
               });
  }

  /// Any thread.
  void post_response(http_response response) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), r = std::move(response)]() mutable {
                 self->write(std::move(r));
               });
  }

  /// REQUIRES: no I/O thread is running.
  void abort() noexcept {
    stream_.close();
    end_stream_state();
    after_body_read_ = nullptr; // it holds the connection
  }

  // -- a streamed response (strand only) ---------------------------------------
  void stream_write(std::string chunk);
  void stream_end();
  void stream_abort() { close(); }

  // -- a streamed request (strand only) ----------------------------------------
  void read_body_piece(http_body_stream::reader f);

private:
  void dispatch_streamed();
  void run_handler(http_request request);
  void read_body_piece_now(http_body_stream::reader f);
  // Runs `next` (a read of the socket: linger, watch_client) now, or, if a
  // read of the streamed request's body is pending, cancels that read and
  // runs `next` once it is over: the answered request's body is not read
  // any further, and the two reads never overlap.
  template <class F>
  void after_body_read(F next);
  void start_stream(http_response response);
  void write_next_chunk();
  void watch_client();
  void end_stream_state() noexcept;

  void read_header();
  void read_body();
  void on_read_error(error_code ec);
  void dispatch();
  void reject(unsigned status, std::string_view message);
  void write(http_response response);
  void linger();
  void close();

  beast::tcp_stream stream_;
  std::shared_ptr<server_state> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  // A streamed response: its header's serializer, the chunks not yet
  // written (the front one is being written), and its handle.
  std::unique_ptr<http::response<http::empty_body>> stream_header_;
  std::unique_ptr<http::response_serializer<http::empty_body>> serializer_;
  std::deque<std::string> chunks_;
  bool writing_ = false;
  bool ending_ = false;
  std::shared_ptr<stream_state> stream_state_;
  std::array<char, 512> discard_{};
  // A streamed request: its body's parser (once the header is in), whether
  // a body read is on its way, whether the request has been answered
  // (which ends its body), and what is to read the socket after that read.
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::vector<char> body_piece_;
  bool body_read_pending_ = false;
  bool answered_ = false;
  std::function<void()> after_body_read_;
};

// The handle through which a handler reads a streamed request's body.
class body_stream_state final : public http_body_stream {
public:
  body_stream_state(std::weak_ptr<connection> conn,
                    std::shared_ptr<server_state> server)
    : conn_(std::move(conn)), server_(std::move(server)) {}

  void read(reader f) override {
    auto fail = [](reader& g) {
      g(make_error(errc::unavailable, "the request's connection is closed"));
    };
    try {
      std::unique_lock guard{server_->mutex};
      auto conn = conn_.lock();
      if (!server_->open || !conn) {
        guard.unlock();
        return fail(f);
      }
      conn->post_to_strand([f = std::move(f)](connection& c) mutable {
        c.read_body_piece(std::move(f));
      });
    } catch (...) {
      // Only allocation fails here; `f` may be gone with the closure.
    }
  }

private:
  std::weak_ptr<connection> conn_;
  std::shared_ptr<server_state> server_;
};

// What the handle of a streamed response shares with its connection.
class stream_state final : public http_stream {
public:
  stream_state(std::weak_ptr<connection> conn,
               std::shared_ptr<server_state> server)
    : conn_(std::move(conn)), server_(std::move(server)) {}

  bool write(std::string chunk) override {
    if (!is_open())
      return false;
    if (chunk.empty())
      return true;
    auto size = chunk.size();
    if (queued_.fetch_add(size) + size > max_queued_bytes) {
      queued_ -= size;
      log()->warn("cutting off a stream whose client is {} bytes behind",
                  queued_.load());
      cut_ = true; // no more writes; the connection closes (strand)
      post([](connection& c) { c.stream_abort(); });
      return false;
    }
    if (!post([chunk = std::move(chunk)](connection& c) mutable {
          c.stream_write(std::move(chunk));
        })) {
      queued_ -= size;
      return false;
    }
    return true;
  }

  void close() override {
    post([](connection& c) { c.stream_end(); });
  }

  bool is_open() const override { return open_ && !cut_; }

  size_t queued_bytes() const override { return queued_; }

  void on_close(std::function<void()> f) override {
    {
      std::lock_guard guard{mutex_};
      if (open_) {
        on_close_ = std::move(f);
        return;
      }
    }
    if (f)
      f();
  }

  /// The connection wrote `n` bytes of chunk data.
  void written(size_t n) { queued_ -= n; }

  /// The connection closed (strand, or the stopping server's thread).
  void closed() noexcept {
    std::function<void()> f;
    {
      std::lock_guard guard{mutex_};
      if (!open_.exchange(false))
        return;
      f = std::move(on_close_);
    }
    if (f) {
      try {
        f();
      } catch (...) {
        log()->warn("a stream's close callback threw");
      }
    }
  }

private:
  // Runs `f` on the connection's strand; false if it is gone.
  template <class F>
  bool post(F f) {
    if (!open_)
      return false;
    try {
      std::lock_guard guard{server_->mutex};
      if (!server_->open)
        return false;
      auto conn = conn_.lock();
      if (!conn)
        return false;
      conn->post_to_strand(std::move(f));
      return true;
    } catch (...) {
      return false;
    }
  }

  std::weak_ptr<connection> conn_;
  std::shared_ptr<server_state> server_;
  std::atomic<bool> open_{true};
  std::atomic<bool> cut_{false};
  std::atomic<size_t> queued_{0};
  std::mutex mutex_;
  std::function<void()> on_close_;
};

// The handle a streamed response's owner gets when the response never
// started: closed from the outset.
class closed_stream final : public http_stream {
public:
  bool write(std::string) override { return false; }
  void close() override {}
  bool is_open() const override { return false; }
  size_t queued_bytes() const override { return 0; }
  void on_close(std::function<void()> f) override {
    if (f)
      f();
  }
};

// Makes `handler` run exactly once: with the open stream, or, if every copy
// of the wrapper is destroyed first (the response was dropped: its client
// left, the header could not be written, the server stopped), with a
// closed_stream from the destructor of the last copy.
http_stream_handler call_once(http_stream_handler handler) {
  struct once {
    http_stream_handler f;
    std::atomic<bool> done{false};
    void operator()(std::shared_ptr<http_stream> stream) {
      if (!done.exchange(true))
        f(std::move(stream));
    }
    ~once() {
      if (done)
        return;
      try {
        f(std::make_shared<closed_stream>());
      } catch (...) {
        log()->warn("a stream handler threw on a dropped response");
      }
    }
  };
  auto guard = std::make_shared<once>();
  guard->f = std::move(handler);
  return [guard](std::shared_ptr<http_stream> stream) {
    (*guard)(std::move(stream));
  };
}

// The state behind all copies of one request's responder.
class reply_slot {
public:
  reply_slot(std::weak_ptr<connection> conn, std::shared_ptr<server_state> state)
    : conn_(std::move(conn)), state_(std::move(state)) {}
  reply_slot(const reply_slot&) = delete;
  reply_slot& operator=(const reply_slot&) = delete;

  ~reply_slot() {
    if (!used_)
      deliver(json_error(500, "the handler dropped the request"));
  }

  void deliver(http_response response) noexcept {
    if (used_.exchange(true))
      return;
    try {
      if (response.stream)
        response.stream = call_once(std::move(response.stream));
      // Holding the mutex keeps stop() from tearing down the I/O context
      // between lock() and post().
      std::lock_guard guard{state_->mutex};
      if (!state_->open)
        return;
      if (auto conn = conn_.lock())
        conn->post_response(std::move(response));
    } catch (...) {
      // Only allocation can fail here; the request stays unanswered.
    }
  }

private:
  std::weak_ptr<connection> conn_;
  std::shared_ptr<server_state> state_;
  std::atomic<bool> used_{false};
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      int hi = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
      int lo = hi < 0 ? -1 : hex_digit(text[i + 2]);
      if (lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

using http_text::lower;
using http_text::view;

// `text` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// The media type of one Content-Type or Accept entry, lower-case, without
// its parameters; `q` gets the entry's q-value (1 if it has none).
std::string media_type_of(std::string_view entry, double* q = nullptr) {
  auto semi = entry.find(';');
  auto type = lower(trim(entry.substr(0, semi)));
  if (q != nullptr) {
    *q = 1;
    while (semi != std::string_view::npos) {
      entry.remove_prefix(semi + 1);
      semi = entry.find(';');
      auto param = trim(entry.substr(0, semi));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q')
          && param[1] == '=')
        *q = std::atof(std::string{param.substr(2)}.c_str());
    }
  }
  return type;
}

caf::error bad_encoding(std::string_view target) {
  return make_error(errc::parse_error,
                    fmt::format("malformed percent-encoding in '{}'", target));
}

caf::expected<http_request> to_request(http::request<http::string_body>&& req) {
  http_request out;
  out.method = view(req.method_string());
  out.target = view(req.target());
  std::string_view target = out.target;
  auto question = target.find('?');
  auto path = percent_decode(target.substr(0, question), false);
  if (!path)
    return bad_encoding(target);
  out.path = std::move(*path);
  auto query = question == target.npos ? std::string_view{}
                                       : target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == query.npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(
      eq == pair.npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value)
      return bad_encoding(target);
    out.query[std::move(*key)] = std::move(*value);
  }
  for (const auto& field : req) {
    auto [it, added] = out.headers.try_emplace(lower(view(field.name_string())),
                                               view(field.value()));
    if (!added) {
      it->second += ", ";
      it->second += view(field.value());
    }
  }
  out.body = std::move(req.body());
  return out;
}

// Header text goes to the wire verbatim: CR or LF in it would let a handler
// forge headers, or a whole second response.
std::string check(const http_response& r) {
  constexpr std::string_view forbidden{"\r\n\0", 3};
  auto bad = [&](std::string_view s) { return s.find_first_of(forbidden) != s.npos; };
  if (r.status < 200 || r.status > 599)
    return fmt::format("the handler returned status {}", r.status);
  if (bad(r.content_type))
    return "the handler returned an invalid content type";
  for (const auto& [name, value] : r.headers)
    if (name.empty() || bad(name) || name.find(':') != name.npos || bad(value))
      return fmt::format("the handler returned an invalid header '{}'", name);
  return {};
}

http::response<http::string_body> to_beast(http_response r, unsigned version,
                                           bool keep_alive, bool head) {
  if (auto problem = check(r); !problem.empty())
    r = json_error(500, problem);
  http::response<http::string_body> res{static_cast<http::status>(r.status),
                                        version};
  res.set(http::field::server, "libdcos");
  if (!r.content_type.empty())
    res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers)
    res.insert(name, value);
  res.keep_alive(keep_alive);
  // RFC 7230 3.3.2: these carry neither a body nor Content-Length.
  if (r.status == 204 || r.status == 304)
    return res;
  res.content_length(r.body.size());
  if (!head)
    res.body() = std::move(r.body);
  return res;
}

void connection::read_header() {
  parser_.emplace();
  // A streamed request's body has no limit; the others' is checked once
  // the header is in (read_body).
  parser_->body_limit(no_body_limit);
  stream_.expires_after(idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, size_t) {
                            if (ec)
                              return self->on_read_error(ec);
                            const auto& head = self->parser_->get();
                            if (media_type_of(view(head[http::field::content_type]))
                                == "application/recordio")
                              return self->dispatch_streamed();
                            self->read_body();
                          });
}

void connection::read_body() {
  if (auto length = parser_->content_length(); length && *length > body_limit)
    return reject(413, "request body exceeds 16 MiB");
  parser_->body_limit(body_limit); // a chunked body's, as it comes
  auto on_body = [self = shared_from_this()](error_code ec, size_t) {
    if (ec)
      return self->on_read_error(ec);
    self->dispatch();
  };
  const auto& req = parser_->get();
  // Clients that ask (curl does for large bodies) wait for this before they
  // send the body.
  if (!parser_->is_done() && req.version() == 11
      && beast::iequals(req[http::field::expect], "100-continue")) {
    asio::async_write(stream_, asio::buffer(continue_response),
                      [self = shared_from_this(), on_body](error_code ec, size_t) {
                        if (ec)
                          return self->close();
                        http::async_read(self->stream_, self->buffer_,
                                         *self->parser_, on_body);
                      });
    return;
  }
  http::async_read(stream_, buffer_, *parser_, on_body);
}

void connection::on_read_error(error_code ec) {
  if (ec == http::error::body_limit)
    return reject(413, "request body exceeds 16 MiB");
  bool protocol_error =
    ec.category() == http::make_error_code(http::error::bad_target).category();
  // end_of_stream and partial_message: the client hung up, nobody to answer.
  if (protocol_error && ec != http::error::end_of_stream
      && ec != http::error::partial_message)
    return reject(400, fmt::format("malformed request: {}", ec.message()));
  close();
}

void connection::dispatch() {
  auto req = parser_->release();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  head_ = req.method() == http::verb::head;
  auto request = to_request(std::move(req));
  if (!request)
    return reject(400, describe_reason(request.error()));
  run_handler(std::move(*request));
}

void connection::dispatch_streamed() {
  version_ = parser_->get().version();
  keep_alive_ = false; // what follows the body is not looked for
  head_ = parser_->get().method() == http::verb::head;
  auto request = to_request(
    http::request<http::string_body>{parser_->get().base()});
  if (!request)
    return reject(400, describe_reason(request.error()));
  try {
    body_parser_.emplace(std::move(*parser_));
  } catch (const std::exception& e) {
    return reject(400, fmt::format("malformed request: {}", e.what()));
  }
  parser_.reset();
  body_parser_->body_limit(no_body_limit);
  body_piece_.resize(body_piece_size);
  // The client streams at its own pace (Mesos' clients send a heartbeat
  // every 30 s, but need not): its handler judges how long is too long.
  stream_.expires_never();
  request->body_stream
    = std::make_shared<body_stream_state>(weak_from_this(), state_);
  // Clients that ask (curl does for uploads of unknown size) wait for this
  // before they send the body; it goes out before the handler can answer,
  // so that two writes never overlap.
  const auto& head = body_parser_->get();
  if (head.version() == 11
      && beast::iequals(head[http::field::expect], "100-continue")) {
    asio::async_write(stream_, asio::buffer(continue_response),
                      [self = shared_from_this(),
                       req = std::move(*request)](error_code ec,
                                                  size_t) mutable {
                        if (ec)
                          return self->close();
                        self->run_handler(std::move(req));
                      });
    return;
  }
  run_handler(std::move(*request));
}

void connection::run_handler(http_request request) {
  auto slot = std::make_shared<reply_slot>(weak_from_this(), state_);
  http_responder respond = [slot](http_response r) { slot->deliver(std::move(r)); };
  try {
    state_->handler(std::move(request), respond);
  } catch (const std::exception& e) {
    log()->warn("handler failed: {}", e.what());
    respond(json_error(500, fmt::format("internal error: {}", e.what())));
  } catch (...) {
    log()->warn("handler failed with a non-standard exception");
    respond(json_error(500, "internal error"));
  }
}

void connection::read_body_piece(http_body_stream::reader f) {
  auto fail = [&f](std::string_view why) {
    f(make_error(errc::unavailable, std::string{why}));
  };
  if (!body_parser_ || answered_)
    return fail("the request has been answered: its body is not read");
  if (body_read_pending_)
    return fail("a read of the request's body is pending already");
  if (body_parser_->is_done())
    return f(std::string{});
  read_body_piece_now(std::move(f));
}

void connection::read_body_piece_now(http_body_stream::reader f) {
  auto& body = body_parser_->get().body();
  body.data = body_piece_.data();
  body.size = body_piece_.size();
  body_read_pending_ = true;
  // read_some: an interactive client's few bytes come through at once,
  // instead of waiting for a full piece.
  http::async_read_some(
    stream_, buffer_, *body_parser_,
    [self = shared_from_this(), f = std::move(f)](error_code ec,
                                                  size_t) mutable {
      auto& c = *self;
      c.body_read_pending_ = false;
      if (ec == http::error::need_buffer)
        ec = {};
      auto got = c.body_piece_.size() - c.body_parser_->get().body().size;
      if (c.after_body_read_) { // answered meanwhile
        auto next = std::move(c.after_body_read_);
        c.after_body_read_ = nullptr;
        f(make_error(errc::unavailable,
                     "the request has been answered: its body is not read"));
        return next();
      }
      if (ec) {
        bool gone = ec == http::error::end_of_stream
                    || ec == http::error::partial_message
                    || ec.category() != http::make_error_code(
                                          http::error::bad_target)
                                          .category();
        f(make_error(gone ? errc::unavailable : errc::parse_error,
                     gone ? std::string{"the client has gone"}
                          : fmt::format("malformed request body: {}",
                                        ec.message())));
        return;
      }
      if (got > 0)
        return f(std::string{c.body_piece_.data(), got});
      if (c.body_parser_->is_done())
        return f(std::string{});
      c.read_body_piece_now(std::move(f)); // a chunk's header, say
    });
}

template <class F>
void connection::after_body_read(F next) {
  answered_ = answered_ || body_parser_.has_value();
  if (!body_read_pending_)
    return next();
  after_body_read_ = std::move(next);
  // No write is pending here (both callers come from one's completion):
  // this ends the body read, which may wait forever for a silent client.
  error_code ignored;
  stream_.socket().cancel(ignored);
}

void connection::reject(unsigned status, std::string_view message) {
  keep_alive_ = false;
  head_ = false;
  write(json_error(status, message));
}

void connection::write(http_response response) {
  answered_ = answered_ || body_parser_.has_value();
  if (response.stream && check(response).empty())
    return start_stream(std::move(response));
  try {
    response_ = to_beast(std::move(response), version_, keep_alive_, head_);
  } catch (const std::exception& e) {
    response_ = to_beast(json_error(500, e.what()), version_, keep_alive_, head_);
  }
  stream_.expires_after(idle_timeout);
  http::async_write(stream_, response_,
                    [self = shared_from_this()](error_code ec, size_t) {
                      if (ec)
                        return self->close();
                      if (!self->keep_alive_)
                        return self->after_body_read([self] { self->linger(); });
                      self->read_header();
                    });
}

void connection::linger() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(linger_timeout);
  // Recursion through the completion handler, one read at a time.
  struct drain {
    std::shared_ptr<connection> self;
    void operator()(error_code ec, size_t) {
      if (ec)
        return self->close();
      auto& conn = *self;
      conn.buffer_.clear();
      conn.stream_.async_read_some(conn.buffer_.prepare(65536), std::move(*this));
    }
  };
  drain{shared_from_this()}({}, 0);
}

void connection::start_stream(http_response r) {
  keep_alive_ = false;
  stream_header_ = std::make_unique<http::response<http::empty_body>>(
    static_cast<http::status>(r.status), version_);
  auto& res = *stream_header_;
  res.set(http::field::server, "libdcos");
  if (!r.content_type.empty())
    res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers)
    res.insert(name, value);
  res.keep_alive(false);
  res.chunked(true);
  serializer_
    = std::make_unique<http::response_serializer<http::empty_body>>(res);
  stream_state_ = std::make_shared<stream_state>(weak_from_this(), state_);
  if (!r.body.empty()) {
    stream_state_->write(std::move(r.body));
  }
  // Events may be minutes apart: the stream's owner decides when it ends.
  stream_.expires_never();
  writing_ = true;
  http::async_write_header(
    stream_, *serializer_,
    [self = shared_from_this(), owner = std::move(r.stream)](error_code ec,
                                                             size_t) {
      self->writing_ = false;
      if (ec)
        return self->close();
      self->after_body_read([self] { self->watch_client(); });
      self->write_next_chunk();
      try {
        owner(self->stream_state_);
      } catch (const std::exception& e) {
        log()->warn("stream handler failed: {}", e.what());
        self->stream_end();
      }
    });
}

void connection::stream_write(std::string chunk) {
  if (!stream_state_ || ending_)
    return;
  chunks_.push_back(std::move(chunk));
  if (!writing_)
    write_next_chunk();
}

void connection::stream_end() {
  if (!stream_state_ || ending_)
    return;
  ending_ = true;
  if (!writing_)
    write_next_chunk();
}

void connection::write_next_chunk() {
  if (chunks_.empty()) {
    if (!ending_)
      return;
    writing_ = true;
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = shared_from_this()](error_code, size_t) {
                        self->writing_ = false;
                        self->after_body_read([self] { self->linger(); });
                      });
    return;
  }
  writing_ = true;
  asio::async_write(stream_, http::make_chunk(asio::buffer(chunks_.front())),
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      auto n = self->chunks_.front().size();
                      self->chunks_.pop_front();
                      self->stream_state_->written(n);
                      if (ec)
                        return self->close();
                      self->write_next_chunk();
                    });
}

// A streamed response reads nothing, but must learn when its client leaves.
void connection::watch_client() {
  stream_.socket().async_read_some(
    asio::buffer(discard_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec)
        return self->close();
      self->watch_client();
    });
}

void connection::end_stream_state() noexcept {
  if (stream_state_)
    stream_state_->closed();
}

void connection::close() {
  stream_.close();
  end_stream_state();
  after_body_read_ = nullptr; // it holds the connection
  std::lock_guard guard{state_->mutex};
  state_->connections.erase(this);
}

} // namespace

std::string http_request::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string{} : it->second;
}


bool http_request::content_type_is(std::string_view type) const {
  return media_type_of(header("content-type")) == lower(type);
}

bool http_request::accepts(std::string_view type) const {
  auto accept = header("accept");
  if (trim(accept).empty())
    return true;
  auto wanted = lower(type);
  auto any_subtype = wanted.substr(0, wanted.find('/')) + "/*";
  std::string_view rest = accept;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    double q = 1;
    auto entry = media_type_of(rest.substr(0, comma), &q);
    if (q > 0 && (entry == wanted || entry == "*/*" || entry == any_subtype))
      return true;
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

http_response json_error(unsigned status, std::string_view message) {
  http_response response;
  response.status = status;
  response.body = "{\"error\":";
  append_json_string(response.body, message);
  response.body += '}';
  return response;
}

struct http_server::impl {
  impl(size_t threads, http_handler handler)
    : ioc(static_cast<int>(threads)),
      acceptor(ioc),
      retry(ioc),
      state(std::make_shared<server_state>(std::move(handler))) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc),
                          [this](error_code ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted)
      return;
    if (ec) {
      // Typically EMFILE: retrying at once would spin on the listening socket.
      log()->warn("accept failed: {}", ec.message());
      retry.expires_after(accept_retry_delay);
      retry.async_wait([this](error_code wait_ec) {
        if (!wait_ec)
          accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<connection>(std::move(socket), state);
    {
      std::lock_guard guard{state->mutex};
      state->connections.emplace(conn.get(), conn);
    }
    conn->start();
    accept();
  }

  void run() noexcept {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log()->error("I/O thread caught: {}", e.what());
      } catch (...) {
        log()->error("I/O thread caught a non-standard exception");
      }
    }
  }

  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::shared_ptr<server_state> state;
  std::vector<std::thread> threads;
  std::mutex stop_mutex;
  uint16_t port = 0;
};

http_server::http_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

http_server::~http_server() {
  stop();
}

caf::expected<std::unique_ptr<http_server>>
http_server::start(const std::string& ip, uint16_t port, http_handler handler,
                   size_t threads) {
  if (threads == 0)
    return make_error(errc::invalid_argument, "http_server: threads is 0");
  if (!handler)
    return make_error(errc::invalid_argument, "http_server: no handler");
  error_code ec;
  auto address = asio::ip::make_address(ip, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      fmt::format("http_server: '{}' is not an IP address", ip));
  try {
    std::unique_ptr<http_server> server{
      new http_server(std::make_unique<impl>(threads, std::move(handler)))};
    auto& st = *server->impl_;
    tcp::endpoint endpoint{address, port};
    st.acceptor.open(endpoint.protocol(), ec);
    if (!ec)
      st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
      st.acceptor.bind(endpoint, ec);
    if (!ec)
      st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec)
      st.port = st.acceptor.local_endpoint(ec).port();
    if (ec)
      return make_error(errc::io_error,
                        fmt::format("http_server: cannot listen on {} port {}: {}",
                                    ip, port, ec.message()));
    st.accept();
    for (size_t i = 0; i < threads; ++i)
      st.threads.emplace_back([&st] { st.run(); });
    return server;
  } catch (const std::exception& e) {
    // Thread creation, or allocation, failed; `server` has stopped whatever
    // had begun.
    return make_error(errc::io_error, fmt::format("http_server: {}", e.what()));
  }
}

uint16_t http_server::port() const noexcept {
  return impl_->port;
}

void http_server::stop() {
  std::lock_guard stopping{impl_->stop_mutex};
  {
    std::lock_guard guard{impl_->state->mutex};
    impl_->state->open = false;
  }
  impl_->ioc.stop();
  for (auto& thread : impl_->threads)
    thread.join();
  impl_->threads.clear();
  error_code ignored;
  impl_->acceptor.close(ignored);
  std::unordered_map<const connection*, std::shared_ptr<connection>> connections;
  {
    std::lock_guard guard{impl_->state->mutex};
    connections.swap(impl_->state->connections);
  }
  for (auto& entry : connections)
    entry.second->abort();
}

http_response error_response(const caf::error& err) {
  unsigned status = 500;
  switch (code_of(err)) {
    case errc::invalid_argument:
    case errc::parse_error:
      status = 400;
      break;
    case errc::not_found:
      status = 404;
      break;
    case errc::conflict:
      status = 409;
      break;
    case errc::unavailable:
      status = 503;
      break;
    default:
      if (err == caf::sec::request_timeout)
        status = 503;
  }
  return json_error(status, code_of(err) != static_cast<errc>(0)
                              ? describe_reason(err)
                              : caf::to_string(err));
}

} // namespace dcos
