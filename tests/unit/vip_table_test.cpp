// The VIP table that Minuteman balances and Mesos-DNS names
// (dcos/vip_table.hpp): labels, names, addresses and backends.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "dcos/error.hpp"
#include "dcos/vip_table.hpp"

using namespace dcos;

namespace {

using GetState = v1::master::Response::GetState;

void add_framework(GetState& s, const std::string& id,
                   const std::string& name) {
  auto* f = s.mutable_get_frameworks()->add_frameworks();
  f->mutable_framework_info()->mutable_id()->set_value(id);
  f->mutable_framework_info()->set_name(name);
}

void add_agent(GetState& s, const std::string& id, const std::string& ip) {
  auto* a = s.mutable_get_agents()->add_agents();
  a->mutable_agent_info()->mutable_id()->set_value(id);
  a->mutable_agent_info()->set_hostname(ip);
  a->set_pid("slave(1)@" + ip + ":5051");
}

struct port_spec {
  uint32_t number;
  std::string vip;
  std::string scope = {};
  std::string protocol = "tcp";
};

v1::Task& add_task(GetState& s, const std::string& id,
                   const std::string& agent, std::vector<port_spec> ports,
                   v1::TaskState state = v1::TASK_RUNNING,
                   bool unreachable = false) {
  auto* t = unreachable ? s.mutable_get_tasks()->add_unreachable_tasks()
                        : s.mutable_get_tasks()->add_tasks();
  t->mutable_task_id()->set_value(id);
  t->mutable_framework_id()->set_value("F1");
  t->mutable_agent_id()->set_value(agent);
  t->set_state(state);
  auto* st = t->add_statuses();
  st->set_state(state);
  auto* d = t->mutable_discovery();
  d->set_name(id);
  for (const auto& p : ports) {
    auto* port = d->mutable_ports()->add_ports();
    port->set_number(p.number);
    port->set_protocol(p.protocol);
    auto* l = port->mutable_labels()->add_labels();
    l->set_key("VIP_0");
    l->set_value(p.vip);
    if (!p.scope.empty()) {
      auto* scope = port->mutable_labels()->add_labels();
      scope->set_key("network-scope");
      scope->set_value(p.scope);
    }
  }
  return *t;
}

GetState base() {
  GetState s;
  add_framework(s, "F1", "Marathon");
  add_agent(s, "A1", "10.0.0.1");
  add_agent(s, "A2", "10.0.0.2");
  return s;
}

std::set<std::string> backends(const vip_entry& e) {
  std::set<std::string> out;
  for (const auto& b : e.backends)
    out.insert(b.ip + ":" + std::to_string(b.port));
  return out;
}

} // namespace

TEST_CASE("VIP labels: named, nested, addresses, and what is refused") {
  auto named = parse_vip_label("/web:80");
  REQUIRE(named);
  CHECK(named->name == "web");
  CHECK(named->ip.empty());
  CHECK(named->port == 80);
  auto bare = parse_vip_label("myservice:6666");
  REQUIRE(bare);
  CHECK(bare->name == "myservice");
  auto nested = parse_vip_label("/prod/db:5432");
  REQUIRE(nested);
  CHECK(nested->name == "prod/db");
  auto ip = parse_vip_label("192.168.0.100:80");
  REQUIRE(ip);
  CHECK(ip->ip == "192.168.0.100");
  CHECK(ip->name.empty());
  auto v6 = parse_vip_label("[fd01::1]:443");
  REQUIRE(v6);
  CHECK(v6->ip == "fd01::1");
  for (auto bad : {"/web", "/web:", "/web:0", "/web:65536", "/web:8o", ":80",
                   "/:80", "/we b:80", "[nope]:80", "/web:-1"}) {
    CAPTURE(bad);
    auto r = parse_vip_label(bad);
    REQUIRE(!r);
    CHECK(describe(r.error()).find(bad) != std::string::npos);
  }
}

TEST_CASE("VIP names and addresses are stable, in 11.0.0.0/8") {
  CHECK(vip_dns_name("web", "Marathon") == "web.marathon.l4lb.thisdcos.directory");
  CHECK(vip_dns_name("prod/DB", "marathon")
        == "proddb.marathon.l4lb.thisdcos.directory");
  CHECK(vip_dns_name("/My_App.v2", "my.Framework")
        == "my-app.v2.my.framework.l4lb.thisdcos.directory");
  CHECK(vip_dns_name("/__", "marathon").empty());
  auto a = vip_hash_address("web.marathon.l4lb.thisdcos.directory");
  CHECK(a == vip_hash_address("web.marathon.l4lb.thisdcos.directory"));
  CHECK(a.rfind("11.", 0) == 0);
  CHECK(a != vip_hash_address("api.marathon.l4lb.thisdcos.directory"));
  // Every one of many names gets its own address.
  GetState s = base();
  for (int i = 0; i < 3000; ++i)
    add_task(s, "t" + std::to_string(i), "A1",
             {{31000, "/app" + std::to_string(i) + ":80"}});
  auto table = build_vip_table(s);
  REQUIRE(table.vips.size() == 3000);
  std::set<std::string> ips;
  for (const auto& v : table.vips) {
    CHECK(v.ip.rfind("11.", 0) == 0);
    CHECK(v.ip != "11.0.0.0");
    CHECK(v.ip != "11.255.255.255");
    ips.insert(v.ip);
  }
  CHECK(ips.size() == 3000);
}

TEST_CASE("colliding names: the first in order keeps its hash address") {
  // Find two names whose hashes collide.
  std::map<std::string, std::string> seen;
  std::string first, second;
  for (int i = 0; first.empty(); ++i) {
    auto n = "n" + std::to_string(i);
    auto ip = vip_hash_address(vip_dns_name(n, "marathon"));
    auto [it, fresh] = seen.emplace(ip, n);
    if (!fresh) {
      first = std::min(it->second, n);
      second = std::max(it->second, n);
    }
  }
  auto hashed = vip_hash_address(vip_dns_name(first, "marathon"));
  GetState s = base();
  add_task(s, "a", "A1", {{31000, "/" + second + ":80"}});
  add_task(s, "b", "A1", {{31001, "/" + first + ":80"}});
  auto table = build_vip_table(s);
  REQUIRE(table.vips.size() == 2);
  std::map<std::string, std::string> by_name;
  for (const auto& v : table.vips)
    by_name[v.name] = v.ip;
  CHECK(by_name[first] == hashed);
  CHECK(by_name[second] != hashed);
  CHECK(by_name[second].rfind("11.", 0) == 0);
}

TEST_CASE("backends: host ports, container addresses, and one per task") {
  GetState s = base();
  add_task(s, "h1", "A1", {{31000, "/web:80"}});
  add_task(s, "h2", "A2", {{31005, "/web:80"}});
  auto& c = add_task(s, "c1", "A1",
                     {{8080, "/web:80", "container"},
                      {31010, "/web:80", "host"}});
  c.mutable_statuses(0)
    ->mutable_container_status()
    ->add_network_infos()
    ->add_ip_addresses()
    ->set_ip_address("172.31.0.5");
  add_task(s, "u1", "A1", {{5353, "/dns:53", {}, "udp"}});
  auto table = build_vip_table(s);
  REQUIRE(table.vips.size() == 2);
  const auto& web = table.vips[0].protocol == "tcp" ? table.vips[0]
                                                     : table.vips[1];
  const auto& dns = table.vips[0].protocol == "udp" ? table.vips[0]
                                                     : table.vips[1];
  CHECK(web.dns_name == "web.marathon.l4lb.thisdcos.directory");
  CHECK(web.port == 80);
  CHECK(backends(web)
        == std::set<std::string>{"10.0.0.1:31000", "10.0.0.2:31005",
                                 "172.31.0.5:8080"});
  CHECK(dns.protocol == "udp");
  CHECK(backends(dns) == std::set<std::string>{"10.0.0.1:5353"});
  CHECK(table.find(web.key()) == &web);
  CHECK(web.key() == "tcp://" + web.ip + ":80");
  CHECK(table.find("tcp://1.2.3.4:80") == nullptr);
}

TEST_CASE("backends: unhealthy and killing tasks drain; unreachable ones "
          "stay only as the last resort") {
  GetState s = base();
  add_task(s, "ok", "A1", {{31000, "10.10.10.10:80"}});
  auto& sick = add_task(s, "sick", "A1", {{31001, "10.10.10.10:80"}});
  sick.mutable_statuses(0)->set_healthy(false);
  add_task(s, "killing", "A1", {{31002, "10.10.10.10:80"}},
           v1::TASK_KILLING);
  add_task(s, "staging", "A1", {{31003, "10.10.10.10:80"}},
           v1::TASK_STAGING);
  add_task(s, "lost", "A2", {{31004, "10.10.10.10:80"}},
           v1::TASK_UNREACHABLE, true);
  auto table = build_vip_table(s);
  REQUIRE(table.vips.size() == 1);
  CHECK(table.vips[0].ip == "10.10.10.10");
  CHECK(backends(table.vips[0]) == std::set<std::string>{"10.0.0.1:31000"});

  // With no backend up, the unreachable one is kept.
  s.mutable_get_tasks()->mutable_tasks(0)->set_state(v1::TASK_KILLING);
  table = build_vip_table(s);
  REQUIRE(table.vips.size() == 1);
  REQUIRE(table.vips[0].backends.size() == 1);
  CHECK(table.vips[0].backends[0].task_id == "lost");
  CHECK(table.vips[0].backends[0].status == vip_backend::state::unreachable);

  // A VIP whose tasks all drain is still listed, without backends.
  s.mutable_get_tasks()->clear_unreachable_tasks();
  table = build_vip_table(s);
  REQUIRE(table.vips.size() == 1);
  CHECK(table.vips[0].backends.empty());
}

TEST_CASE("a malformed VIP label is reported and the rest still works") {
  GetState s = base();
  add_task(s, "good", "A1", {{31000, "/web:80"}});
  add_task(s, "bad", "A1", {{31001, "/web:http"}});
  auto table = build_vip_table(s);
  REQUIRE(table.vips.size() == 1);
  CHECK(backends(table.vips[0]) == std::set<std::string>{"10.0.0.1:31000"});
  REQUIRE(table.errors.size() == 1);
  CHECK(table.errors[0].task_id == "bad");
  CHECK(table.errors[0].label == "VIP_0");
  CHECK(table.errors[0].value == "/web:http");
  CHECK(table.errors[0].reason.find("port 'http'") != std::string::npos);
}
