#include "mesos_dns_http.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dcos/json.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"

namespace dcos::mesos_dns {

namespace {

http_response json(std::string body) {
  http_response r;
  r.body = std::move(body);
  return r;
}

// A name from the path: lower case, fully qualified.
std::string path_name(std::string_view text) {
  if (text.size() > 2 && text.substr(0, 2) == "*.")
    text.remove_prefix(2);
  return fqdn(text);
}

const std::vector<std::string>* find(const record_set::address_map& map,
                                     const std::string& name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : &it->second;
}

std::string first_address(const record_set& records, const std::string& host,
                          bool v6) {
  const auto* list = find(v6 ? records.aaaa() : records.a(), host);
  return list == nullptr || list->empty() ? std::string{} : list->front();
}

std::string hosts(const record_set& records, const std::string& name) {
  json_writer w;
  w.begin_array();
  bool any = false;
  for (const auto* map : {&records.a(), &records.aaaa()})
    if (const auto* list = find(*map, name))
      for (const auto& ip : *list) {
        w.begin_object().field("host", name).field("ip", ip).end_object();
        any = true;
      }
  if (!any)
    w.begin_object().field("host", "").field("ip", "").end_object();
  w.end_array();
  return w.take();
}

void service_entry(json_writer& w, const std::string& service,
                   const record_set& records, const srv_target& t, bool& any) {
  for (bool v6 : {false, true}) {
    auto ip = first_address(records, t.host, v6);
    if (ip.empty())
      continue;
    w.begin_object()
      .field("service", service)
      .field("host", t.host)
      .field("ip", ip)
      .field("port", std::to_string(t.port))
      .end_object();
    any = true;
  }
}

void empty_service(json_writer& w) {
  w.begin_object()
    .field("service", "")
    .field("host", "")
    .field("ip", "")
    .field("port", "")
    .end_object();
}

std::string services(const record_set& records, const std::string& asked,
                     const std::string& name) {
  json_writer w;
  w.begin_array();
  bool any = false;
  if (auto it = records.srv().find(name); it != records.srv().end())
    for (const auto& t : it->second)
      service_entry(w, asked, records, t, any);
  if (!any)
    empty_service(w);
  w.end_array();
  return w.take();
}

std::string host_ports(const record_set& records, const std::string& host) {
  json_writer w;
  w.begin_array();
  bool any = false;
  std::vector<std::pair<std::string, const srv_target*>> found;
  for (const auto& [service, targets] : records.srv())
    for (const auto& t : targets)
      if (t.host == host)
        found.emplace_back(service, &t);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first < b.first
           || (a.first == b.first && a.second->port < b.second->port);
  });
  for (const auto& [service, t] : found)
    service_entry(w, service, records, *t, any);
  if (!any)
    empty_service(w);
  w.end_array();
  return w.take();
}

std::string enumerate(const record_set& records) {
  json_writer w;
  w.begin_object().key("frameworks").begin_array();
  for (const auto& f : records.frameworks()) {
    w.begin_object().key("tasks").begin_array();
    for (const auto& t : f.tasks) {
      w.begin_object()
        .field("name", t.name)
        .field("id", t.id)
        .key("records")
        .begin_array();
      for (const auto& r : t.records)
        w.begin_object()
          .field("name", r.name)
          .field("host", r.host)
          .field("rtype", r.rtype)
          .end_object();
      w.end_array().end_object();
    }
    w.end_array().field("name", f.name).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

// One record type's names and values, names sorted (the maps are not).
template <class Map, class Value>
void axfr_set(json_writer& w, std::string_view key, const Map& records,
              Value value) {
  std::vector<const typename Map::value_type*> sorted;
  for (const auto& entry : records)
    sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* x, auto* y) { return x->first < y->first; });
  w.key(key).begin_object();
  for (const auto* entry : sorted) {
    w.key(entry->first).begin_array();
    for (const auto& v : entry->second)
      w.value(value(v));
    w.end_array();
  }
  w.end_object();
}

// Mesos-DNS' zone transfer in JSON: the SOA's fields and every A, AAAA and
// SRV record ("target:port"), by name.
std::string axfr(const dns_settings& settings, const zone_snapshot& zone) {
  const auto& config = settings.config;
  json_writer w;
  w.begin_object()
    .field("TTL", static_cast<uint64_t>(config.ttl()))
    .field("Serial", static_cast<uint64_t>(zone.serial))
    .field("RefreshSeconds", static_cast<uint64_t>(config.refresh_seconds()))
    .field("Mname", settings.mname)
    .field("Rname", settings.rname)
    .field("Domain", config.domain());
  w.key("Records").begin_object();
  auto same = [](const std::string& ip) -> const std::string& { return ip; };
  axfr_set(w, "As", zone.records.a(), same);
  axfr_set(w, "AAAAs", zone.records.aaaa(), same);
  axfr_set(w, "SRVs", zone.records.srv(), [](const srv_target& t) {
    return fmt::format("{}:{}", t.host, t.port);
  });
  w.end_object().end_object();
  return w.take();
}

metrics_snapshot dns_metrics(const dns_server* dns,
                             const std::shared_ptr<const zone_snapshot>& zone) {
  metrics_snapshot m;
  static const char* types[] = {"a", "aaaa", "srv", "soa", "ns", "any",
                                "other"};
  static const char* rcodes[] = {"noerror", "formerr", "servfail",
                                 "nxdomain", "notimp", "refused"};
  dns_counters none;
  const auto& c = dns != nullptr ? dns->counters() : none;
  for (size_t i = 0; i < c.by_type.size(); ++i)
    add_metric(m, fmt::format("mesos_dns/queries/{}", types[i]),
               static_cast<double>(c.by_type[i].load()));
  for (size_t i = 0; i < c.by_rcode.size(); ++i)
    add_metric(m, fmt::format("mesos_dns/responses/{}", rcodes[i]),
               static_cast<double>(c.by_rcode[i].load()));
  add_metric(m, "mesos_dns/truncated", static_cast<double>(c.truncated));
  add_metric(m, "mesos_dns/dropped", static_cast<double>(c.dropped));
  add_metric(m, "mesos_dns/forwards/answered",
             static_cast<double>(c.forwarded));
  add_metric(m, "mesos_dns/forwards/failed",
             static_cast<double>(c.forward_failed));
  add_metric(m, "mesos_dns/answer_latency_seconds_sum",
             static_cast<double>(c.latency_us_sum) / 1e6);
  add_metric(m, "mesos_dns/answer_latency_seconds_count",
             static_cast<double>(c.latency_count));
  add_metric(m, "mesos_dns/zone/serial",
             zone ? static_cast<double>(zone->serial) : 0.0);
  size_t names = 0;
  if (zone)
    names = zone->records.a().size() + zone->records.aaaa().size()
            + zone->records.srv().size();
  add_metric(m, "mesos_dns/zone/names", static_cast<double>(names));
  return m;
}

} // namespace

http_router mesos_dns_routes(const dns_settings& settings,
                             std::shared_ptr<const zone_holder> zone,
                             const dns_server* dns, std::string version) {
  http_router routes;
  auto config = to_json(settings.config, json_style::marathon);
  routes.get("/v1/version", [version](const http_request&, http_responder r) {
    json_writer w;
    w.begin_object()
      .field("Service", "Mesos-DNS")
      .field("URL", "https://github.com/mesosphere/mesos-dns")
      .field("Version", version)
      .end_object();
    r(json(w.take()));
  });
  routes.get("/v1/config", [config](const http_request&, http_responder r) {
    r(json(config));
  });
  // Before the first zone: answers as for an empty one.
  auto records = [zone]() {
    static const auto empty = std::make_shared<const zone_snapshot>();
    auto z = zone->current();
    return z ? z : empty;
  };
  routes.add_prefix("GET", "/v1/hosts/",
                    [records](const http_request& req, http_responder r) {
                      std::string_view rest = req.path;
                      rest.remove_prefix(std::string_view{"/v1/hosts/"}.size());
                      auto z = records();
                      constexpr std::string_view ports = "/ports";
                      if (rest.size() > ports.size()
                          && rest.substr(rest.size() - ports.size()) == ports) {
                        rest.remove_suffix(ports.size());
                        r(json(host_ports(z->records, path_name(rest))));
                        return;
                      }
                      if (rest.empty() || rest.find('/') != rest.npos) {
                        r(json_error(404, "no such endpoint"));
                        return;
                      }
                      r(json(hosts(z->records, path_name(rest))));
                    });
  routes.add_prefix("GET", "/v1/services/",
                    [records](const http_request& req, http_responder r) {
                      std::string_view rest = req.path;
                      rest.remove_prefix(
                        std::string_view{"/v1/services/"}.size());
                      if (rest.empty() || rest.find('/') != rest.npos) {
                        r(json_error(404, "no such endpoint"));
                        return;
                      }
                      r(json(services(records()->records, std::string(rest),
                                      path_name(rest))));
                    });
  if (settings.config.enumeration_on()) {
    routes.get("/v1/enumerate", [records](const http_request&,
                                          http_responder r) {
      r(json(enumerate(records()->records)));
    });
    routes.get("/v1/axfr", [records, settings](const http_request&,
                                               http_responder r) {
      r(json(axfr(settings, *records())));
    });
  }
  route_metrics(routes, [zone, dns](auto done) {
    done(dns_metrics(dns, zone->current()));
  });
  return routes;
}

} // namespace dcos::mesos_dns
