#include "vip_backends.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "dcos/logging.hpp"

namespace dcos::minuteman {

namespace {

// Minuteman v1's decay of the latency average.
constexpr double ewma_decay_ns = 10e9;
// A backend nothing went to for this long is tried again.
constexpr double probe_idle_ns = 1e9;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = logging::get("minuteman");
  return l;
}

} // namespace

// The average decays while no sample comes (as Finagle's peak EWMA); an
// unmeasured backend is tried once before the others' averages count
// against it.
double backend::cost(steady::time_point now) const {
  if (!measured)
    return pending == 0 ? 0 : 1e15 * pending;
  auto idle = std::chrono::duration<double, std::nano>(now - sampled).count();
  // One slow connect must not starve a backend for the minutes its average
  // takes to decay: one not sampled for a second is probed.
  if (idle > probe_idle_ns && pending == 0)
    return 0;
  return ewma_ns * std::exp(-idle / ewma_decay_ns) * (pending + 1);
}

void backend::sample(double ns, steady::time_point now) {
  if (!measured) {
    ewma_ns = ns;
    measured = true;
  } else if (ns > ewma_ns) {
    ewma_ns = ns; // peak: a slow connect counts at once
  } else {
    auto elapsed
      = std::chrono::duration<double, std::nano>(now - sampled).count();
    double w = std::exp(-elapsed / ewma_decay_ns);
    ewma_ns = ewma_ns * w + ns * (1 - w);
  }
  sampled = now;
}

vip_backends::vip_backends(std::string key, balance_options opts,
                           uint64_t seed)
  : key_(std::move(key)), opts_(opts),
    rng_(static_cast<uint32_t>(seed ^ std::hash<std::string>{}(key_))) {
}

void vip_backends::set(
  const std::vector<vip_backend>& table_backends,
  const std::map<std::string, boost::asio::ip::address>& resolved) {
  std::lock_guard guard{mtx_};
  std::map<std::pair<std::string, uint16_t>, std::shared_ptr<backend>> known;
  for (auto& b : backends_)
    known[{b->ip, b->port}] = b;
  std::vector<std::shared_ptr<backend>> next;
  for (const auto& b : table_backends) {
    boost::system::error_code not_ip;
    auto address = boost::asio::ip::make_address(b.ip, not_ip);
    if (not_ip) {
      auto it = resolved.find(b.ip);
      if (it == resolved.end()) {
        auto skipped = b.ip + ":" + std::to_string(b.port);
        if (skipped_.insert(skipped).second)
          logger()->warn("{}: skipping backend {} (task {}): its agent's "
                         "name does not resolve",
                         key_, skipped, b.task_id);
        continue;
      }
      address = it->second;
    }
    auto it = known.find({b.ip, b.port});
    std::shared_ptr<backend> be;
    if (it != known.end()) {
      be = it->second;
      known.erase(it);
    } else {
      be = std::make_shared<backend>();
      be->ip = b.ip;
      be->port = b.port;
    }
    be->address = address; // a hostname may resolve anew
    be->in_table = true;
    next.push_back(std::move(be));
  }
  for (auto& [_, b] : known) // drained: listed while connections run
    if (b->active > 0) {
      b->in_table = false;
      next.push_back(b);
    }
  backends_ = std::move(next);
}

std::shared_ptr<backend> vip_backends::pick(const backend* const* tried,
                                            size_t count,
                                            boost::asio::ip::address* address) {
  std::lock_guard guard{mtx_};
  auto now = steady::now();
  // Reused: no allocation per connection.
  thread_local std::vector<backend*> up, down;
  up.clear();
  down.clear();
  for (const auto& b : backends_) {
    if (!b->in_table || std::find(tried, tried + count, b.get()) != tried + count)
      continue;
    (b->down_until <= now ? up : down).push_back(b.get());
  }
  backend* chosen = nullptr;
  if (up.empty()) {
    // Every backend is down: probe the one that has been down longest.
    for (auto* b : down)
      if (chosen == nullptr || b->down_until < chosen->down_until)
        chosen = b;
  } else if (up.size() == 1) {
    chosen = up.front();
  } else {
    std::uniform_int_distribution<size_t> first{0, up.size() - 1};
    std::uniform_int_distribution<size_t> second{0, up.size() - 2};
    size_t i = first(rng_);
    size_t j = second(rng_);
    if (j >= i)
      ++j;
    chosen = up[i]->cost(now) <= up[j]->cost(now) ? up[i] : up[j];
  }
  if (chosen == nullptr)
    return nullptr;
  ++chosen->pending;
  *address = chosen->address;
  for (const auto& b : backends_)
    if (b.get() == chosen)
      return b;
  return nullptr;
}

void vip_backends::succeeded(backend& b, steady::time_point started) {
  std::lock_guard guard{mtx_};
  auto now = steady::now();
  b.sample(std::chrono::duration<double, std::nano>(now - started).count(),
           now);
  b.failures_in_row = 0;
  b.down_until = {};
}

void vip_backends::failed(backend& b) {
  b.connect_failures++;
  std::lock_guard guard{mtx_};
  --b.pending;
  if (++b.failures_in_row >= opts_.failures_to_down) {
    if (b.down_until <= steady::now())
      logger()->warn("{}: backend {}:{} is down after {} failures in a row; "
                     "probing it again in {} ms",
                     key_, b.ip, b.port, b.failures_in_row,
                     opts_.down_for.count());
    b.down_until = steady::now() + opts_.down_for;
  }
  forget_if_drained(b);
}

void vip_backends::released(backend& b) {
  std::lock_guard guard{mtx_};
  --b.pending;
  forget_if_drained(b);
}

void vip_backends::forget_if_drained(backend& b) {
  if (b.in_table || b.active > 0)
    return;
  backends_.erase(std::remove_if(backends_.begin(), backends_.end(),
                                 [&](const auto& p) { return p.get() == &b; }),
                  backends_.end());
}

void vip_backends::visit(
  const std::function<void(const backend&)>& f) const {
  std::lock_guard guard{mtx_};
  for (const auto& b : backends_)
    f(*b);
}

} // namespace dcos::minuteman
