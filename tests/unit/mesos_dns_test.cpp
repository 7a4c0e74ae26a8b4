// Mesos-DNS' pure parts: labels, the records made from a master state (by
// Mesos-DNS' naming rules), DNS answers through ldns (NXDOMAIN, NODATA,
// SRV glue, truncation, malformed packets) and config.json.
#include <set>

#include <doctest/doctest.h>

#include "answer_cache.hpp"
#include "dcos/error.hpp"
#include "dcos/vip_table.hpp"
#include "dns_answer.hpp"
#include "dns_config.hpp"
#include "dns_labels.hpp"
#include "record_set.hpp"
#include "support/dns_query.hpp"

using namespace dcos;
using namespace dcos::mesos_dns;
using namespace dcos::test;
using GetState = v1::master::Response::GetState;

namespace {

dns_settings settings(std::vector<std::string> masters = {}) {
  auto cfg = default_config();
  cfg.set_listener("127.0.0.1");
  for (auto& m : masters)
    cfg.add_masters(m);
  auto s = make_settings(cfg);
  REQUIRE(s);
  return *s;
}

void add_agent(GetState& s, const std::string& id, const std::string& host) {
  auto* a = s.mutable_get_agents()->add_agents();
  a->mutable_agent_info()->mutable_id()->set_value(id);
  a->mutable_agent_info()->set_hostname(host);
  a->set_pid("slave(1)@" + host + ":5051");
}

v1::Task& add_task(GetState& s, const std::string& name, const std::string& id,
                   const std::string& agent, v1::TaskState state,
                   uint64_t port = 0) {
  auto* t = s.mutable_get_tasks()->add_tasks();
  t->set_name(name);
  t->mutable_task_id()->set_value(id);
  t->mutable_framework_id()->set_value("fw1");
  t->mutable_agent_id()->set_value(agent);
  t->set_state(state);
  if (port > 0) {
    auto* r = t->add_resources();
    r->set_name("ports");
    auto* range = r->mutable_ranges()->add_range();
    range->set_begin(port);
    range->set_end(port);
  }
  auto* status = t->add_statuses();
  status->set_state(state);
  status->mutable_task_id()->set_value(id);
  return *t;
}

GetState cluster_state() {
  GetState s;
  add_agent(s, "20261205-0000-S1", "10.0.0.1");
  add_agent(s, "20261205-0000-S2", "node2"); // a name, not an address
  auto* f = s.mutable_get_frameworks()->add_frameworks();
  f->mutable_framework_info()->mutable_id()->set_value("fw1");
  f->mutable_framework_info()->set_name("Marathon");
  f->mutable_framework_info()->set_hostname("10.0.0.9");
  auto& t1 = add_task(s, "nginx", "nginx.48dccce7-90bc-11e6-ae70-70b3d5800001",
                      "20261205-0000-S1", v1::TASK_RUNNING, 31000);
  t1.mutable_statuses(0)
    ->mutable_container_status()
    ->add_network_infos()
    ->add_ip_addresses()
    ->set_ip_address("172.16.0.5");
  add_task(s, "nginx", "nginx.2", "20261205-0000-S1", v1::TASK_RUNNING, 31001);
  add_task(s, "api.Server_v2", "api.1", "20261205-0000-S1", v1::TASK_STAGING);
  add_task(s, "far", "far.1", "20261205-0000-S2", v1::TASK_RUNNING);
  auto& db = add_task(s, "database", "db.1", "20261205-0000-S1",
                      v1::TASK_RUNNING, 31005);
  db.mutable_discovery()->set_name("db");
  auto* port = db.mutable_discovery()->mutable_ports()->add_ports();
  port->set_number(5432);
  port->set_name("pg");
  port->set_protocol("tcp");
  return s;
}

v1::MasterInfo leader() {
  v1::MasterInfo m;
  m.set_pid("master@10.0.0.100:5050");
  m.mutable_address()->set_ip("10.0.0.100");
  m.mutable_address()->set_port(5050);
  return m;
}

std::set<std::string> values(const record_set::address_map& map,
                             const std::string& name) {
  auto it = map.find(name);
  if (it == map.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

std::set<std::string> srv(const record_set& r, const std::string& name) {
  std::set<std::string> out;
  if (auto it = r.srv().find(name); it != r.srv().end())
    for (const auto& t : it->second)
      out.insert(t.host + ":" + std::to_string(t.port));
  return out;
}

dns_reply ask(const record_set& r, const dns_settings& s,
              const std::string& name, const std::string& type,
              dns_transport transport = dns_transport::udp,
              uint16_t edns = 0) {
  std::minstd_rand rng{1};
  auto out = answer_query(dns_query(name, type, 77, edns), r, s, 9, transport,
                          rng);
  REQUIRE(out.action == dns_outcome::reply);
  auto reply = parse_dns_reply(out.wire);
  REQUIRE(reply.parsed);
  CHECK(reply.id == 77);
  return reply;
}

} // namespace

TEST_CASE("labels as Mesos-DNS makes them") {
  CHECK(dns_label("apiserver.myservice", label_spec::rfc1123)
        == "apiserver-myservice");
  CHECK(dns_label("My_App!", label_spec::rfc1123) == "my-app");
  CHECK(dns_label("--web--", label_spec::rfc1123) == "web");
  CHECK(dns_label(std::string(70, 'a'), label_spec::rfc1123).size() == 63);
  CHECK(dns_label("0abc", label_spec::rfc952) == "abc");
  CHECK(dns_label("0abc", label_spec::rfc1123) == "0abc");
  CHECK(dns_label(std::string(30, 'b'), label_spec::rfc952).size() == 24);
  CHECK(domain_fragment("marathon.prod", label_spec::rfc1123)
        == "marathon.prod");
  CHECK(domain_fragment("Marathon..Prod!", label_spec::rfc1123)
        == "marathon.prod");
}

TEST_CASE("records follow Mesos-DNS' naming rules") {
  auto s = settings({"10.0.0.100:5050", "10.0.0.101:5050"});
  auto r = record_set::build(cluster_state(), leader(), s);
  // Tasks: the container's address first (netinfo), else the agent's.
  CHECK(values(r.a(), "nginx.marathon.mesos.")
        == std::set<std::string>{"172.16.0.5", "10.0.0.1"});
  CHECK(values(r.a(), "nginx-jhy6r-s1.marathon.mesos.")
        == std::set<std::string>{"172.16.0.5"});
  CHECK(values(r.a(), "nginx.marathon.slave.mesos.")
        == std::set<std::string>{"10.0.0.1"});
  CHECK(srv(r, "_nginx._tcp.marathon.mesos.").size() == 2);
  CHECK(srv(r, "_nginx._tcp.marathon.mesos.").count(
          "nginx-jhy6r-s1.marathon.slave.mesos.:31000")
        == 1);
  CHECK(srv(r, "_nginx._udp.marathon.slave.mesos.").size() == 2);
  // Only running tasks on known agents.
  CHECK_FALSE(r.has_name("api-server-v2.marathon.mesos."));
  CHECK_FALSE(r.has_name("far.marathon.mesos."));
  // DiscoveryInfo: its name, its ports (named too) in the zone; host ports
  // only under .slave.
  CHECK(values(r.a(), "db.marathon.mesos.")
        == std::set<std::string>{"10.0.0.1"});
  auto db_hash = *srv(r, "_db._tcp.marathon.mesos.").begin();
  CHECK(db_hash.find(".marathon.mesos.:5432") != std::string::npos);
  CHECK(srv(r, "_pg._db._tcp.marathon.mesos.").size() == 1);
  CHECK(srv(r, "_db._udp.marathon.mesos.").empty()); // protocol tcp only
  CHECK(srv(r, "_db._tcp.marathon.slave.mesos.").size() == 1);
  CHECK_FALSE(r.has_name("database.marathon.mesos."));
  // Masters, agents, frameworks, the name server.
  CHECK(values(r.a(), "leader.mesos.") == std::set<std::string>{"10.0.0.100"});
  CHECK(values(r.a(), "master.mesos.")
        == std::set<std::string>{"10.0.0.100", "10.0.0.101"});
  CHECK(values(r.a(), "master0.mesos.")
        == std::set<std::string>{"10.0.0.100"});
  CHECK(values(r.a(), "master1.mesos.")
        == std::set<std::string>{"10.0.0.101"});
  CHECK(srv(r, "_leader._tcp.mesos.")
        == std::set<std::string>{"leader.mesos.:5050"});
  CHECK(values(r.a(), "slave.mesos.") == std::set<std::string>{"10.0.0.1"});
  CHECK(srv(r, "_slave._tcp.mesos.")
        == std::set<std::string>{"slave.mesos.:5051"});
  CHECK(values(r.a(), "marathon.mesos.") == std::set<std::string>{"10.0.0.9"});
  CHECK(values(r.a(), "ns1.mesos.") == std::set<std::string>{"127.0.0.1"});
  // /v1/enumerate's view: per framework, per task.
  REQUIRE(r.frameworks().size() == 1);
  CHECK(r.frameworks()[0].name == "Marathon");
  CHECK(r.frameworks()[0].tasks.size() == 3);
}

TEST_CASE("hosts advertised by name get the addresses looked up for them; "
          "masterN names the election's members, the leader first") {
  auto s = settings({"10.0.0.100:5050", "10.0.0.101:5050"});
  auto state = cluster_state();
  auto* f = state.mutable_get_frameworks()->add_frameworks();
  f->mutable_framework_info()->mutable_id()->set_value("fw2");
  f->mutable_framework_info()->set_name("metronome");
  f->mutable_framework_info()->set_hostname("sched.example");
  std::vector<std::string> members{"10.0.0.100:5050", "mhost:5050",
                                   "10.0.0.102:5050"};
  CHECK(record_set::host_names(state, leader(), members)
        == std::vector<std::string>{"mhost", "node2", "sched.example"});

  // Nothing looked up yet: those hosts get no records.
  auto before = record_set::build(state, leader(), s);
  CHECK_FALSE(before.has_name("far.marathon.mesos."));
  CHECK_FALSE(before.has_name("metronome.mesos."));

  zone_inputs inputs;
  inputs.host_addresses = {{"node2", {"10.0.0.2", "fd00::2"}},
                           {"sched.example", {"10.0.0.8"}},
                           {"mhost", {"10.0.0.103"}}};
  inputs.masters = members;
  auto r = record_set::build(state, leader(), s, inputs);
  // The agent's task (IP source "host"), the agent, the scheduler.
  CHECK(values(r.a(), "far.marathon.mesos.")
        == std::set<std::string>{"10.0.0.2"});
  CHECK(values(r.aaaa(), "far.marathon.mesos.")
        == std::set<std::string>{"fd00::2"});
  CHECK(values(r.a(), "far.marathon.slave.mesos.")
        == std::set<std::string>{"10.0.0.2"});
  CHECK(values(r.a(), "slave.mesos.")
        == std::set<std::string>{"10.0.0.1", "10.0.0.2"});
  CHECK(values(r.a(), "metronome.mesos.")
        == std::set<std::string>{"10.0.0.8"});
  // The members replace the configured masters, in their order.
  CHECK(values(r.a(), "master0.mesos.")
        == std::set<std::string>{"10.0.0.100"});
  CHECK(values(r.a(), "master1.mesos.")
        == std::set<std::string>{"10.0.0.103"});
  CHECK(values(r.a(), "master2.mesos.")
        == std::set<std::string>{"10.0.0.102"});
  CHECK_FALSE(r.has_name("master3.mesos."));
  CHECK(values(r.a(), "master.mesos.")
        == std::set<std::string>{"10.0.0.100", "10.0.0.102", "10.0.0.103"});
  // A leader the members do not list (it joined after the last census)
  // comes last, as in Mesos-DNS.
  inputs.masters = std::vector<std::string>{"10.0.0.102:5050"};
  auto late = record_set::build(state, leader(), s, inputs);
  CHECK(values(late.a(), "master0.mesos.")
        == std::set<std::string>{"10.0.0.102"});
  CHECK(values(late.a(), "master1.mesos.")
        == std::set<std::string>{"10.0.0.100"});
  // A member named by a name of the leader's address is the leader: it is
  // numbered once, where it stands.
  v1::MasterInfo at_103;
  at_103.mutable_address()->set_ip("10.0.0.103");
  at_103.mutable_address()->set_port(5050);
  inputs.masters = std::vector<std::string>{"10.0.0.100:5050", "mhost:5050"};
  auto named_member = record_set::build(state, at_103, s, inputs);
  CHECK(values(named_member.a(), "master1.mesos.")
        == std::set<std::string>{"10.0.0.103"});
  CHECK_FALSE(named_member.has_name("master2.mesos."));
  // A leader known by name only.
  v1::MasterInfo named;
  named.set_hostname("mhost");
  named.mutable_address()->set_hostname("mhost");
  named.mutable_address()->set_port(5050);
  inputs.masters.reset();
  CHECK(record_set::host_names(state, named, {}).front() == "mhost");
  auto by_name = record_set::build(state, named, s, inputs);
  CHECK(values(by_name.a(), "leader.mesos.")
        == std::set<std::string>{"10.0.0.103"});
}

TEST_CASE("answers: A, NXDOMAIN, NODATA, SRV with glue, SOA and NS") {
  auto s = settings();
  auto r = record_set::build(cluster_state(), leader(), s);
  auto a = ask(r, s, "NGINX.Marathon.Mesos.", "A");
  CHECK(a.rcode == LDNS_RCODE_NOERROR);
  CHECK(a.aa);
  CHECK(a.answer == std::vector<std::string>{"A 10.0.0.1", "A 172.16.0.5"});

  auto missing = ask(r, s, "nosuch.marathon.mesos.", "A");
  CHECK(missing.rcode == LDNS_RCODE_NXDOMAIN);
  CHECK(missing.answer.empty());
  CHECK(missing.authority == std::vector<std::string>{"SOA"});
  // The name exists, without AAAA: NODATA, so glibc keeps the A.
  auto aaaa = ask(r, s, "nginx.marathon.mesos.", "AAAA");
  CHECK(aaaa.rcode == LDNS_RCODE_NOERROR);
  CHECK(aaaa.answer.empty());
  CHECK(aaaa.authority == std::vector<std::string>{"SOA"});

  auto service = ask(r, s, "_nginx._tcp.marathon.mesos.", "SRV");
  REQUIRE(service.answer.size() == 2);
  CHECK(service.answer[0].rfind("SRV 0 1 3100", 0) == 0);
  CHECK(service.additional.size() == 2); // each target's A

  auto soa = ask(r, s, "mesos.", "SOA");
  REQUIRE(soa.answer.size() == 1);
  CHECK(soa.answer[0]
        == "SOA ns1.mesos. root.ns1.mesos. 9 60 600 86400 60");
  auto ns = ask(r, s, "mesos.", "NS");
  CHECK(ns.answer == std::vector<std::string>{"NS ns1.mesos."});
  auto apex_a = ask(r, s, "mesos.", "A");
  CHECK(apex_a.rcode == LDNS_RCODE_NOERROR);

  std::minstd_rand rng{1};
  auto outside = answer_query(dns_query("example.com.", "A"), r, s, 1,
                              dns_transport::udp, rng);
  CHECK(outside.action == dns_outcome::forward);
  CHECK(outside.qname == "example.com.");
}

TEST_CASE("named VIPs answer in l4lb.thisdcos.directory, as Minuteman "
          "balances them") {
  auto s = settings();
  auto state = cluster_state();
  auto* port = state.mutable_get_tasks()
                 ->mutable_tasks(0)
                 ->mutable_discovery()
                 ->mutable_ports()
                 ->add_ports();
  port->set_number(31000);
  port->set_protocol("tcp");
  auto* label = port->mutable_labels()->add_labels();
  label->set_key("VIP_0");
  label->set_value("/web:80");
  auto r = record_set::build(state, leader(), s);
  auto ip = vip_hash_address("web.marathon.l4lb.thisdcos.directory");
  auto a = ask(r, s, "web.marathon.l4lb.thisdcos.directory.", "A");
  CHECK(a.rcode == LDNS_RCODE_NOERROR);
  CHECK(a.aa);
  CHECK(a.answer == std::vector<std::string>{"A " + ip});
  CHECK(a.answer.front() == "A " + build_vip_table(state).vips.at(0).ip);
  auto missing = ask(r, s, "api.marathon.l4lb.thisdcos.directory.", "A");
  CHECK(missing.rcode == LDNS_RCODE_NXDOMAIN);
  CHECK(missing.aa);
  REQUIRE(missing.authority.size() == 1);
  auto soa = ask(r, s, "l4lb.thisdcos.directory.", "SOA");
  REQUIRE(soa.answer.size() == 1);
  CHECK(soa.answer[0].rfind("SOA ns1.mesos. root.ns1.mesos. 9", 0) == 0);
}

TEST_CASE("the answer cache: replies by query less ID, every order of the "
          "answers in turn, emptied by a new zone") {
  auto s = settings();
  auto zone = std::make_shared<zone_snapshot>();
  zone->records = record_set::build(cluster_state(), leader(), s);
  zone->serial = 9;
  std::shared_ptr<const zone_snapshot> current = zone;
  answer_cache cache;
  std::minstd_rand rng{3};
  std::string wire;
  answer_cache::reply_info info;
  // nginx.marathon.mesos has two A records: two orders are built first.
  std::vector<std::vector<std::string>> orders;
  for (uint16_t id = 1; id <= 2; ++id) {
    auto query = dns_query("nginx.marathon.mesos.", "A", id);
    REQUIRE_FALSE(cache.find(query, current, wire, info));
    auto out = answer_query(query, zone->records, s, 9, dns_transport::udp,
                            rng);
    cache.insert(query, out.wire, {out.qtype, out.rcode, out.truncated});
  }
  for (uint16_t id = 100; id < 104; ++id) {
    auto query = dns_query("nginx.marathon.mesos.", "A", id);
    REQUIRE(cache.find(query, current, wire, info));
    CHECK(info.qtype == 1);
    CHECK(info.rcode == 0);
    auto reply = parse_dns_reply(wire);
    REQUIRE(reply.parsed);
    CHECK(reply.id == id); // the ID is the query's, not the cached one's
    CHECK(std::set<std::string>(reply.answer.begin(), reply.answer.end())
          == std::set<std::string>{"A 10.0.0.1", "A 172.16.0.5"});
    orders.push_back(reply.answer);
  }
  // Handed out in turn: the first, the second, the first again, ...
  CHECK(orders[0] == orders[2]);
  CHECK(orders[1] == orders[3]);
  CHECK(cache.size() == 1);
  // The same name in other letters, or with EDNS0, is another query.
  CHECK_FALSE(cache.find(dns_query("NGINX.marathon.mesos.", "A", 5), current,
                         wire, info));
  CHECK_FALSE(cache.find(dns_query("nginx.marathon.mesos.", "A", 5, 4096),
                         current, wire, info));
  // A new zone: nothing cached is served from it.
  std::shared_ptr<const zone_snapshot> next =
    std::make_shared<zone_snapshot>(*zone);
  CHECK_FALSE(cache.find(dns_query("nginx.marathon.mesos.", "A", 6), next,
                         wire, info));
  CHECK(cache.size() == 0);
  // Full: emptied rather than grown.
  answer_cache small{2};
  for (int i = 0; i < 3; ++i) {
    auto query = dns_query("n" + std::to_string(i) + ".mesos.", "A", 1);
    REQUIRE_FALSE(small.find(query, current, wire, info));
    small.insert(query, error_reply(query, rcode_nxdomain), {1, 3, false});
  }
  CHECK(small.size() == 1);
}

TEST_CASE("a reply too large for UDP is truncated with TC; over TCP it is "
          "whole") {
  GetState state;
  add_agent(state, "a-S1", "10.0.0.1");
  auto* f = state.mutable_get_frameworks()->add_frameworks();
  f->mutable_framework_info()->mutable_id()->set_value("fw1");
  f->mutable_framework_info()->set_name("marathon");
  for (int i = 0; i < 200; ++i)
    add_task(state, "web", "web." + std::to_string(i), "a-S1",
             v1::TASK_RUNNING, 31000 + i);
  auto s = settings();
  auto r = record_set::build(state, leader(), s);
  std::minstd_rand rng{1};
  auto udp = answer_query(dns_query("_web._tcp.marathon.mesos.", "SRV"), r, s,
                          1, dns_transport::udp, rng);
  CHECK(udp.wire.size() <= 512);
  auto small = parse_dns_reply(udp.wire);
  CHECK(small.tc);
  CHECK(small.answer.size() > 0);
  CHECK(small.answer.size() < 200);
  CHECK(small.additional.empty());
  auto edns = parse_dns_reply(
    answer_query(dns_query("_web._tcp.marathon.mesos.", "SRV", 1, 4096), r, s,
                 1, dns_transport::udp, rng)
      .wire);
  CHECK(edns.tc);
  CHECK(edns.answer.size() > small.answer.size());
  auto tcp = parse_dns_reply(
    answer_query(dns_query("_web._tcp.marathon.mesos.", "SRV"), r, s, 1,
                 dns_transport::tcp, rng)
      .wire);
  CHECK_FALSE(tcp.tc);
  CHECK(tcp.answer.size() == 200);
}

TEST_CASE("malformed packets get FORMERR or nothing, never a crash") {
  auto s = settings();
  auto r = record_set::build(cluster_state(), leader(), s);
  std::minstd_rand rng{1};
  auto run = [&](const std::string& packet) {
    return answer_query(packet, r, s, 1, dns_transport::udp, rng);
  };
  CHECK(run("").action == dns_outcome::drop);
  CHECK(run(std::string("\x12\x34\x01", 3)).action == dns_outcome::drop);
  // A header that promises a question it does not have.
  std::string header("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  auto formerr = run(header);
  REQUIRE(formerr.action == dns_outcome::reply);
  auto reply = parse_dns_reply(formerr.wire);
  CHECK(reply.id == 0x1234);
  CHECK(reply.rcode == LDNS_RCODE_FORMERR);
  // A name that points at itself (a compression loop).
  auto loop = header + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  CHECK(parse_dns_reply(run(loop).wire).rcode == LDNS_RCODE_FORMERR);
  // A pointer past the end.
  auto past = header + std::string("\xc0\xff\x00\x01\x00\x01", 6);
  CHECK(parse_dns_reply(run(past).wire).rcode == LDNS_RCODE_FORMERR);
  // Huge counts.
  std::string huge("\x12\x34\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff", 12);
  CHECK(parse_dns_reply(run(huge + "\x00").wire).rcode == LDNS_RCODE_FORMERR);
  // A response is never answered (no reflection loops).
  auto response = dns_query("nginx.marathon.mesos.", "A");
  response[2] = static_cast<char>(response[2] | 0x80);
  CHECK(run(response).action == dns_outcome::drop);
  // Random bytes.
  std::minstd_rand bytes{7};
  for (int i = 0; i < 2000; ++i) {
    std::string packet(bytes() % 80, '\0');
    for (auto& c : packet)
      c = static_cast<char>(bytes());
    auto out = run(packet);
    if (out.action == dns_outcome::reply)
      CHECK(parse_dns_reply(out.wire).parsed);
  }
}

TEST_CASE("config.json: Mesos-DNS' fields, defaults kept, bad fields named") {
  auto cfg = default_config();
  REQUIRE_FALSE(load_config_json(R"({
    "zk": "zk://10.0.0.1:2181/mesos", "masters": ["10.0.0.1:5050"],
    "refreshSeconds": 60, "ttl": 30, "domain": "Cluster.Local", "port": 5353,
    "resolvers": ["127.0.0.1:5300", "10.0.0.53"], "timeout": 2,
    "listener": "127.0.0.1", "SOAMname": "ns1.cluster.local",
    "IPSources": ["host"], "externalOn": false,
    "zoneResolvers": {"corp.example": ["10.9.9.9"]}})",
                                 cfg));
  auto s = make_settings(cfg);
  REQUIRE(s);
  CHECK(s->zone == "cluster.local.");
  CHECK(s->config.ttl() == 30);
  CHECK(s->config.http_port() == 8123); // not in the file: the default
  CHECK_FALSE(s->config.external_on());
  REQUIRE(s->resolvers.size() == 2);
  CHECK(s->resolvers[0].port == 5300);
  CHECK(s->resolvers[1].port == 53);
  REQUIRE(s->zone_resolvers.size() == 1);
  CHECK(s->zone_resolvers[0].first == "corp.example.");

  auto unchanged = default_config();
  auto err = load_config_json(R"({"Bogus": 1})", unchanged);
  REQUIRE(err);
  CHECK(describe_reason(err).find("Bogus") != std::string::npos);
  CHECK(unchanged.SerializeAsString() == default_config().SerializeAsString());

  auto bad = default_config();
  bad.clear_ip_sources();
  bad.add_ip_sources("magic");
  auto e1 = make_settings(bad);
  REQUIRE_FALSE(e1);
  CHECK(describe_reason(e1.error()).rfind("IPSources:", 0) == 0);
  bad = default_config();
  bad.add_resolvers("not-an-ip");
  auto e2 = make_settings(bad);
  REQUIRE_FALSE(e2);
  CHECK(describe_reason(e2.error()).rfind("Resolvers:", 0) == 0);
}
