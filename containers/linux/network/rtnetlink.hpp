// A small rtnetlink (NETLINK_ROUTE) client: links, addresses and routes are
// made with rtnetlink requests rather than one `ip` process each: a process
// costs milliseconds, a request microseconds. Each request is named in
// errors by the `ip` command that does the same, for operators to retry or
// inspect by hand.
//
// Thread-safety: one rtnetlink per thread; requests block until the kernel
// answers, at most command_timeout (command.hpp).
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace dcos::isolation::net {

/// Whether the host has a link (interface) named `name`.
bool is_link(const std::string& name);

/// Whether the host's link `name` is a bridge.
bool is_bridge(const std::string& name);

/// Owns a file descriptor: closes it when destroyed. -1 holds none.
class file_descriptor {
public:
  explicit file_descriptor(int fd = -1) noexcept : fd_(fd) {}
  file_descriptor(file_descriptor&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  file_descriptor& operator=(file_descriptor&&) = delete;
  ~file_descriptor();

  int get() const noexcept { return fd_; }

private:
  int fd_;
};

/// One request: a netlink header, the request's fixed part, then attributes
/// (nested ones hold more attributes, or a fixed part and attributes). The
/// kernel acknowledges every request (NLM_F_ACK).
class netlink_request {
public:
  /// A request of `type` (RTM_NEWLINK, ...) with `flags` besides
  /// NLM_F_REQUEST and NLM_F_ACK, whose fixed part is `fixed` (ifinfomsg,
  /// ifaddrmsg, rtmsg).
  template <class Fixed>
  netlink_request(uint16_t type, uint16_t flags, const Fixed& fixed) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    append(&header, sizeof(header));
    put_fixed(fixed);
  }

  /// Appends a fixed part: for a nested message, such as a veth's peer.
  template <class Fixed>
  void put_fixed(const Fixed& fixed) {
    append(&fixed, sizeof(fixed));
  }

  void put(uint16_t type, const void* data, size_t size);

  void put_u32(uint16_t type, uint32_t value) {
    put(type, &value, sizeof(value));
  }

  void put_string(uint16_t type, const std::string& text) {
    put(type, text.c_str(), text.size() + 1);
  }

  /// `addr` in host byte order; sent in network byte order, as the kernel
  /// wants addresses.
  void put_ipv4(uint16_t type, uint32_t addr);

  /// What is put until end_nested(the result) goes inside an attribute of
  /// `type`.
  size_t begin_nested(uint16_t type);

  void end_nested(size_t at);

  /// The request as sent, with its length and sequence number filled in.
  const std::string& finish(uint32_t seq);

private:
  // Every piece starts at a 4-byte boundary (NLMSG_ALIGNTO and
  // RTA_ALIGNTO alike).
  void append(const void* data, size_t size);

  std::string bytes_;
};

/// A NETLINK_ROUTE socket in the namespace where it was created, whatever
/// namespace its user runs in.
class rtnetlink {
public:
  /// In our own network namespace. Fails with io_error.
  static caf::expected<rtnetlink> open();

  /// In the network namespace `netns_fd` refers to, without moving the
  /// calling thread (which runs actors) into it. Fails with io_error.
  static caf::expected<rtnetlink> open_in(int netns_fd);

  /// Sends `message` and waits for the kernel's answer: 0 or an errno
  /// value (ETIMEDOUT after command_timeout), with the kernel's
  /// explanation, if any, in `why`. A get's reply goes to `reply`.
  int request(netlink_request& message, std::string* why,
              std::string* reply = nullptr);

  /// request(), with an io_error naming `command`: the equivalent `ip`
  /// command.
  caf::error transact(netlink_request& message, const std::string& command,
                      std::string* reply = nullptr);

  /// The io_error transact() gives for errno `code` and the kernel's `why`.
  static caf::error failed(const std::string& command, int code,
                           const std::string& why);

private:
  struct socket_in_netns;

  explicit rtnetlink(file_descriptor fd)
    : fd_(std::move(fd)), buffer_(64 * 1024) {}

  static caf::expected<rtnetlink> configure(file_descriptor fd);

  file_descriptor fd_;
  uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

/// The fixed part for a link named by an IFLA_IFNAME attribute; `up`: set
/// IFF_UP, else change no flag.
ifinfomsg link_message(bool up = false);

} // namespace dcos::isolation::net
