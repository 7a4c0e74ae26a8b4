#include "dcos/offer_match.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dcos {

namespace {

// Gives each request a port from `free` (sorted, disjoint ranges): its
// fixed one, else the lowest free one. Says which one it could not have.
bool pick_ports(const std::vector<host_port_request>& requests,
                const std::vector<value_range>& free, std::vector<int>* out,
                std::string* reason) {
  std::set<uint64_t> taken;
  auto is_free = [&](uint64_t p) {
    if (taken.count(p))
      return false;
    return std::any_of(free.begin(), free.end(), [p](const value_range& r) {
      return r.begin <= p && p <= r.end;
    });
  };
  for (const auto& request : requests) {
    if (request.fixed != 0) {
      auto wanted = static_cast<uint64_t>(request.fixed);
      if (!is_free(wanted)) {
        *reason = fmt::format("port {} is not offered ({})", wanted,
                              request.fixed_by);
        return false;
      }
      taken.insert(wanted);
      out->push_back(request.fixed);
      continue;
    }
    int port = 0;
    for (const auto& r : free) {
      for (uint64_t p = r.begin; p <= r.end && port == 0; ++p)
        if (is_free(p)) {
          taken.insert(p);
          port = static_cast<int>(p);
        }
      if (port != 0)
        break;
    }
    if (port == 0) {
      *reason = fmt::format("not enough ports: need {}, offer has {}",
                            requests.size(), taken.size());
      return false;
    }
    out->push_back(port);
  }
  return true;
}

// Adds `amount` of scalar `name` from `from` to `*used`, reserved
// resources first (they are there for this), keeping each part's
// reservation and allocation. REQUIRES: `from` has that much.
void take_scalar(const resources& from, const std::string& name,
                 double amount, resources* used) {
  auto left = static_cast<int64_t>(std::llround(amount * 1000));
  for (bool reserved : {true, false})
    for (const auto& r : from) {
      if (left <= 0)
        return;
      if (r.name != name || r.type != resource::kind::scalar || r.disk
          || r.is_reserved() != reserved)
        continue;
      auto part = r;
      part.milli = std::min(r.milli, left);
      left -= part.milli;
      *used += part;
    }
}

// Adds host port `port` (REQUIRES: in `from`'s ports) to `*used`, with the
// reservation of the range it comes from.
void take_port(const resources& from, uint64_t port, resources* used) {
  for (const auto& r : from) {
    if (r.name != "ports" || r.type != resource::kind::ranges)
      continue;
    for (const auto& range : r.ranges)
      if (range.begin <= port && port <= range.end) {
        auto part = r;
        part.ranges = {value_range{port, port}};
        *used += part;
        return;
      }
  }
}

} // namespace

offer_match match_offer(const task_demand& demand,
                        const std::vector<placement_constraint>& constraints,
                        const v1::Offer& offer, const resources& available,
                        const std::vector<placement_site>& placed) {
  offer_match out;
  if (!constraints.empty()) {
    auto site = placement_site::of(offer);
    for (const auto& c : constraints)
      if (auto why = placement_violation(c, site, placed); !why.empty()) {
        out.reason = std::move(why);
        out.reason_code = "UnfulfilledConstraint";
        return out;
      }
  }
  // What the task may use: the resources of its accepted roles.
  // (No copy when it may use all: this runs for every offer and task.)
  const auto& accepted = demand.accepted_roles;
  resources filtered;
  if (!accepted.empty())
    filtered = available.filter([&accepted](const resource& r) {
      return std::find(accepted.begin(), accepted.end(), r.role())
             != accepted.end();
    });
  const auto& usable = accepted.empty() ? available : filtered;
  struct need {
    const char* name;
    double amount;
    const char* code;
  };
  for (auto [name, amount, code] :
       {need{"cpus", demand.cpus, "InsufficientCpus"},
        need{"mem", demand.mem, "InsufficientMemory"},
        need{"disk", demand.disk, "InsufficientDisk"},
        need{"gpus", demand.gpus, "InsufficientGpus"}}) {
    if (amount <= 0)
      continue;
    auto have = usable.scalar(name).value_or(0);
    if (have + 1e-9 < amount) {
      bool elsewhere = available.scalar(name).value_or(0) + 1e-9 >= amount;
      out.reason = elsewhere
                     ? fmt::format("not enough {} in the accepted roles "
                                   "[{}]: need {}, they have {}",
                                   name, fmt::join(accepted, ", "), amount,
                                   have)
                     : fmt::format("not enough {}: need {}, offer has {}",
                                   name, amount, have);
      out.reason_code = elsewhere ? "UnfulfilledRole" : code;
      out.used = {};
      return out;
    }
    take_scalar(usable, name, amount, &out.used);
  }
  if (!demand.host_ports.empty()) {
    if (!pick_ports(demand.host_ports,
                    usable.ranges("ports").value_or(
                      std::vector<value_range>{}),
                    &out.host_ports, &out.reason)) {
      out.reason_code = "InsufficientPorts";
      out.used = {};
      out.host_ports.clear();
      return out;
    }
    for (int p : out.host_ports)
      take_port(usable, static_cast<uint64_t>(p), &out.used);
  }
  out.fits = true;
  return out;
}

} // namespace dcos
