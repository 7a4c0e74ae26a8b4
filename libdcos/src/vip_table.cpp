#include "dcos/vip_table.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/task_state.hpp"

namespace dcos {

namespace {

using GetState = v1::master::Response::GetState;

bool is_ip(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

caf::error bad_label(std::string_view value, std::string_view why) {
  return make_error(errc::invalid_argument,
                    fmt::format("VIP label '{}': {}", value, why));
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
         || c == '.' || c == '/';
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint32_t fnv1a(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

// 11.0.0.0/8 less its first and last address: 2^24 - 2 host parts.
constexpr uint32_t vip_hosts = (1u << 24) - 2;

uint32_t host_part(std::string_view dns_name) {
  auto h = fnv1a(dns_name);
  return ((h >> 24) ^ (h & 0xffffff)) % vip_hosts + 1;
}

std::string address_of(uint32_t host) {
  return fmt::format("11.{}.{}.{}", (host >> 16) & 0xff, (host >> 8) & 0xff,
                     host & 0xff);
}

std::string label_value(const v1::Labels& labels, std::string_view key) {
  for (const auto& l : labels.labels())
    if (l.key() == key)
      return l.value();
  return {};
}

// As DC/OS reads them: any key that starts with "VIP" or "vip" ("VIP_0",
// "vip1").
bool is_vip_key(const std::string& key) {
  return key.rfind("VIP", 0) == 0 || key.rfind("vip", 0) == 0;
}

// One piece of a DNS name as DC/OS cleans it: lower case; '-' and '_' as
// '-'; every other character outside [a-z0-9] dropped; no leading '-';
// at most 63 characters, no trailing '-'.
std::string clean_label(std::string_view piece) {
  std::string out;
  for (char raw : piece) {
    auto c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum)
      out += c;
    else if ((c == '-' || c == '_') && !out.empty())
      out += '-';
  }
  if (out.size() > 63)
    out.resize(63);
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out;
}

// Each '.'-separated piece cleaned, empty ones dropped, joined by '.'.
std::string clean_name(std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string_view::npos)
      dot = name.size();
    auto piece = clean_label(name.substr(start, dot - start));
    if (!piece.empty())
      out += (out.empty() ? "" : ".") + piece;
    start = dot + 1;
  }
  return out;
}

std::string container_ip(const v1::Task& task) {
  for (const auto& status : task.statuses())
    for (const auto& network : status.container_status().network_infos())
      for (const auto& address : network.ip_addresses())
        if (is_ip(address.ip_address()))
          return address.ip_address();
  return {};
}

// One task's claim on one VIP, before addresses are assigned.
struct claim {
  std::string protocol;
  vip_label label;
  std::string dns_name; // named VIPs
  vip_backend backend;
  bool container_scope = false;
  bool usable = false; // the backend has an address and qualifies
  bool up = false;
};

class table_builder {
public:
  explicit table_builder(const GetState& state) : state_(state) {
    for (const auto& f : state.get_frameworks().frameworks())
      framework_names_[f.framework_info().id().value()]
        = f.framework_info().name();
    for (const auto& a : state.get_agents().agents()) {
      auto ip = agent_ip(a);
      agent_ips_[a.agent_info().id().value()]
        = ip.empty() ? a.agent_info().hostname() : ip;
    }
  }

  vip_table run() {
    for (const auto& task : state_.get_tasks().tasks())
      add_task(task, false);
    for (const auto& task : state_.get_tasks().unreachable_tasks())
      add_task(task, true);
    assign_named_addresses();
    return assemble();
  }

private:
  void add_task(const v1::Task& task, bool unreachable) {
    // A task that ended declares nothing, wherever the state lists it (the
    // master keeps one among the active until its end is acknowledged).
    if (!task.has_discovery() || is_terminal(task.state()))
      return;
    bool running = task.state() == v1::TASK_RUNNING;
    // A task with a health check is healthy once a check says so; one
    // without is healthy while it runs.
    bool healthy = !task.has_health_check();
    if (task.statuses_size() > 0) {
      const auto& last = task.statuses(task.statuses_size() - 1);
      if (last.has_healthy())
        healthy = last.healthy();
    }
    const auto& agent_id = task.agent_id().value();
    auto agent = agent_ips_.find(agent_id);
    std::string host_ip = agent == agent_ips_.end() ? "" : agent->second;
    std::string own_ip;
    bool own_ip_known = false;
    for (const auto& port : task.discovery().ports().ports()) {
      auto scope = label_value(port.labels(), "network-scope");
      for (const auto& l : port.labels().labels()) {
        if (!is_vip_key(l.key()))
          continue;
        auto parsed = parse_vip_label(l.value());
        if (!parsed) {
          errors_.push_back({task.framework_id().value(),
                             task.task_id().value(), l.key(), l.value(),
                             describe_reason(parsed.error())});
          continue;
        }
        claim c;
        c.protocol = lower(port.protocol()) == "udp" ? "udp" : "tcp";
        c.label = std::move(*parsed);
        if (!c.label.name.empty()) {
          auto f = framework_names_.find(task.framework_id().value());
          if (f == framework_names_.end() || f->second.empty()) {
            errors_.push_back({task.framework_id().value(),
                               task.task_id().value(), l.key(), l.value(),
                               "the framework's name is not known"});
            continue;
          }
          c.dns_name = vip_dns_name(c.label.name, f->second);
          if (c.dns_name.empty()) {
            errors_.push_back({task.framework_id().value(),
                               task.task_id().value(), l.key(), l.value(),
                               "the name has no letter or digit"});
            continue;
          }
        }
        c.container_scope = scope == "container";
        c.backend.framework_id = task.framework_id().value();
        c.backend.task_id = task.task_id().value();
        c.backend.agent_id = agent_id;
        c.backend.port = static_cast<uint16_t>(port.number());
        if (c.container_scope) {
          if (!own_ip_known) {
            own_ip = container_ip(task);
            own_ip_known = true;
          }
          c.backend.ip = own_ip;
        } else {
          c.backend.ip = host_ip;
        }
        c.up = !unreachable && running && healthy;
        c.backend.status
          = unreachable ? vip_backend::state::unreachable : vip_backend::state::up;
        c.usable = !c.backend.ip.empty() && c.backend.port != 0
                   && (c.up || unreachable);
        claims_.push_back(std::move(c));
      }
    }
  }

  void assign_named_addresses() {
    std::set<std::string> names;
    for (const auto& c : claims_)
      if (!c.dns_name.empty())
        names.insert(c.dns_name);
    std::set<uint32_t> taken;
    for (const auto& name : names) { // sorted: the first keeps its hash
      auto host = host_part(name);
      while (taken.count(host) != 0)
        host = host % vip_hosts + 1;
      taken.insert(host);
      named_ips_[name] = address_of(host);
    }
  }

  vip_table assemble() {
    // One entry per (protocol, ip, port); per task, a container-scope
    // claim wins over a host-scope one for the same VIP.
    using key = std::tuple<std::string, std::string, uint16_t>;
    std::map<key, vip_entry> entries;
    std::map<key, std::vector<const claim*>> by_vip;
    for (const auto& c : claims_) {
      auto ip = c.dns_name.empty() ? c.label.ip : named_ips_[c.dns_name];
      key k{c.protocol, ip, c.label.port};
      auto& e = entries[k];
      e.protocol = c.protocol;
      e.ip = ip;
      e.port = c.label.port;
      e.name = c.label.name;
      e.dns_name = c.dns_name;
      by_vip[k].push_back(&c);
    }
    vip_table out;
    for (auto& [k, e] : entries) {
      auto& claims = by_vip[k];
      std::set<std::pair<std::string, std::string>> container_tasks;
      for (const auto* c : claims)
        if (c->container_scope)
          container_tasks.emplace(c->backend.framework_id,
                                  c->backend.task_id);
      std::vector<vip_backend> up, unreachable;
      std::set<std::tuple<std::string, std::string, uint16_t>> seen;
      for (const auto* c : claims) {
        if (!c->usable)
          continue;
        if (!c->container_scope
            && container_tasks.count({c->backend.framework_id,
                                      c->backend.task_id})
                 != 0)
          continue;
        if (!seen.emplace(c->backend.task_id, c->backend.ip, c->backend.port)
               .second)
          continue;
        (c->up ? up : unreachable).push_back(c->backend);
      }
      e.backends = up.empty() ? std::move(unreachable) : std::move(up);
      std::sort(e.backends.begin(), e.backends.end(),
                [](const vip_backend& a, const vip_backend& b) {
                  return std::tie(a.ip, a.port, a.task_id)
                         < std::tie(b.ip, b.port, b.task_id);
                });
      out.vips.push_back(std::move(e));
    }
    out.errors = std::move(errors_);
    return out;
  }

  const GetState& state_;
  std::unordered_map<std::string, std::string> framework_names_;
  std::unordered_map<std::string, std::string> agent_ips_;
  std::vector<claim> claims_;
  std::vector<vip_error> errors_;
  std::unordered_map<std::string, std::string> named_ips_;
};

} // namespace

caf::expected<vip_label> parse_vip_label(std::string_view value) {
  auto colon = value.rfind(':');
  if (colon == std::string_view::npos)
    return bad_label(value, "no port (expected /name:port or IP:port)");
  auto host = value.substr(0, colon);
  auto port_text = value.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size()
      || port_text.empty() || port == 0 || port > 65535)
    return bad_label(value, fmt::format("port '{}' is not a number in "
                                        "1-65535",
                                        port_text));
  vip_label out;
  out.port = static_cast<uint16_t>(port);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    std::string ip{host.substr(1, host.size() - 2)};
    boost::system::error_code bad;
    auto address = boost::asio::ip::make_address(ip, bad);
    if (bad || !address.is_v6())
      return bad_label(value, fmt::format("'{}' is not an IPv6 address", ip));
    out.ip = address.to_string();
    return out;
  }
  std::string text{host};
  boost::system::error_code not_ip;
  auto address = boost::asio::ip::make_address(text, not_ip);
  if (!not_ip && address.is_v4()) {
    out.ip = address.to_string();
    return out;
  }
  if (!host.empty() && host.front() == '/')
    host.remove_prefix(1);
  if (host.empty())
    return bad_label(value, "the name is empty");
  if (!std::all_of(host.begin(), host.end(), name_char))
    return bad_label(value,
                     fmt::format("name '{}' has characters other than "
                                 "letters, digits, '-', '_', '.' and '/'",
                                 host));
  std::string name{host};
  while (!name.empty() && name.back() == '/')
    name.pop_back();
  if (name.empty())
    return bad_label(value, "the name is empty");
  out.name = std::move(name);
  return out;
}

std::string vip_dns_name(std::string_view name, std::string_view framework) {
  auto label = clean_name(name);
  auto fw = clean_name(framework);
  if (label.empty() || fw.empty())
    return {};
  return fmt::format("{}.{}.{}", label, fw, vip_zone);
}

std::string vip_hash_address(std::string_view dns_name) {
  return address_of(host_part(dns_name));
}

std::string vip_entry::key() const {
  if (ip.find(':') != std::string::npos)
    return fmt::format("{}://[{}]:{}", protocol, ip, port);
  return fmt::format("{}://{}:{}", protocol, ip, port);
}

std::string vip_entry::display_name() const {
  if (!dns_name.empty())
    return fmt::format("{}:{}", dns_name, port);
  if (ip.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

const vip_entry* vip_table::find(std::string_view key) const {
  for (const auto& v : vips)
    if (v.key() == key)
      return &v;
  return nullptr;
}

vip_table build_vip_table(const GetState& state) {
  return table_builder{state}.run();
}

std::string agent_ip(const v1::master::Response::GetAgents::Agent& agent) {
  const auto& pid = agent.pid();
  auto at = pid.find('@');
  auto address = at == std::string::npos ? pid : pid.substr(at + 1);
  auto colon = address.rfind(':');
  auto host = colon == std::string::npos ? address : address.substr(0, colon);
  if (is_ip(host))
    return host;
  if (is_ip(agent.agent_info().hostname()))
    return agent.agent_info().hostname();
  return {};
}

} // namespace dcos
