// dcos-dns: Mesos-DNS, names for every task, following the master's event
// stream instead of polling it.
//
//   dcos-dns --master=127.0.0.1:5050 [--dns_port=53] [--http_port=8123]
//            [--mesos_dns_config=config.json] [--resolvers=IP,...]
//
// The configuration is Mesos-DNS' config.json (--mesos_dns_config), with
// Mesos-DNS' defaults for what it leaves out; the flags below override it.
// Runs until SIGTERM/SIGINT.
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include <dcos/cluster_view_actor.hpp>
#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/signals.hpp>
#include <dcos/version.hpp>

#include "dns_config.hpp"
#include "dns_server.hpp"
#include "mesos_dns_http.hpp"
#include "zone_builder_actor.hpp"

using namespace dcos;
using namespace dcos::mesos_dns;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in{path};
  ok = static_cast<bool>(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-dns", "dcos-dns [flags]",
                   "Mesos-DNS: DNS names for the cluster's tasks, masters "
                   "and agents; forwards every other name.",
                   8123};
  std::string master = "127.0.0.1:5050";
  std::string config_path;
  std::string domain;
  std::string dns_ip;
  uint16_t dns_port = 53;
  uint16_t http_port = 0;
  std::string resolvers;
  std::string ip_sources;
  uint32_t ttl = 60;
  uint32_t timeout = 5;
  bool external = true;
  uint32_t dns_threads = 1;
  uint64_t seed = std::random_device{}();
  auto& f = d.flags();
  f.add(&master, "master",
        "HOST:PORT of a master, or zk://HOSTS/PATH of the masters (default: "
        "config.json's Zk, else its first Masters entry, else "
        "127.0.0.1:5050)");
  f.add(&config_path, "mesos_dns_config",
        "a Mesos-DNS config.json; flags given here override its fields");
  f.add(&domain, "domain", "the zone (Domain), default mesos");
  f.add(&dns_ip, "dns_ip",
        "address DNS listens on (Listener), default 0.0.0.0");
  f.add(&dns_port, "dns_port", "DNS port, UDP and TCP (Port), default 53");
  f.add(&http_port, "http_port", "Mesos-DNS' name for --port (HttpPort)");
  f.add(&resolvers, "resolvers",
        "comma-separated upstream servers, IP or IP:PORT, tried in order "
        "(Resolvers), default 8.8.8.8");
  f.add(&ip_sources, "ip_sources",
        "comma-separated IP sources of task records in order of preference: "
        "netinfo, mesos, docker, host (IPSources)");
  f.add(&ttl, "ttl", "TTL of the records in seconds (TTL)");
  f.add(&timeout, "timeout",
        "seconds to wait for each upstream server (Timeout)");
  f.add(&external, "external_on",
        "forward names outside the zone to --resolvers (ExternalOn)");
  f.add(&dns_threads, "dns_threads", "threads that answer DNS queries");
  f.add(&seed, "seed", "seed of the order of answers");
  d.parse_or_exit(argc, argv);

  Config config = default_config();
  if (!config_path.empty()) {
    bool ok = false;
    auto text = read_file(config_path, ok);
    if (!ok)
      return d.usage_error(
        fmt::format("--mesos_dns_config: cannot read '{}'", config_path));
    if (auto err = load_config_json(text, config))
      return d.usage_error(describe_reason(err));
  }
  if (f.is_set("domain"))
    config.set_domain(domain);
  if (f.is_set("dns_ip"))
    config.set_listener(dns_ip);
  if (f.is_set("dns_port"))
    config.set_port(dns_port);
  if (f.is_set("resolvers")) {
    config.clear_resolvers();
    for (auto& r : split_list(resolvers))
      config.add_resolvers(r);
  }
  if (f.is_set("ip_sources")) {
    config.clear_ip_sources();
    for (auto& s : split_list(ip_sources))
      config.add_ip_sources(s);
  }
  if (f.is_set("ttl"))
    config.set_ttl(ttl);
  if (f.is_set("timeout"))
    config.set_timeout(timeout);
  if (f.is_set("external_on"))
    config.set_external_on(external);
  if (dns_threads == 0)
    return d.usage_error("--dns_threads: must be positive");
  auto port = http_port ? http_port
                        : (f.is_set("port") ? d.common().port
                                            : static_cast<uint16_t>(
                                              config.http_port()));
  config.set_http_port(port);
  config.set_http_listener(d.common().ip);
  // Where the masters are: the flag, else config.json's Zk or Masters.
  if (!f.is_set("master")) {
    if (!config.zk().empty())
      master = config.zk();
    else if (config.masters_size() > 0)
      master = config.masters(0);
  }
  auto where = parse_master_location(master);
  if (!where)
    return d.usage_error(describe_reason(where.error()));
  if (where->zk)
    config.set_zk(master);
  else if (config.masters_size() == 0)
    config.add_masters(fmt::format("{}:{}", where->host, where->port));
  auto settings = make_settings(std::move(config));
  if (!settings)
    return d.usage_error(describe_reason(settings.error()));

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};

  auto zone = std::make_shared<zone_holder>();
  std::unique_ptr<dns_server> dns;
  if (settings->config.dns_on()) {
    auto started = dns_server::start(*settings, zone, dns_threads, seed);
    if (!started)
      return d.startup_error("cannot serve DNS", started.error());
    dns = std::move(*started);
    settings->config.set_port(dns->port());
  }
  zone_builder_config zcfg;
  zcfg.settings = *settings;
  zcfg.zone = zone;
  // Serials grow across restarts, as Mesos-DNS' (the time it started).
  zcfg.first_serial = static_cast<uint32_t>(
    std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  // Hosts advertised by name are looked up; with ZooKeeper, the masters'
  // election is followed for masterN (and for the leader, by the detector).
  zcfg.resolver = spawn_host_resolver(sys);
  detector_actor detector;
  if (where->zk) {
    zcfg.election = spawn_zk_election(sys, *where->zk);
    detector = spawn_election_detector(sys, zcfg.election);
  } else {
    detector = spawn_detector(sys, *where);
  }
  auto builder = spawn_zone_builder(sys, zcfg);
  auto view = spawn_cluster_view(sys, detector, builder);

  http_router routes;
  if (settings->config.http_on())
    routes = mesos_dns_routes(*settings, zone, dns.get(), dcos::version);
  auto http = d.serve(std::move(routes), port);
  if (!http)
    return d.startup_error("cannot serve HTTP", http.error());
  if (dns)
    d.announce((*http)->port(),
               fmt::format("DNS on {}:{}", settings->config.listener(),
                           dns->port()));
  else
    d.announce((*http)->port());
  d.log()->info("stopping on signal {}", wait_for_termination_signal());
  (*http)->stop();
  if (dns)
    dns->stop();
  caf::anon_send_exit(view, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(builder, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
  if (zcfg.election)
    caf::anon_send_exit(zcfg.election, caf::exit_reason::user_shutdown);
  stop_host_resolver(zcfg.resolver);
  return 0;
}
