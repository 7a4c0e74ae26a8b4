// dcos-dns against a real master, agent and Marathon, asked with a real dig
// and curl as Mesos-DNS' users ask it: task names (A, SRV), the leader,
// NXDOMAIN, TCP fallback for an app of 200 instances, forwarding to an
// upstream server on loopback with failover, the HTTP API, and how soon a
// name follows its task (measured against the master's event stream).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/recordio.hpp"
#include "dcos/v1/master.pb.h"
#include "support/checks.hpp"
#include "support/dns_query.hpp"
#include "support/files.hpp"
#include "support/event_watch.hpp"
#include "support/marathon_cluster.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"
#include "support/skip.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// A DNS server of the test's own on loopback, UDP and TCP: "*.test." is
// A 10.1.2.3, anything else NXDOMAIN. Counts what it answered.
class upstream_server {
public:
  upstream_server() {
    udp_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    port = detail::port_of(tcp_);
    a.sin_port = htons(port);
    REQUIRE(::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    ::listen(tcp_, 16);
    udp_thread_ = std::thread([this] { serve_udp(); });
    tcp_thread_ = std::thread([this] { serve_tcp(); });
  }

  ~upstream_server() { stop(); }

  void stop() {
    if (stopped_.exchange(true))
      return;
    ::shutdown(udp_, SHUT_RDWR);
    ::shutdown(tcp_, SHUT_RDWR);
    ::close(udp_);
    ::close(tcp_);
    udp_thread_.join();
    tcp_thread_.join();
  }

  uint16_t port = 0;
  std::atomic<int> answered{0};

private:
  static std::string answer(const std::string& query) {
    ldns_pkt* q = nullptr;
    if (ldns_wire2pkt(&q, reinterpret_cast<const uint8_t*>(query.data()),
                      query.size())
        != LDNS_STATUS_OK)
      return {};
    auto* question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    auto name = rdf_text(ldns_rr_owner(question));
    ldns_pkt* r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_ra(r, true);
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    if (name.size() > 6 && name.substr(name.size() - 6) == ".test.") {
      ldns_rr* rr = nullptr;
      ldns_rr_new_frm_str(&rr, (name + " 30 IN A 10.1.2.3").c_str(), 0,
                          nullptr, nullptr);
      ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
    } else {
      ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
    }
    uint8_t* wire = nullptr;
    size_t size = 0;
    ldns_pkt2wire(&wire, r, &size);
    std::string out(reinterpret_cast<char*>(wire), size);
    std::free(wire);
    ldns_pkt_free(r);
    ldns_pkt_free(q);
    return out;
  }

  void serve_udp() {
    std::string buffer(65535, '\0');
    while (!stopped_) {
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      auto n = ::recvfrom(udp_, buffer.data(), buffer.size(), 0,
                          reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0)
        return;
      auto reply = answer(buffer.substr(0, static_cast<size_t>(n)));
      ++answered;
      ::sendto(udp_, reply.data(), reply.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  void serve_tcp() {
    while (!stopped_) {
      int c = ::accept(tcp_, nullptr, nullptr);
      if (c < 0)
        return;
      unsigned char length[2];
      if (::recv(c, length, 2, MSG_WAITALL) == 2) {
        std::string query((length[0] << 8) | length[1], '\0');
        if (::recv(c, query.data(), query.size(), MSG_WAITALL)
            == static_cast<ssize_t>(query.size())) {
          auto reply = answer(query);
          ++answered;
          std::string framed{static_cast<char>(reply.size() >> 8),
                             static_cast<char>(reply.size() & 0xff)};
          framed += reply;
          ::send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
        }
      }
      ::close(c);
    }
  }

  int udp_ = -1, tcp_ = -1;
  std::atomic<bool> stopped_{false};
  std::thread udp_thread_, tcp_thread_;
};

// Where a dcos-dns serves DNS: loopback on a free port unless told.
struct dns_address {
  std::string ip = "127.0.0.1";
  uint16_t port = 0; // 0: a free one
};

// A dcos-dns for `master`, its HTTP API on a free port, with `extra` flags.
struct dns_process {
  std::string dns_ip;
  uint16_t dns_port; // before `process`, which uses them
  uint16_t http_port = free_port();
  subprocess process;

  dns_process(const std::string& master, const std::string& log,
              std::vector<std::string> extra = {}, dns_address at = {})
    : dns_ip(at.ip), dns_port(at.port != 0 ? at.port : free_port()),
      process(start(master, log, dns_ip, dns_port, http_port,
                    std::move(extra))) {
  }

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", http_port, path);
  }

  // dig's answer section, short form, sorted.
  std::vector<std::string> dig(const std::string& name,
                               const std::string& type = "A",
                               std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{"dig", "+short", "+tries=1", "+time=3",
                                  "@" + dns_ip, "-p",
                                  std::to_string(dns_port), name, type};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_to_end(argv, 20s);
    std::vector<std::string> lines;
    std::istringstream in{r.out};
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != ';')
        lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  // dig's whole output (status line, flags, sections).
  std::string dig_full(const std::string& name, const std::string& type,
                       std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{"dig", "+tries=1", "+time=3", "@" + dns_ip,
                                  "-p", std::to_string(dns_port), name, type};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_to_end(argv, 20s).out;
  }

private:
  static subprocess start(const std::string& master, const std::string& log,
                          const std::string& dns_ip, uint16_t dns_port,
                          uint16_t http_port, std::vector<std::string> extra) {
    std::vector<std::string> argv{
      binary("DCOS_DNS_BIN"), "--master=" + master, "--ip=127.0.0.1",
      fmt::format("--port={}", http_port), "--dns_ip=" + dns_ip,
      fmt::format("--dns_port={}", dns_port), "--log_level=info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return start_serving(std::move(argv), log);
  }

};

// A master, one agent with ports of its own, Marathon, and dcos-dns.
struct dns_cluster_options {
  std::vector<std::string> dns_flags;
  std::vector<std::string> agent_flags;
  dns_address dns_at;
  std::vector<std::string> marathon_flags;
};

struct dns_cluster : marathon_cluster {
  std::optional<dns_process> dns;

  explicit dns_cluster(dns_cluster_options opts = {})
    : marathon_cluster(std::move(opts.agent_flags), 250,
                       std::move(opts.marathon_flags)) {
    dns.emplace(master.address(), dir / "dns.log", std::move(opts.dns_flags),
                opts.dns_at);
  }

  // The host ports of app `id`'s running tasks, as Marathon lists them.
  std::vector<std::string> task_ports(const std::string& id) {
    auto r = curl({marathon->url("/v2/apps/" + id + "/tasks")});
    std::vector<std::string> out;
    auto doc = parse_json_object(r.body);
    for (const auto& t : doc.fields().at("tasks").list_value().values()) {
      const auto& f = t.struct_value().fields();
      if (f.at("state").string_value() != "TASK_RUNNING")
        continue;
      for (const auto& p : f.at("ports").list_value().values())
        out.push_back(fmt::format("{}", static_cast<int>(p.number_value())));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string app_json(const std::string& id, int instances) {
  return fmt::format(R"({{"id": "{}", "cmd": "sleep 1000", "cpus": 0.01,
    "mem": 8, "instances": {}, "portDefinitions": [{{"port": 0}}]}})",
                     id, instances);
}

std::vector<std::string> srv_ports(const std::vector<std::string>& answers) {
  std::vector<std::string> out;
  for (const auto& a : answers) {
    std::istringstream words{a};
    std::string priority, weight, port;
    words >> priority >> weight >> port;
    out.push_back(port);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Asks `name` over UDP every millisecond until `wanted` (NOERROR with an
// answer, or NXDOMAIN) or 30 s; when that was.
std::optional<std::chrono::steady_clock::time_point>
resolve_until(uint16_t port, const std::string& name, bool exists) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto wire = udp_exchange(port, dns_query(name, "A"), 500ms);
    auto now = std::chrono::steady_clock::now();
    if (wire) {
      auto r = parse_dns_reply(*wire);
      if (exists && r.rcode == LDNS_RCODE_NOERROR && !r.answer.empty())
        return now;
      if (!exists && r.rcode == LDNS_RCODE_NXDOMAIN)
        return now;
    }
    std::this_thread::sleep_for(1ms);
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("dig finds Marathon's tasks, the leader and the agents; unknown "
          "names are NXDOMAIN; the HTTP API answers as Mesos-DNS'") {
  // Marathon advertises a name, not an address: dcos-dns looks it up.
  dns_cluster_options opts;
  opts.marathon_flags = {"--hostname=localhost"};
  dns_cluster c{std::move(opts)};
  REQUIRE(c.post_app(app_json("/web", 2)).status == 201);
  REQUIRE(eventually([&] { return c.task_ports("web").size() == 2; }, 60s));
  auto ports = c.task_ports("web");
  CHECK(eventually([&] {
    return c.dns->dig("web.marathon.mesos")
           == std::vector<std::string>{"127.0.0.1"};
  }));
  // SRV: one per task, with its host port; the targets resolve.
  std::vector<std::string> srv;
  CHECK(eventually([&] {
    srv = c.dns->dig("_web._tcp.marathon.mesos", "SRV");
    return srv_ports(srv) == ports;
  }));
  REQUIRE(srv.size() == 2);
  auto target = srv[0].substr(srv[0].rfind(' ') + 1);
  CHECK(target.rfind("web-", 0) == 0);
  CHECK(c.dns->dig(target) == std::vector<std::string>{"127.0.0.1"});
  CHECK(srv_ports(c.dns->dig("_web._tcp.marathon.slave.mesos", "SRV"))
        == ports);
  CHECK(c.dns->dig("web.marathon.slave.mesos")
        == std::vector<std::string>{"127.0.0.1"});
  // The cluster's own names.
  CHECK(c.dns->dig("leader.mesos") == std::vector<std::string>{"127.0.0.1"});
  CHECK(c.dns->dig("master.mesos") == std::vector<std::string>{"127.0.0.1"});
  CHECK(c.dns->dig("master0.mesos") == std::vector<std::string>{"127.0.0.1"});
  CHECK(c.dns->dig("slave.mesos") == std::vector<std::string>{"127.0.0.1"});
  CHECK(eventually([&] {
    return c.dns->dig("marathon.mesos")
           == std::vector<std::string>{"127.0.0.1"};
  }));
  CHECK(srv_ports(c.dns->dig("_leader._tcp.mesos", "SRV"))
        == std::vector<std::string>{std::to_string(c.master.port)});
  auto soa = c.dns->dig("mesos", "SOA");
  REQUIRE(soa.size() == 1);
  CHECK(soa[0].rfind("ns1.mesos. root.ns1.mesos. ", 0) == 0);
  // Unknown: NXDOMAIN with the SOA; known without AAAA: NOERROR, empty.
  auto missing = c.dns->dig_full("nosuch.marathon.mesos", "A");
  CHECK(missing.find("status: NXDOMAIN") != std::string::npos);
  CHECK(missing.find("flags: qr aa rd ra") != std::string::npos);
  CHECK(missing.find("IN\tSOA") != std::string::npos);
  auto aaaa = c.dns->dig_full("web.marathon.mesos", "AAAA");
  CHECK(aaaa.find("status: NOERROR") != std::string::npos);
  CHECK(aaaa.find("ANSWER: 0") != std::string::npos);

  // The HTTP API.
  auto version = parse_json_object(curl({c.dns->url("/v1/version")}).body);
  CHECK(version.fields().at("Service").string_value() == "Mesos-DNS");
  auto config = parse_json_object(curl({c.dns->url("/v1/config")}).body);
  CHECK(config.fields().at("Domain").string_value() == "mesos");
  CHECK(config.fields().at("Port").number_value() == c.dns->dns_port);
  CHECK(config.fields().at("IPSources").list_value().values_size() == 3);
  auto hosts = curl({c.dns->url("/v1/hosts/web.marathon.mesos")});
  CHECK(hosts.body
        == R"([{"host":"web.marathon.mesos.","ip":"127.0.0.1"}])");
  auto none = curl({c.dns->url("/v1/hosts/nosuch.marathon.mesos")});
  CHECK(none.status == 200);
  CHECK(none.body == R"([{"host":"","ip":""}])");
  auto services = curl({c.dns->url("/v1/services/_web._tcp.marathon.mesos.")});
  auto list = parse_json_object(R"({"l":)" + services.body + "}")
                .fields()
                .at("l")
                .list_value();
  REQUIRE(list.values_size() == 2);
  const auto& first = list.values(0).struct_value().fields();
  CHECK(first.at("service").string_value() == "_web._tcp.marathon.mesos.");
  CHECK(first.at("ip").string_value() == "127.0.0.1");
  CHECK(std::count(ports.begin(), ports.end(),
                   first.at("port").string_value())
        == 1);
  auto host_ports = curl({c.dns->url("/v1/hosts/" + target + "/ports")});
  CHECK(host_ports.body.find("\"port\":\"") != std::string::npos);
  auto enumerate = curl({c.dns->url("/v1/enumerate")});
  CHECK(enumerate.body.find(R"("name":"web.marathon.mesos.")")
        != std::string::npos);
  // The zone transfer as Mesos-DNS' JSON: the SOA's fields and the records.
  auto axfr = curl({c.dns->url("/v1/axfr")});
  REQUIRE(axfr.status == 200);
  auto zone = parse_json_object(axfr.body);
  CHECK(zone.fields().at("Domain").string_value() == "mesos");
  CHECK(zone.fields().at("Mname").string_value() == "ns1.mesos.");
  CHECK(zone.fields().at("Serial").number_value() > 0);
  const auto& records = zone.fields().at("Records").struct_value().fields();
  const auto& as = records.at("As").struct_value().fields();
  REQUIRE(as.count("web.marathon.mesos.") == 1);
  CHECK(as.at("web.marathon.mesos.").list_value().values(0).string_value()
        == "127.0.0.1");
  const auto& srvs = records.at("SRVs").struct_value().fields();
  REQUIRE(srvs.count("_web._tcp.marathon.mesos.") == 1);
  CHECK(srvs.at("_web._tcp.marathon.mesos.").list_value().values_size() == 2);
  CHECK(srvs.at("_web._tcp.marathon.mesos.")
          .list_value()
          .values(0)
          .string_value()
          .find(".marathon.mesos.:")
        != std::string::npos);
  auto metrics = curl({c.dns->url("/metrics")});
  CHECK(metrics.body.find("mesos_dns_queries_a ") != std::string::npos);
  CHECK(metrics.body.find("mesos_dns_responses_nxdomain 1") != std::string::npos);
}

TEST_CASE("an app of 200 instances: its SRV answer is truncated over UDP and "
          "dig gets all of it over TCP") {
  dns_cluster c;
  REQUIRE(c.post_app(app_json("/big", 200)).status == 201);
  REQUIRE(eventually([&] { return c.task_ports("big").size() == 200; },
                     300s));
  std::string udp;
  CHECK(eventually([&] {
    udp = c.dns->dig_full("_big._tcp.marathon.mesos", "SRV",
                          {"+ignore", "+noedns"});
    return udp.find("flags: qr aa tc rd ra") != std::string::npos;
  }, 30s));
  // dig falls back to TCP on TC by itself.
  auto all = c.dns->dig("_big._tcp.marathon.mesos", "SRV");
  CHECK(all.size() == 200);
  CHECK(srv_ports(all) == c.task_ports("big"));
}

TEST_CASE("a name follows its task: resolvable soon after TASK_RUNNING, "
          "gone soon after the task ends (measured)") {
  dns_cluster c;
  event_watch events(c.master.address(), c.dir.path);
  std::vector<double> up_ms, down_ms;
  for (int i = 0; i < 5; ++i) {
    auto id = fmt::format("lat{}", i);
    auto name = id + ".marathon.mesos";
    REQUIRE(c.post_app(app_json("/" + id, 1)).status == 201);
    auto resolved = resolve_until(c.dns->dns_port, name, true);
    REQUIRE(resolved);
    std::optional<std::chrono::steady_clock::time_point> running;
    REQUIRE(eventually(
      [&] { return (running = events.seen(id, v1::TASK_RUNNING)).has_value(); },
      10s));
    up_ms.push_back(std::chrono::duration<double, std::milli>(*resolved
                                                              - *running)
                      .count());
    REQUIRE(curl({"-X", "DELETE", c.marathon->url("/v2/apps/" + id)}).status
            == 200);
    auto gone = resolve_until(c.dns->dns_port, name, false);
    REQUIRE(gone);
    std::optional<std::chrono::steady_clock::time_point> ended;
    REQUIRE(eventually(
      [&] { return (ended = events.seen(id, v1::TASK_KILLED)).has_value(); },
      10s));
    down_ms.push_back(
      std::chrono::duration<double, std::milli>(*gone - *ended).count());
  }
  // The event reaches the test (curl, a file) about as fast as it reaches
  // dcos-dns, so a figure may even be negative; generous bounds only.
  MESSAGE("resolvable after TASK_RUNNING (ms): " << fmt::format(
            "{:.1f}", fmt::join(up_ms, " ")));
  MESSAGE("gone after TASK_KILLED (ms): " << fmt::format(
            "{:.1f}", fmt::join(down_ms, " ")));
  for (auto ms : up_ms)
    CHECK(ms < 1000);
  for (auto ms : down_ms)
    CHECK(ms < 1000);
}

TEST_CASE("names outside the zone go upstream, in order, with failover; "
          "over TCP too; none answering is SERVFAIL") {
  upstream_server upstream;
  auto dead = free_port(); // nothing listens there
  scratch_dir dir;
  master_process master;
  dns_process dns(master.address(), dir / "dns.log",
                  {fmt::format("--resolvers=127.0.0.1:{},127.0.0.1:{}", dead,
                               upstream.port),
                   "--timeout=1"});
  CHECK(dns.dig("www.example.test") == std::vector<std::string>{"10.1.2.3"});
  CHECK(dns.dig("www.example.test", "A", {"+tcp"})
        == std::vector<std::string>{"10.1.2.3"});
  CHECK(dns.dig_full("nothing.example", "A").find("status: NXDOMAIN")
        != std::string::npos);
  CHECK(upstream.answered >= 3);
  auto metrics = curl({dns.url("/metrics")});
  CHECK(metrics.body.find("mesos_dns_forwards_answered 3") != std::string::npos);
  upstream.stop();
  CHECK(dns.dig_full("www.example.test", "A").find("status: SERVFAIL")
        != std::string::npos);
}

TEST_CASE("with ZooKeeper, masterN names every master in the election, the "
          "leader first, and follows a master that leaves") {
  test_zookeeper zk;
  scratch_dir dir;
  // Each master on a loopback address of its own, as on machines of their
  // own (Mesos-DNS lists an address once).
  std::vector<std::string> flags{"--zk=" + zk.url("/mesos"),
                                 "--zk_session_timeout=2secs"};
  std::optional<master_process> a{std::in_place, flags, "127.0.0.2"};
  std::optional<master_process> b{std::in_place, flags, "127.0.0.3"};
  dns_process dns{zk.url("/mesos"), dir / "dns.log"};
  std::vector<std::string> leader;
  REQUIRE(eventually(
    [&] {
      leader = dns.dig("leader.mesos");
      return leader.size() == 1;
    },
    30s));
  auto standby = leader[0] == "127.0.0.2" ? "127.0.0.3" : "127.0.0.2";
  CHECK(eventually([&] {
    return dns.dig("master1.mesos") == std::vector<std::string>{standby};
  }, 30s));
  CHECK(dns.dig("master0.mesos") == leader);
  CHECK(dns.dig("master.mesos")
        == std::vector<std::string>{"127.0.0.2", "127.0.0.3"});
  CHECK(dns.dig("master2.mesos").empty());
  // The standby stops: it leaves the election, and its name goes with it.
  auto& gone = a->ip == standby ? a : b;
  gone->process.kill(SIGTERM);
  CHECK(exit_status_within(gone->process, 30s).has_value());
  gone.reset();
  CHECK(eventually([&] { return dns.dig("master1.mesos").empty(); }, 30s));
  CHECK(dns.dig("master.mesos") == leader);
  CHECK(dns.dig("master0.mesos") == leader);
}

TEST_CASE("bad flags and a bad config.json exit 2 naming the field") {
  scratch_dir dir;
  auto run = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv{binary("DCOS_DNS_BIN")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return run_to_end(argv, 20s);
  };
  auto sources = run({"--ip_sources=netinfo,magic"});
  CHECK(sources.status == 2);
  CHECK(sources.out.find("IPSources: unknown source 'magic'")
        != std::string::npos);
  auto resolvers = run({"--resolvers=not-an-ip"});
  CHECK(resolvers.status == 2);
  CHECK(resolvers.out.find("Resolvers:") != std::string::npos);
  write_file(dir / "config.json", R"({"domain": "mesos", "refreshSecs": 5})");
  auto config = run({"--mesos_dns_config=" + (dir / "config.json")});
  CHECK(config.status == 2);
  CHECK(config.out.find("refreshSecs") != std::string::npos);
  // Mesos-DNS' own sample file is read as it is.
  write_file(dir / "sample.json", R"({
    "zk": "zk://127.0.0.1:2181/mesos", "masters": ["127.0.0.1:5050"],
    "stateTimeoutSeconds": 300, "refreshSeconds": 60, "ttl": 60,
    "domain": "mesos", "ns": "ns1", "port": 8053, "resolvers": ["8.8.8.8"],
    "timeout": 5, "listener": "0.0.0.0", "SOAMname": "ns1.mesos",
    "SOARname": "root.ns1.mesos", "SOARefresh": 60, "SOARetry": 600,
    "SOAExpire": 86400, "SOAMinttl": 60, "dnson": true, "httpon": true,
    "httpport": 8123, "externalon": true, "recurseon": true,
    "srvRecordDefaultWeight": 1, "IPSources": ["mesos", "host"],
    "EnforceRFC952": false, "EnumerationOn": true})");
  master_process master;
  dns_process sampled(master.address(), dir / "sample.log",
                      {"--mesos_dns_config=" + (dir / "sample.json")});
  auto shown = parse_json_object(curl({sampled.url("/v1/config")}).body);
  CHECK(shown.fields().at("SOAMname").string_value() == "ns1.mesos");
  CHECK(shown.fields().at("IPSources").list_value().values_size() == 2);
  CHECK(shown.fields().at("Port").number_value() == sampled.dns_port);
}

// Registered as a meson test of its own (mesos_dns_container): it needs
// root, and makes a bridge and iptables rules as the network tests do.
TEST_CASE("a task on a network of its own resolves Mesos-DNS' names through "
          "the DNS server the agent was told of") {
  if (::geteuid() != 0)
    return skip("container networks need root");
  // The network's gateway is the host's side of it: dcos-dns listens
  // there, on port 53 (resolv.conf names no port).
  const std::string bridge = "dcosdns-ct";
  const std::string gateway = "10.233.7.1";
  run_to_end({"ip", "link", "del", bridge});
  struct cleanup {
    std::string bridge;
    ~cleanup() { run_to_end({"ip", "link", "del", bridge}); }
  } guard{bridge};
  scratch_dir scratch;
  write_file(scratch / "networks.json",
             R"([{"name": "dns-ct", "subnet": "10.233.7.0/24", "bridge": ")"
               + bridge + R"("}])");
  dns_cluster_options opts;
  opts.agent_flags = {
    "--isolation=namespaces/pid,network/bridge",
    "--networks=" + (scratch / "networks.json"),
    R"(--default_container_dns={"mesos": [{"network_mode": "CNI",
       "network_name": "dns-ct", "dns": {"nameservers": [")"
      + gateway + R"("], "search": ["marathon.mesos"]}}]})"};
  opts.dns_at = {gateway, 53};
  dns_cluster c{opts};
  REQUIRE(c.post_app(app_json("/web", 1)).status == 201);
  REQUIRE(eventually([&] {
    return c.dns->dig("web.marathon.mesos")
           == std::vector<std::string>{"127.0.0.1"};
  }, 60s));

  // Inside: the agent's resolv.conf; glibc (getent) and nslookup use it.
  auto probe = run_to_end(
    {binary("DCOS_CLI"), "execute", "--master=" + c.master.address(),
     "--name=probe", "--networks=dns-ct",
     "--command=cat /etc/resolv.conf; nslookup web.marathon.mesos; "
     "getent hosts leader.mesos; getent hosts web"},
    90s);
  INFO(probe.out);
  CHECK(probe.status == 0);
  CHECK(probe.out.find("TASK_FINISHED for task 'probe'") != std::string::npos);
  auto log = run_to_end({binary("DCOS_CLI"), "task", "log", "probe",
                         "--master=" + c.master.address()},
                        30s);
  INFO(log.out);
  CHECK(log.out.find("nameserver " + gateway + "\n") != std::string::npos);
  CHECK(log.out.find("search marathon.mesos\n") != std::string::npos);
  CHECK(log.out.find("Name:\tweb.marathon.mesos\nAddress: 127.0.0.1")
        != std::string::npos);
  CHECK(log.out.find("127.0.0.1       leader.mesos") != std::string::npos);
  // The search domain: "web" alone is web.marathon.mesos.
  CHECK(log.out.find("127.0.0.1       web.marathon.mesos")
        != std::string::npos);

  // A bad value stops the agent at start-up with the field named.
  auto bad = run_to_end(
    {binary("DCOS_AGENT_BIN"), "--master=" + c.master.address(),
     "--work_dir=" + (scratch / "bad"),
     "--isolation=namespaces/pid,network/bridge",
     R"(--default_container_dns={"mesos": [{"network_mode": "CNI",
        "dns": {"nameservers": ["10.0.0.300"]}}]})"},
    30s);
  CHECK(bad.status == 2);
  CHECK(bad.out.find("--default_container_dns: mesos[0].dns.nameservers[0]: "
                     "'10.0.0.300' is not an IP address")
        != std::string::npos);
}
