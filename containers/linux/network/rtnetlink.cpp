#include "linux/network/rtnetlink.hpp"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "linux/network/command.hpp"
#include "linux/network/errors.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation::net {

namespace {

// The kernel's own explanation of a failure (extended ack), if it gave one.
std::string extack_message(const nlmsghdr* header) {
  if ((header->nlmsg_flags & NLM_F_ACK_TLVS) == 0)
    return {};
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
  size_t payload = sizeof(nlmsgerr);
  if ((header->nlmsg_flags & NLM_F_CAPPED) == 0)
    payload += err->msg.nlmsg_len - NLMSG_HDRLEN;
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(payload);
  const auto* base = reinterpret_cast<const char*>(header);
  while (offset + sizeof(rtattr) <= header->nlmsg_len) {
    const auto* attr = reinterpret_cast<const rtattr*>(base + offset);
    if (attr->rta_len < sizeof(rtattr)
        || offset + attr->rta_len > header->nlmsg_len)
      break;
    if (attr->rta_type == NLMSGERR_ATTR_MSG) {
      std::string text{static_cast<const char*>(RTA_DATA(attr)),
                       attr->rta_len - RTA_LENGTH(0)};
      return text.substr(0, text.find('\0'));
    }
    offset += RTA_ALIGN(attr->rta_len);
  }
  return {};
}

} // namespace

bool is_link(const std::string& name) {
  std::error_code ec;
  return fs::exists("/sys/class/net/" + name, ec);
}

bool is_bridge(const std::string& name) {
  std::error_code ec;
  return fs::exists("/sys/class/net/" + name + "/bridge", ec);
}

file_descriptor::~file_descriptor() {
  if (fd_ >= 0)
    ::close(fd_);
}

// -- netlink_request ----------------------------------------------------------

void netlink_request::put(uint16_t type, const void* data, size_t size) {
  rtattr attr{};
  attr.rta_type = type;
  attr.rta_len = static_cast<uint16_t>(RTA_LENGTH(size));
  append(&attr, sizeof(attr));
  append(data, size);
}

void netlink_request::put_ipv4(uint16_t type, uint32_t addr) {
  put_u32(type, htonl(addr));
}

size_t netlink_request::begin_nested(uint16_t type) {
  auto at = bytes_.size();
  put(type, nullptr, 0);
  return at;
}

void netlink_request::end_nested(size_t at) {
  auto size = static_cast<uint16_t>(bytes_.size() - at);
  std::memcpy(bytes_.data() + at + offsetof(rtattr, rta_len), &size,
              sizeof(size));
}

const std::string& netlink_request::finish(uint32_t seq) {
  auto* header = reinterpret_cast<nlmsghdr*>(bytes_.data());
  header->nlmsg_len = static_cast<uint32_t>(bytes_.size());
  header->nlmsg_seq = seq;
  return bytes_;
}

void netlink_request::append(const void* data, size_t size) {
  if (size > 0)
    bytes_.append(static_cast<const char*>(data), size);
  bytes_.resize(NLMSG_ALIGN(bytes_.size()), '\0');
}

// -- rtnetlink ----------------------------------------------------------------

struct rtnetlink::socket_in_netns {
  int netns_fd;
  int fd;
  int error;

  static int run(void* arg) {
    auto* job = static_cast<socket_in_netns*>(arg);
    if (::setns(job->netns_fd, CLONE_NEWNET) != 0) {
      job->error = errno;
      return 1;
    }
    job->fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (job->fd < 0)
      job->error = errno;
    return 0;
  }
};

caf::expected<rtnetlink> rtnetlink::open() {
  return configure(file_descriptor{
    ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)});
}

// Only a task inside a namespace can create a socket there, and setns()
// would move the calling thread. So a child task that shares our memory and
// file table (a vfork, as posix_spawn makes) joins the namespace, creates
// the socket in our table and exits, running nothing but system calls.
caf::expected<rtnetlink> rtnetlink::open_in(int netns_fd) {
  constexpr size_t stack_size = 64 * 1024;
  std::unique_ptr<char[]> stack{new char[stack_size]};
  socket_in_netns job{netns_fd, -1, 0};
  // Signal handlers must not run in the child, on our memory.
  sigset_t all;
  sigset_t old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  // No exit signal: only a wait with __WALL reaps it, so that reapers of
  // other children (waitpid(-1)) cannot take it from us.
  pid_t pid = ::clone(&socket_in_netns::run, stack.get() + stack_size,
                      CLONE_VM | CLONE_VFORK | CLONE_FILES, &job);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0)
    return os_error("cannot start a task to join a network namespace",
                    clone_errno);
  while (::waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  if (job.fd < 0)
    return os_error("cannot open a netlink socket in the container's "
                    "network namespace",
                    job.error);
  return configure(file_descriptor{job.fd});
}

int rtnetlink::request(netlink_request& message, std::string* why,
                       std::string* reply) {
  auto seq = ++seq_;
  const auto& bytes = message.finish(seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
               reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel))
      != static_cast<ssize_t>(bytes.size()))
    return errno;
  for (;;) {
    auto n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return ETIMEDOUT; // no answer within command_timeout
    if (n < 0)
      return errno;
    auto left = static_cast<int>(n);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer_.data());
         NLMSG_OK(header, left); header = NLMSG_NEXT(header, left)) {
      if (header->nlmsg_seq != seq)
        continue;
      if (header->nlmsg_type != NLMSG_ERROR) {
        if (reply)
          reply->assign(reinterpret_cast<const char*>(header),
                        header->nlmsg_len);
        continue;
      }
      *why = extack_message(header);
      return -static_cast<const nlmsgerr*>(NLMSG_DATA(header))->error;
    }
  }
}

caf::error rtnetlink::transact(netlink_request& message,
                               const std::string& command,
                               std::string* reply) {
  std::string why;
  if (int code = request(message, &why, reply))
    return failed(command, code, why);
  return {};
}

caf::error rtnetlink::failed(const std::string& command, int code,
                             const std::string& why) {
  return make_error(errc::io_error,
                    fmt::format("`{}` failed: {}{}", command,
                                std::strerror(code),
                                why.empty() ? "" : " (" + why + ")"));
}

// Asks for the kernel's explanations of failures (extended acks) without
// the failed request echoed back, and bounds the wait for an answer.
caf::expected<rtnetlink> rtnetlink::configure(file_descriptor fd) {
  if (fd.get() < 0)
    return os_error("cannot open a netlink socket", errno);
  int on = 1;
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
  timeval timeout{command_timeout.count(), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return rtnetlink{std::move(fd)};
}

ifinfomsg link_message(bool up) {
  ifinfomsg link{};
  link.ifi_family = AF_UNSPEC;
  link.ifi_flags = up ? IFF_UP : 0;
  link.ifi_change = up ? IFF_UP : 0;
  return link;
}

} // namespace dcos::isolation::net
