#include "session_pump.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "dcos/api_encoding.hpp"
#include "dcos/error.hpp"
#include "dcos/recordio.hpp"
#include "dcos/v1/agent_api.pb.h"

namespace dcos::kernel {

namespace {

constexpr size_t read_size = 64 * 1024;

// epoll's data: the session's key and which pipe (0 stdout, 1 stderr); 0
// is the wake-up eventfd.
uint64_t tag(uint64_t key, int which) {
  return key << 1 | static_cast<uint64_t>(which);
}

} // namespace

struct session_pump::session {
  uint64_t key = 0;
  container_io_ptr io;
  std::shared_ptr<http_stream> out;
  bool protobuf = false;
  std::function<void()> client_left;
  bool open[2] = {true, true}; // stdout, stderr not at EOF yet
  bool throttled = false;

  int fd(int which) const { return which == 0 ? io->out() : io->err(); }
};

struct session_pump::inbox {
  std::mutex mtx;
  bool stopping = false;
  std::vector<std::shared_ptr<session>> added;
  std::vector<uint64_t> closed;
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
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    inbox_->stopping = true;
  }
  inbox_->wake();
  thread_.join();
  std::vector<std::shared_ptr<session>> added;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    added.swap(inbox_->added);
  }
  for (auto& [key, s] : sessions_)
    added.push_back(s);
  for (auto& s : added) {
    s->out->on_close({});
    s->out->close();
  }
  ::close(epoll_fd_);
}

void session_pump::add(container_io_ptr io, std::shared_ptr<http_stream> out,
                       bool protobuf, std::function<void()> client_left) {
  auto s = std::make_shared<session>();
  s->io = std::move(io);
  s->out = out;
  s->protobuf = protobuf;
  s->client_left = std::move(client_left);
  bool stopping;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    stopping = inbox_->stopping;
    if (!stopping) {
      s->key = inbox_->next_key++;
      inbox_->added.push_back(s);
    }
  }
  if (stopping) { // the agent is going, and the session with it
    out->close();
    return;
  }
  // Called at once if the client has left already.
  out->on_close([in = inbox_, key = s->key] {
    {
      std::lock_guard<std::mutex> guard{in->mtx};
      in->closed.push_back(key);
    }
    in->wake();
  });
  inbox_->wake();
}

void session_pump::run() {
  std::vector<epoll_event> events(64);
  while (true) {
    bool throttled = false;
    for (auto& [key, s] : sessions_)
      throttled = throttled || s->throttled;
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
      pump(data >> 1, static_cast<int>(data & 1));
    }
    adopt_new();
    drop_closed();
    for (auto& [key, s] : sessions_)
      if (s->throttled && s->out->queued_bytes() <= max_queued_bytes / 2)
        throttle(*s, false);
  }
}

void session_pump::adopt_new() {
  std::vector<std::shared_ptr<session>> added;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    added.swap(inbox_->added);
  }
  for (auto& s : added) {
    sessions_.emplace(s->key, s);
    for (int which : {0, 1})
      ::fcntl(s->fd(which), F_SETFL,
              ::fcntl(s->fd(which), F_GETFL) | O_NONBLOCK);
    throttle(*s, false);
  }
}

void session_pump::drop_closed() {
  std::vector<uint64_t> closed;
  {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    closed.swap(inbox_->closed);
  }
  for (auto key : closed)
    end(key, true); // nothing if the session ended first
}

// Watches (on = false) or leaves unread (on = true) the session's pipes
// that have not ended.
void session_pump::throttle(session& s, bool on) {
  s.throttled = on;
  for (int which : {0, 1}) {
    if (!s.open[which])
      continue;
    if (on) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd(which), nullptr);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(s.key, which);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd(which), &ev);
  }
}

void session_pump::pump(uint64_t key, int which) {
  auto i = sessions_.find(key);
  if (i == sessions_.end() || i->second->throttled)
    return;
  auto& s = *i->second;
  if (s.out->queued_bytes() > max_queued_bytes) {
    throttle(s, true);
    return;
  }
  char buf[read_size];
  auto n = ::read(s.fd(which), buf, sizeof(buf));
  if (n > 0) {
    v1::agent::ProcessIO io;
    io.set_type(v1::agent::ProcessIO::DATA);
    auto& data = *io.mutable_data();
    data.set_type(which == 0 ? v1::agent::ProcessIO::Data::STDOUT
                             : v1::agent::ProcessIO::Data::STDERR);
    data.set_data(buf, static_cast<size_t>(n));
    if (!s.out->write(recordio::encode(encode_answer(io, s.protobuf))))
      end(key, true);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  // The end of this pipe: the session closed it, or ended.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd(which), nullptr);
  s.open[which] = false;
  if (!s.open[0] && !s.open[1])
    end(key, false);
}

void session_pump::end(uint64_t key, bool client_left) {
  auto i = sessions_.find(key);
  if (i == sessions_.end())
    return;
  auto s = i->second;
  sessions_.erase(i);
  for (int which : {0, 1})
    if (s->open[which] && !s->throttled)
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s->fd(which), nullptr);
  if (client_left) {
    s->client_left();
  } else {
    s->out->on_close({});
    s->out->close(); // after what is queued
  }
}

} // namespace dcos::kernel
