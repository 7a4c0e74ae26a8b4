#include "dns_config.hpp"

#include <ifaddrs.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <map>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"

namespace dcos::mesos_dns {

namespace {

caf::error bad(std::string_view field, const std::string& why) {
  return make_error(errc::invalid_argument, fmt::format("{}: {}", field, why));
}

bool is_ip(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

caf::expected<upstream> parse_upstream(const std::string& text,
                                       std::string_view field) {
  upstream out;
  std::string host = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos)
      return bad(field, fmt::format("'{}' is not IP or IP:PORT", text));
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':')
        return bad(field, fmt::format("'{}' is not IP or IP:PORT", text));
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!is_ip(host))
    return bad(field, fmt::format("'{}' is not an IP address (IP or IP:PORT)",
                                  text));
  out.ip = host;
  if (!port.empty()) {
    if (port.size() > 5
        || !std::all_of(port.begin(), port.end(),
                        [](unsigned char c) { return std::isdigit(c); })
        || std::stoul(port) == 0 || std::stoul(port) > 65535)
      return bad(field, fmt::format("'{}': bad port", text));
    out.port = static_cast<uint16_t>(std::stoul(port));
  }
  return out;
}

// Every address of this machine's interfaces but loopback.
std::vector<std::string> interface_ips() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return out;
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr)
      continue;
    auto family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6)
      continue;
    char host[NI_MAXHOST];
    auto len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (::getnameinfo(i->ifa_addr, len, host, sizeof(host), nullptr, 0,
                      NI_NUMERICHOST)
        != 0)
      continue;
    std::string ip = host;
    if (auto scope = ip.find('%'); scope != std::string::npos)
      continue; // link-local: not reachable by name from elsewhere
    auto addr = boost::asio::ip::make_address(ip);
    if (addr.is_loopback())
      continue;
    if (std::find(out.begin(), out.end(), ip) == out.end())
      out.push_back(ip);
  }
  ::freeifaddrs(list);
  return out;
}

// A name in lower case without underscores: how a config.json name is
// matched to a field ("IPSources", "ip_sources" and "ipsources" alike).
std::string folded(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '_')
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A domain name as config.json gives it: labels of letters, digits and
// '-', dots between them.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 253)
    return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-'
               || c == '_') {
      if (++label > 63)
        return false;
    } else {
      return false;
    }
  }
  return true;
}

} // namespace

std::string fqdn(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.empty() || out.back() != '.')
    out += '.';
  return out;
}

Config default_config() {
  Config c;
  c.set_refresh_seconds(60);
  c.set_ttl(60);
  c.set_port(53);
  c.set_domain("mesos");
  c.add_resolvers("8.8.8.8");
  c.set_timeout(5);
  c.set_listener("0.0.0.0");
  c.set_http_listener("0.0.0.0");
  c.set_http_port(8123);
  c.set_dns_on(true);
  c.set_http_on(true);
  c.set_external_on(true);
  c.set_soa_mname("ns1.mesos");
  c.set_soa_rname("root.ns1.mesos");
  c.set_soa_refresh(60);
  c.set_soa_retry(600);
  c.set_soa_expire(86400);
  c.set_soa_minttl(60);
  c.set_srv_record_default_weight(1);
  c.set_set_truncate_bit(true);
  c.set_recurse_on(true);
  c.set_enforce_rfc952(false);
  c.set_enumeration_on(true);
  for (const char* source : {"netinfo", "mesos", "host"})
    c.add_ip_sources(source);
  return c;
}

caf::error load_config_json(std::string_view text, Config& cfg) {
  // Mesos-DNS reads its file with Go's encoding/json, which matches names
  // in any case ("httpon" is HttpOn): each top-level name is matched the
  // same way against the fields' names before the message is parsed.
  google::protobuf::Struct object;
  if (auto err = from_json(text, &object, "config.json"))
    return err;
  std::map<std::string, std::string> canonical;
  const auto* descriptor = Config::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    canonical[folded(field->json_name())] = field->json_name();
    canonical[folded(field->name())] = field->json_name();
  }
  google::protobuf::Struct renamed;
  for (const auto& [name, value] : object.fields()) {
    auto it = canonical.find(folded(name));
    if (it == canonical.end())
      return bad(name, "not a Mesos-DNS configuration field");
    (*renamed.mutable_fields())[it->second] = value;
  }
  Config file;
  if (auto err = from_json(to_json(renamed), &file, "config.json"))
    return err;
  // Lists given in the file replace the defaults instead of adding to them.
  Config merged = cfg;
  if (file.masters_size() > 0)
    merged.clear_masters();
  if (file.resolvers_size() > 0)
    merged.clear_resolvers();
  if (file.ip_sources_size() > 0)
    merged.clear_ip_sources();
  if (file.zone_resolvers_size() > 0)
    merged.clear_zone_resolvers();
  merged.MergeFrom(file);
  cfg = std::move(merged);
  return {};
}

caf::expected<dns_settings> make_settings(Config cfg) {
  dns_settings s;
  if (!valid_name(cfg.domain()) || cfg.domain().front() == '.')
    return bad("Domain", fmt::format("'{}' is not a domain name",
                                     cfg.domain()));
  if (cfg.port() == 0 || cfg.port() > 65535)
    return bad("Port", "must be 1 to 65535");
  if (cfg.http_port() > 65535)
    return bad("HttpPort", "must be 0 to 65535");
  if (cfg.ttl() == 0)
    return bad("TTL", "must be positive");
  if (cfg.timeout() == 0)
    return bad("Timeout", "must be positive");
  if (!is_ip(cfg.listener()))
    return bad("Listener", fmt::format("'{}' is not an IP address",
                                       cfg.listener()));
  if (!valid_name(cfg.soa_mname()))
    return bad("SOAMname", fmt::format("'{}' is not a domain name",
                                       cfg.soa_mname()));
  if (!valid_name(cfg.soa_rname()))
    return bad("SOARname", fmt::format("'{}' is not a domain name",
                                       cfg.soa_rname()));
  if (cfg.ip_sources_size() == 0)
    return bad("IPSources", "must name at least one source");
  for (const auto& source : cfg.ip_sources())
    if (source != "netinfo" && source != "mesos" && source != "docker"
        && source != "host")
      return bad("IPSources",
                 fmt::format("unknown source '{}' (netinfo, mesos, docker or "
                             "host)",
                             source));
  for (const auto& master : cfg.masters()) {
    auto colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0
        || colon + 1 == master.size())
      return bad("Masters", fmt::format("'{}' is not HOST:PORT", master));
  }
  for (const auto& text : cfg.resolvers()) {
    auto r = parse_upstream(text, "Resolvers");
    if (!r)
      return r.error();
    s.resolvers.push_back(std::move(*r));
  }
  for (const auto& [zone, list] : cfg.zone_resolvers()) {
    if (!valid_name(zone))
      return bad("ZoneResolvers", fmt::format("'{}' is not a domain name",
                                              zone));
    std::vector<upstream> servers;
    for (const auto& value : list.values()) {
      if (!value.has_string_value())
        return bad("ZoneResolvers",
                   fmt::format("'{}': servers must be strings", zone));
      auto r = parse_upstream(value.string_value(), "ZoneResolvers");
      if (!r)
        return r.error();
      servers.push_back(std::move(*r));
    }
    if (servers.empty())
      return bad("ZoneResolvers", fmt::format("'{}': no servers", zone));
    s.zone_resolvers.emplace_back(fqdn(zone), std::move(servers));
  }
  std::sort(s.zone_resolvers.begin(), s.zone_resolvers.end(),
            [](const auto& a, const auto& b) {
              return a.first.size() > b.first.size();
            });
  s.zone = fqdn(cfg.domain());
  s.mname = fqdn(cfg.soa_mname());
  s.rname = fqdn(cfg.soa_rname());
  if (cfg.listener() == "0.0.0.0") {
    s.self_ips = interface_ips();
    if (s.self_ips.empty())
      s.self_ips.push_back("127.0.0.1");
  } else {
    s.self_ips.push_back(cfg.listener());
  }
  s.config = std::move(cfg);
  return s;
}

} // namespace dcos::mesos_dns
