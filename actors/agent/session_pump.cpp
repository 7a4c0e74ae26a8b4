#include "session_pump.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "dcos/api_encoding.hpp"
#include "dcos/error.hpp"
#include "dcos/recordio.hpp"
#include "dcos/v1/agent_api.pb.h"

namespace dcos::kernel {

namespace {

constexpr size_t read_size = 64 * 1024;
constexpr int stdout_pipe = 0;
constexpr int stderr_pipe = 1;
constexpr int stdin_pipe = 2;

// epoll's data: the session's key and which pipe; 0 is the wake-up eventfd
// (keys start at 1).
uint64_t tag(uint64_t key, int which) {
  return key << 2 | static_cast<uint64_t>(which);
}

// A piece of stdin, its end (`eof`), or a new size for its terminal.
struct input_op {
  uint64_t key = 0;
  std::string bytes;
  bool eof = false;
  std::optional<std::pair<uint16_t, uint16_t>> window; // rows, columns
  session_input::done_handler done;
};

struct output_op {
  uint64_t key = 0;
  std::shared_ptr<http_stream> out;
  bool protobuf = false;
  std::function<void()> client_left; // set: the launching client
};

caf::error not_a_session(const std::string& id) {
  return make_error(errc::not_found,
                    fmt::format("container '{}' is not a debug session "
                                "(LAUNCH_NESTED_CONTAINER_SESSION) running on "
                                "this agent",
                                id));
}

// The character that a terminal's reader takes as the end of its input.
cc_t eof_character(int master) {
  termios t{};
  if (::tcgetattr(master, &t) != 0 || t.c_cc[VEOF] == _POSIX_VDISABLE)
    return 4; // ^D
  return t.c_cc[VEOF];
}

// True if a terminal whose input ended with `last` holds an unfinished line
// (its reader is in canonical mode, and `last` neither ended the line nor
// discarded it), which one EOF character would only hand over.
bool leaves_line(int master, char last) {
  termios t{};
  if (::tcgetattr(master, &t) != 0 || (t.c_lflag & ICANON) == 0)
    return false;
  auto c = static_cast<cc_t>(last);
  if (last == '\n' || (last == '\r' && (t.c_iflag & ICRNL) != 0))
    return false;
  for (int ends : {VEOF, VEOL, VEOL2, VKILL})
    if (c == t.c_cc[ends])
      return false;
  if ((t.c_lflag & ISIG) != 0)
    for (int signals : {VINTR, VQUIT, VSUSP})
      if (c == t.c_cc[signals])
        return false;
  return true;
}

} // namespace

struct session_pump::session {
  uint64_t key = 0;
  std::string id;
  container_io_ptr io;
  // The launching client (null until served), and those attached later.
  std::shared_ptr<http_stream> out;
  bool protobuf = false;
  std::function<void()> client_left;
  std::vector<output_op> listeners;
  bool open[2] = {true, true}; // stdout, stderr not at EOF yet
  bool throttled = true;       // until served
  // Bytes for stdin, the front one partly written up to `input_offset`.
  std::deque<input_op> input;
  size_t input_offset = 0;
  bool input_open = true;
  bool input_watched = false;
  bool line_open = false; // a terminal's input ends amid a line

  int fd(int which) const {
    return which == stdout_pipe ? io->out()
                                : which == stderr_pipe ? io->err() : io->in();
  }
};

struct session_pump::inbox {
  mutable std::mutex mtx;
  bool stopping = false;
  std::vector<std::shared_ptr<session>> added;
  std::vector<output_op> outputs;
  std::vector<input_op> inputs;
  std::vector<uint64_t> closed; // launching clients that left
  std::map<std::string, uint64_t> ids; // sessions by container id
  std::set<uint64_t> terminals;        // the sessions at a terminal
  // The sessions whose stdin a client holds, and what tells it their end.
  std::map<uint64_t, std::function<void()>> inputs_held;
  uint64_t next_key = 1;
  int wake_fd = -1;

  ~inbox() {
    if (wake_fd >= 0)
      ::close(wake_fd);
  }
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof(one));
  }
};

caf::expected<std::unique_ptr<session_pump>> session_pump::start() {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return make_error(errc::io_error,
                      fmt::format("epoll_create1: {}", std::strerror(errno)));
  auto in = std::make_shared<inbox>();
  in->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (in->wake_fd < 0
      || ::epoll_ctl(ep, EPOLL_CTL_ADD, in->wake_fd, &ev) != 0) {
    auto err = make_error(errc::io_error, fmt::format("eventfd: {}",
                                                      std::strerror(errno)));
    ::close(ep);
    return err;
  }
  return std::unique_ptr<session_pump>(new session_pump(ep, std::move(in)));
}

session_pump::session_pump(int epoll_fd, std::shared_ptr<inbox> in)
  : epoll_fd_(epoll_fd), inbox_(std::move(in)) {
  thread_ = std::thread([this] { run(); });
}

session_pump::~session_pump() {
  stop();
}

void session_pump::stop() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    inbox_->stopping = true;
  }
  inbox_->wake();
  thread_.join();
  take_inbox(); // closes what came too late, fails queued input
  for (auto& [key, s] : sessions_) {
    for (auto& op : s->input)
      op.done(false);
    for (auto& l : s->listeners)
      l.out->close();
    if (s->out) {
      s->out->on_close({});
      s->out->close();
    }
  }
  sessions_.clear();
  ::close(epoll_fd_);
}

uint64_t session_pump::add(std::string id, container_io_ptr io) {
  auto s = std::make_shared<session>();
  s->id = std::move(id);
  s->io = std::move(io);
  s->open[stderr_pipe] = s->io->err() >= 0; // a terminal has no stderr
  std::lock_guard<std::mutex> guard{inbox_->mtx};
  s->key = inbox_->next_key++;
  // A session of the same id may linger (a child of it keeps its output
  // open after it ended, and the agent let the id be used again): the new
  // one is the one to attach to.
  inbox_->ids[s->id] = s->key;
  if (s->io->tty())
    inbox_->terminals.insert(s->key);
  inbox_->added.push_back(s);
  // No wake-up: nothing is read before serve().
  return s->key;
}

void session_pump::serve(uint64_t key, std::shared_ptr<http_stream> out,
                         bool protobuf, std::function<void()> client_left) {
  bool stopped;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    stopped = inbox_->stopping;
    if (!stopped)
      inbox_->outputs.push_back({key, out, protobuf, std::move(client_left)});
  }
  if (stopped) { // the agent is going, and the session with it
    out->close();
    return;
  }
  // Called at once if the client has left already.
  out->on_close([in = inbox_, key] {
    {
      std::lock_guard<std::mutex> guard{in->mtx};
      in->closed.push_back(key);
    }
    in->wake();
  });
  inbox_->wake();
}

caf::error session_pump::find(const std::string& id) const {
  std::lock_guard<std::mutex> guard{inbox_->mtx};
  if (inbox_->ids.count(id) > 0)
    return {};
  return not_a_session(id);
}

void session_pump::attach_output(const std::string& id,
                                 std::shared_ptr<http_stream> out,
                                 bool protobuf) {
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    auto i = inbox_->ids.find(id);
    if (i != inbox_->ids.end() && !inbox_->stopping) {
      inbox_->outputs.push_back({i->second, std::move(out), protobuf, {}});
      out = nullptr;
    }
  }
  if (out) {
    out->close(); // the session has ended
    return;
  }
  inbox_->wake();
}

caf::expected<std::unique_ptr<session_input>>
session_pump::attach_input(const std::string& id, std::function<void()> ended) {
  std::lock_guard<std::mutex> guard{inbox_->mtx};
  auto i = inbox_->ids.find(id);
  if (i == inbox_->ids.end())
    return not_a_session(id);
  if (!inbox_->inputs_held.emplace(i->second, std::move(ended)).second)
    return make_error(errc::conflict,
                      fmt::format("container '{}' has an input attached "
                                  "already: one at a time",
                                  id));
  bool terminal = inbox_->terminals.count(i->second) > 0;
  return std::unique_ptr<session_input>(
    new session_input(inbox_, i->second, terminal));
}

session_input::~session_input() {
  std::lock_guard<std::mutex> guard{inbox_->mtx};
  inbox_->inputs_held.erase(key_);
}

void session_input::write(std::string bytes, done_handler done) {
  queue(std::move(bytes), false, std::move(done));
}

void session_input::close(done_handler done) {
  queue({}, true, std::move(done));
}

void session_input::resize(uint16_t rows, uint16_t columns,
                           done_handler done) {
  queue({}, false, std::move(done), std::pair{rows, columns});
}

void session_input::queue(
  std::string bytes, bool eof, done_handler done,
  std::optional<std::pair<uint16_t, uint16_t>> window) {
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    if (!inbox_->stopping) {
      inbox_->inputs.push_back(
        {key_, std::move(bytes), eof, window, std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done(false);
    return;
  }
  inbox_->wake();
}

void session_pump::run() {
  std::vector<epoll_event> events(64);
  while (true) {
    bool throttled = false;
    for (auto& [key, s] : sessions_)
      throttled = throttled || (s->out && s->throttled);
    // A throttled session is looked at again soon: its client drains.
    int n = ::epoll_wait(epoll_fd_, events.data(),
                         static_cast<int>(events.size()),
                         throttled ? 20 : -1);
    {
      std::lock_guard<std::mutex> guard{inbox_->mtx};
      if (inbox_->stopping)
        return;
    }
    for (int i = 0; i < n; ++i) {
      auto data = events[static_cast<size_t>(i)].data.u64;
      if (data == 0) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(inbox_->wake_fd, &count,
                                         sizeof(count));
        continue;
      }
      pump(data >> 2, static_cast<int>(data & 3));
    }
    take_inbox();
    for (auto& [key, s] : sessions_)
      if (s->out && s->throttled
          && s->out->queued_bytes() <= max_queued_bytes / 2)
        throttle(*s, false);
  }
}

void session_pump::take_inbox() {
  std::vector<std::shared_ptr<session>> added;
  std::vector<output_op> outputs;
  std::vector<input_op> inputs;
  std::vector<uint64_t> closed;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    added.swap(inbox_->added);
    outputs.swap(inbox_->outputs);
    inputs.swap(inbox_->inputs);
    closed.swap(inbox_->closed);
  }
  for (auto& s : added) {
    sessions_.emplace(s->key, s);
    for (int which : {stdout_pipe, stderr_pipe, stdin_pipe})
      if (s->fd(which) >= 0)
        ::fcntl(s->fd(which), F_SETFL,
                ::fcntl(s->fd(which), F_GETFL) | O_NONBLOCK);
  }
  for (auto& op : outputs) {
    auto i = sessions_.find(op.key);
    if (i == sessions_.end()) { // it ended (or the pump stops)
      op.out->on_close({});
      op.out->close();
      continue;
    }
    auto& s = *i->second;
    if (!op.client_left) {
      s.listeners.push_back(std::move(op));
      continue;
    }
    s.out = std::move(op.out);
    s.protobuf = op.protobuf;
    s.client_left = std::move(op.client_left);
    throttle(s, false);
  }
  for (auto& op : inputs) {
    auto i = sessions_.find(op.key);
    if (i == sessions_.end() || !i->second->input_open) {
      op.done(false);
      continue;
    }
    i->second->input.push_back(std::move(op));
  }
  for (auto& [key, s] : sessions_)
    if (!s->input.empty() && !s->input_watched)
      flush_input(*s);
  for (auto key : closed)
    end(key, true); // nothing if the session ended first
}

// Watches (on = false) or leaves unread (on = true) the session's output
// pipes that have not ended.
void session_pump::throttle(session& s, bool on) {
  if (s.throttled == on)
    return;
  s.throttled = on;
  for (int which : {stdout_pipe, stderr_pipe})
    if (s.open[which])
      watch(s, which, !on);
}

void session_pump::watch_input(session& s, bool on) {
  if (s.input_watched == on)
    return;
  s.input_watched = on;
  watch(s, stdin_pipe, on);
}

// Starts (on) or stops epoll's watch of one of the session's descriptors:
// readable for the output, writable for stdin.
void session_pump::watch(const session& s, int which, bool on) {
  if (!on) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd(which), nullptr);
    return;
  }
  epoll_event ev{};
  ev.events = which == stdin_pipe ? EPOLLOUT : EPOLLIN;
  ev.data.u64 = tag(s.key, which);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd(which), &ev);
}

// Writes what stdin takes without blocking; the rest waits for EPOLLOUT.
void session_pump::flush_input(session& s) {
  while (!s.input.empty() && s.input_open) {
    auto& op = s.input.front();
    if (op.window) {
      // Best effort, as at a terminal: a size the kernel refuses changes
      // nothing.
      s.io->resize(op.window->first, op.window->second);
    } else if (op.eof && s.io->tty()) {
      // A terminal stays open for the output: its EOF character is the end
      // of the input for a reader (and a shell's exit). Amid a line, the
      // first one only hands the line over, so it is typed twice.
      op.eof = false;
      op.bytes.assign(s.line_open ? 2 : 1,
                      static_cast<char>(eof_character(s.io->in())));
      continue;
    } else if (op.eof) {
      watch_input(s, false); // before its descriptor goes
      s.io->close_in();
      s.input_open = false;
    } else {
      auto n = ::write(s.fd(stdin_pipe), op.bytes.data() + s.input_offset,
                       op.bytes.size() - s.input_offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN) {
        watch_input(s, true);
        return;
      }
      if (n < 0) { // EPIPE: nobody reads the session's stdin any more
        watch_input(s, false);
        s.io->close_in();
        s.input_open = false;
        break;
      }
      s.input_offset += static_cast<size_t>(n);
      if (s.io->tty())
        s.line_open = leaves_line(s.io->in(), op.bytes[s.input_offset - 1]);
      if (s.input_offset < op.bytes.size())
        continue;
    }
    s.input_offset = 0;
    auto done = std::move(op.done);
    s.input.pop_front();
    done(true);
  }
  if (s.input.empty() || !s.input_open)
    watch_input(s, false);
  while (!s.input.empty()) { // stdin closed under them
    auto done = std::move(s.input.front().done);
    s.input.pop_front();
    s.input_offset = 0;
    done(false);
  }
}

void session_pump::pump(uint64_t key, int which) {
  auto i = sessions_.find(key);
  if (i == sessions_.end())
    return;
  auto& s = *i->second;
  if (which == stdin_pipe) {
    flush_input(s);
    return;
  }
  if (s.throttled)
    return;
  if (s.out->queued_bytes() > max_queued_bytes) {
    throttle(s, true);
    return;
  }
  char buf[read_size];
  auto n = ::read(s.fd(which), buf, sizeof(buf));
  if (n > 0) {
    send(s, key, which, std::string_view{buf, static_cast<size_t>(n)});
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  // The end of this pipe: the session closed it, or ended (a terminal's
  // master reads EIO once no process has it open any more).
  watch(s, which, false);
  s.open[which] = false;
  if (!s.open[stdout_pipe] && !s.open[stderr_pipe])
    end(key, false);
}

// One DATA record to every client of the session's output.
void session_pump::send(session& s, uint64_t key, int which,
                        std::string_view bytes) {
  v1::agent::ProcessIO io;
  io.set_type(v1::agent::ProcessIO::DATA);
  auto& data = *io.mutable_data();
  data.set_type(which == stdout_pipe ? v1::agent::ProcessIO::Data::STDOUT
                                     : v1::agent::ProcessIO::Data::STDERR);
  data.set_data(bytes.data(), bytes.size());
  std::string record[2]; // JSON, protobuf: encoded once each
  auto encoded = [&](bool protobuf) -> std::string {
    auto& r = record[protobuf ? 1 : 0];
    if (r.empty())
      r = recordio::encode(encode_answer(io, protobuf));
    return r;
  };
  for (auto l = s.listeners.begin(); l != s.listeners.end();)
    if (l->out->write(encoded(l->protobuf)))
      ++l;
    else
      l = s.listeners.erase(l); // it left, or fell too far behind
  if (!s.out->write(encoded(s.protobuf)))
    end(key, true);
}

void session_pump::end(uint64_t key, bool client_left) {
  auto i = sessions_.find(key);
  if (i == sessions_.end())
    return;
  auto s = i->second;
  sessions_.erase(i);
  std::function<void()> tell_holder;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    if (auto named = inbox_->ids.find(s->id);
        named != inbox_->ids.end() && named->second == key)
      inbox_->ids.erase(named);
    inbox_->terminals.erase(key);
    if (auto held = inbox_->inputs_held.find(key);
        held != inbox_->inputs_held.end()) {
      tell_holder = std::move(held->second);
      inbox_->inputs_held.erase(held);
    }
  }
  if (tell_holder)
    tell_holder();
  for (int which : {stdout_pipe, stderr_pipe})
    if (s->open[which] && !s->throttled)
      watch(*s, which, false);
  watch_input(*s, false);
  s->input_open = false;
  for (auto& op : s->input)
    op.done(false);
  s->input.clear();
  for (auto& l : s->listeners)
    l.out->close(); // after what is queued
  if (client_left) {
    s->client_left();
  } else if (s->out) {
    s->out->on_close({});
    s->out->close(); // after what is queued
  }
}

} // namespace dcos::kernel
