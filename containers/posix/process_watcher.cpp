#include "process_watcher.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "files.hpp"

namespace dcos::posix {

namespace {

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

} // namespace

process_watcher::process_watcher(callback on_exit)
  : on_exit_(std::move(on_exit)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = ~uint64_t{0}; // the stop signal
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  thread_ = std::thread{[this] { run(); }};
}

process_watcher::~process_watcher() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof(one));
  thread_.join();
  ::close(stop_fd_);
  ::close(epoll_fd_);
}

caf::error process_watcher::watch(pid_t pid) {
  int fd = pidfd_open(pid);
  if (fd < 0)
    return make_error(errc::not_found,
                      fmt::format("process {}: {}", pid, std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32)
                | static_cast<uint32_t>(pid);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    auto err = errno;
    ::close(fd);
    return make_error(errc::io_error, fmt::format("epoll_ctl: {}",
                                                  std::strerror(err)));
  }
  return {};
}

void process_watcher::run() {
  epoll_event events[64];
  while (true) {
    int n = ::epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return;
    for (int i = 0; i < n; ++i) {
      auto data = events[i].data.u64;
      if (data == ~uint64_t{0})
        return;
      int fd = static_cast<int>(data >> 32);
      auto pid = static_cast<pid_t>(data & 0xffffffffu);
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      std::optional<int> status;
      int raw = 0;
      if (::waitpid(pid, &raw, WNOHANG) == pid)
        status = raw; // our child: reaped here
      on_exit_(pid, status);
    }
  }
}

bool runs_program(pid_t pid, const std::string& program) {
  auto cmdline = read_file_or_empty(fmt::format("/proc/{}/cmdline", pid));
  auto first = cmdline.substr(0, cmdline.find('\0'));
  auto base = [](const std::string& p) { return p.substr(p.rfind('/') + 1); };
  return !first.empty() && base(first) == base(program);
}

} // namespace dcos::posix
