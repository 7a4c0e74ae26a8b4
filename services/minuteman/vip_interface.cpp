#include "vip_interface.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"

namespace dcos::minuteman {

namespace {

// Runs `ip ARGS...`; fails with its output when it exits non-zero.
caf::error ip(std::vector<std::string> args) {
  subprocess_options o;
  o.argv = {"ip"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.capture_stdout = true;
  o.stderr_path = "/dev/null";
  std::string command = "ip";
  for (const auto& a : args)
    command += " " + a;
  auto child = subprocess::spawn(o);
  if (!child)
    return make_error(errc::io_error,
                      fmt::format("{}: {}", command, describe(child.error())));
  auto out = child->read_all(std::chrono::seconds(10));
  auto status = child->wait();
  if (status != 0)
    return make_error(errc::io_error,
                      fmt::format("'{}' failed (exit status {})", command,
                                  status));
  return {};
}

bool link_exists(const std::string& name) {
  struct stat st{};
  return ::stat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

std::string prefix_of(const std::string& ip) {
  return ip + (ip.find(':') == std::string::npos ? "/32" : "/128");
}

} // namespace

caf::expected<vip_interface> vip_interface::open(std::string name) {
  vip_interface out;
  out.name_ = std::move(name);
  if (!link_exists(out.name_)) {
    if (auto err = ip({"link", "add", out.name_, "type", "dummy"})) {
      // A kernel without dummy interfaces: aliases on loopback instead
      // (for root only; anyone else could not add them either).
      if (::geteuid() != 0 || !link_exists("lo"))
        return err;
      out.name_ = "lo";
      out.fallback_ = describe_reason(err);
      out.open_ = true;
      return out;
    }
    out.created_ = true;
  } else if (auto err = ip({"addr", "flush", "dev", out.name_})) {
    return err;
  }
  if (auto err = ip({"link", "set", out.name_, "up"}))
    return err;
  out.open_ = true;
  return out;
}

vip_interface::~vip_interface() {
  close();
}

caf::error vip_interface::sync(const std::set<std::string>& ips) {
  caf::error first;
  for (auto it = ips_.begin(); it != ips_.end();) {
    if (ips.count(*it) != 0) {
      ++it;
      continue;
    }
    if (auto err = ip({"addr", "del", prefix_of(*it), "dev", name_});
        err && !first)
      first = std::move(err);
    it = ips_.erase(it);
  }
  for (const auto& address : ips) {
    if (ips_.count(address) != 0)
      continue;
    if (auto err = ip({"addr", "add", prefix_of(address), "dev", name_})) {
      if (!first)
        first = std::move(err);
      continue;
    }
    ips_.insert(address);
  }
  return first;
}

void vip_interface::close() {
  if (!open_)
    return;
  open_ = false;
  if (created_) {
    ip({"link", "del", name_});
  } else {
    for (const auto& address : ips_)
      ip({"addr", "del", prefix_of(address), "dev", name_});
  }
  ips_.clear();
}

} // namespace dcos::minuteman
