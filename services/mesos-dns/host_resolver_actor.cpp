#include "host_resolver_actor.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <caf/all.hpp>

namespace dcos::mesos_dns {

namespace {

// Every address getaddrinfo() knows for `host`, in its order.
std::vector<std::string> lookup(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM; // one entry per address, not per protocol
  addrinfo* found = nullptr;
  std::vector<std::string> out;
  if (host.empty() || ::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0)
    return out;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof(text), nullptr,
                      0, NI_NUMERICHOST)
        != 0)
      continue;
    std::string ip{text};
    // A scoped IPv6 address ("fe80::1%eth0") is no use in a record.
    if (ip.find('%') != std::string::npos)
      continue;
    if (std::find(out.begin(), out.end(), ip) == out.end())
      out.push_back(std::move(ip));
  }
  ::freeaddrinfo(found);
  return out;
}

host_resolver_actor::behavior_type resolver() {
  return {
    [](lookup_atom, const std::string& host) { return lookup(host); },
  };
}

} // namespace

host_resolver_actor spawn_host_resolver(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(resolver);
}

void stop_host_resolver(const host_resolver_actor& resolver) {
  // anon_send_exit() queues behind the lookups; a high-priority exit does
  // not.
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(resolver);
  if (ptr)
    ptr->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
                 caf::make_message(caf::exit_msg{
                   ptr->address(), caf::exit_reason::user_shutdown}),
                 nullptr);
}

} // namespace dcos::mesos_dns
