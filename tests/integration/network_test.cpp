// dcos::isolation::network_manager on this host, as root: real bridges,
// veths, iptables rules, and "containers" that are processes in network
// namespaces of their own (`unshare --net sleep`). Reachability is checked
// with ping from inside the namespaces.
//
// The networks use 10.231.0.0/16 and bridges named dcostest-*; every test
// removes them, our iptables chains and the jumps to them before and after
// it runs, so a crashed run does not poison the next.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"
#include "linux/container_dns.hpp"
#include "linux/network.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/skip.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace dcos::isolation;
namespace fs = std::filesystem;

namespace {

struct command_result {
  int status = -1;
  std::string output; // stdout only
};

// Runs `argv` to its end; stderr is dropped (failures are expected here).
command_result run(std::vector<std::string> argv) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  REQUIRE_MESSAGE(p, why(p));
  auto out = p->read_all(std::chrono::seconds(30));
  REQUIRE_MESSAGE(out, why(out));
  return {p->wait(), *out};
}

const std::vector<std::string> test_bridges{"dcostest-a", "dcostest-b",
                                            "dcostest-c"};

// Removes what prepare() and attach() add to the host, and puts
// ip_forward back as it was.
struct host_cleanup {
  std::string ip_forward = read_file("/proc/sys/net/ipv4/ip_forward");

  host_cleanup() { remove(); }

  ~host_cleanup() {
    remove();
    std::ofstream{"/proc/sys/net/ipv4/ip_forward"} << ip_forward;
  }

  static void remove() {
    const std::vector<std::vector<std::string>> jumps{
      {"filter", "FORWARD", "-j", "DCOS-ISOLATION"},
      {"nat", "POSTROUTING", "-j", "DCOS-MASQ"},
      {"nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j",
       "DCOS-DNAT"},
      {"nat", "OUTPUT", "!", "-d", "127.0.0.0/8", "-m", "addrtype",
       "--dst-type", "LOCAL", "-j", "DCOS-DNAT"},
    };
    for (const auto& jump : jumps) {
      std::vector<std::string> argv{"iptables", "-w", "-t", jump[0], "-D"};
      argv.insert(argv.end(), jump.begin() + 1, jump.end());
      while (run(argv).status == 0) {
      }
    }
    for (auto [table, chain] : {std::pair{"filter", "DCOS-ISOLATION"},
                                std::pair{"nat", "DCOS-MASQ"},
                                std::pair{"nat", "DCOS-DNAT"}}) {
      run({"iptables", "-w", "-t", table, "-F", chain});
      run({"iptables", "-w", "-t", table, "-X", chain});
    }
    for (const auto& bridge : test_bridges)
      run({"ip", "link", "del", bridge});
  }
};

bool on_path(const std::string& program) {
  std::stringstream dirs{std::getenv("PATH") ? std::getenv("PATH") : ""};
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (::access((dir + "/" + program).c_str(), X_OK) == 0)
      return true;
  return false;
}

// ping, or BusyBox's when iputils is not installed.
std::vector<std::string> ping_program() {
  if (on_path("ping"))
    return {"ping"};
  if (::access("/bin/busybox", X_OK) == 0)
    return {"/bin/busybox", "ping"};
  FAIL("neither ping (iputils-ping) nor /bin/busybox is installed: "
       "reachability cannot be tested");
  return {};
}

std::vector<std::string> in_netns(pid_t pid, std::vector<std::string> argv) {
  argv.insert(argv.begin(),
              {"nsenter", "--net=/proc/" + std::to_string(pid) + "/ns/net"});
  return argv;
}

bool reaches(pid_t from, const std::string& ip) {
  auto argv = ping_program();
  argv.insert(argv.end(), {"-c1", "-W2", ip});
  return run(in_netns(from, argv)).status == 0;
}

// The IPv4 addresses (with prefix) of `ifname` in the namespace of `pid`.
std::vector<std::string> addresses(pid_t pid, const std::string& ifname) {
  auto shown = run(in_netns(pid, {"ip", "-4", "-o", "addr", "show", "dev",
                                  ifname}));
  std::vector<std::string> found;
  std::istringstream words{shown.output};
  for (std::string word; words >> word;)
    if (word == "inet" && words >> word)
      found.push_back(word);
  return found;
}

// A container's first process: a namespace of its own, nothing else.
subprocess start_container() {
  subprocess_options opts;
  opts.argv = {"unshare", "--net", "sleep", "60"};
  auto p = subprocess::spawn(opts);
  REQUIRE_MESSAGE(p, why(p));
  // unshare execs sleep after it has made the namespace.
  auto comm = "/proc/" + std::to_string(p->pid()) + "/comm";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (read_file(comm) != "sleep\n"
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(read_file(comm) == "sleep\n");
  return std::move(*p);
}

v1::NetworkInfo on(const std::string& network) {
  v1::NetworkInfo info;
  info.set_name(network);
  return info;
}

network_config net_a() {
  return {"testa", "10.231.1.0/24", "dcostest-a", {}};
}

network_config net_b(std::vector<std::string> allow = {}) {
  return {"testb", "10.231.2.0/24", "dcostest-b", std::move(allow)};
}

network_config net_c() {
  return {"testc", "10.231.3.0/30", "dcostest-c", {}};
}

// Members are destroyed in reverse: containers are detached and killed
// before the host is cleaned.
struct network_fixture {
  host_cleanup host;
  scratch_dir state;
  network_manager manager;
  std::vector<subprocess> containers;

  explicit network_fixture(std::vector<network_config> networks,
                           std::chrono::seconds ended_patience
                           = std::chrono::seconds{10})
    : manager(std::move(networks), state.path + "/network", ended_patience) {
    auto err = manager.prepare();
    REQUIRE_MESSAGE(!err, describe(err));
  }

  ~network_fixture() { manager.cleanup_except({}); }

  pid_t start() {
    containers.push_back(start_container());
    return containers.back().pid();
  }

  // Attaches a new container to `network` and returns its address.
  std::string attach(const std::string& id, const std::string& network,
                     pid_t pid) {
    auto got = manager.attach(id, on(network), pid);
    REQUIRE_MESSAGE(got, why(got));
    REQUIRE(got->ip_addresses_size() == 1);
    CHECK(got->ip_addresses(0).protocol() == v1::NetworkInfo::IPv4);
    CHECK(got->name() == network);
    return got->ip_addresses(0).ip_address();
  }

  // Files under the state directory that mention `id` in name or content.
  std::vector<std::string> files_of(const std::string& id) const {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(state.path)) {
      auto path = entry.path().string();
      auto name = entry.path().lexically_relative(state.path).string();
      if (name.find(id) != std::string::npos
          || (entry.is_regular_file() && read_file(path) == id))
        found.push_back(path);
    }
    return found;
  }
};

// The response to GET `path` from ip:port, or "" (BusyBox's wget crashes on
// some systems, and curl may be missing).
std::string http_get(const std::string& ip, uint16_t port,
                     const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    auto request = "GET " + path + " HTTP/1.0\r\n\r\n";
    if (::write(fd, request.data(), request.size())
        == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
        response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

// The veths enslaved to `bridge`.
std::vector<std::string> ports_of(const std::string& bridge) {
  auto shown = run({"ip", "-o", "link", "show", "master", bridge});
  std::vector<std::string> names;
  std::istringstream lines{shown.output};
  for (std::string line; std::getline(lines, line);) {
    auto start = line.find(": ") + 2;
    auto end = line.find_first_of("@:", start);
    names.push_back(line.substr(start, end - start));
  }
  return names;
}

} // namespace

TEST_CASE("--default_container_dns: Mesos' form, the entry for a network, "
          "bad fields named") {
  auto dns = parse_container_dns(R"({"mesos": [
      {"network_mode": "CNI", "network_name": "blue",
       "dns": {"nameservers": ["10.210.1.1"], "search": ["marathon.mesos"],
               "options": ["timeout:2"]}},
      {"network_mode": "CNI", "dns": {"nameservers": ["10.0.0.53"]}},
      {"network_mode": "HOST", "dns": {"nameservers": ["127.0.0.1", "::1"]}}],
    "docker": [{"network_mode": "BRIDGE",
                "dns": {"nameservers": ["8.8.8.8"]}}]})");
  REQUIRE_MESSAGE(dns, why(dns));
  auto blue = container_dns_for(*dns, "blue");
  REQUIRE(blue);
  CHECK(resolv_conf(*blue)
        == "# Written by the agent (--default_container_dns)\n"
           "search marathon.mesos\nnameserver 10.210.1.1\n"
           "options timeout:2\n");
  // Another network: the entry without a name; the host's: HOST.
  auto red = container_dns_for(*dns, "red");
  REQUIRE(red);
  CHECK(red->nameservers(0) == "10.0.0.53");
  auto host = container_dns_for(*dns, "");
  REQUIRE(host);
  CHECK(host->nameservers_size() == 2);
  // No entry applies: nothing (the container keeps the host's file).
  auto only_blue = parse_container_dns(
    R"({"mesos": [{"network_mode": "CNI", "network_name": "blue",
                   "dns": {"nameservers": ["10.210.1.1"]}}]})");
  REQUIRE(only_blue);
  CHECK_FALSE(container_dns_for(*only_blue, "red"));
  CHECK_FALSE(container_dns_for(*only_blue, ""));

  auto error_of = [](std::string_view json) {
    auto got = parse_container_dns(json);
    REQUIRE_FALSE(got);
    return describe(got.error());
  };
  CHECK(error_of(R"({"mesos": [{"network_mode": "CNI",
                     "dns": {"nameservers": ["dns.example"]}}]})")
        == "invalid_argument: mesos[0].dns.nameservers[0]: 'dns.example' is "
           "not an IP address");
  CHECK(error_of(R"({"mesos": [{"network_mode": "CNI", "dns": {}}]})")
        == "invalid_argument: mesos[0].dns.nameservers: at least one is "
           "needed");
  CHECK(error_of(R"({"mesos": [{"dns": {"nameservers": ["1.1.1.1"]}}]})")
        == "invalid_argument: mesos[0].network_mode: must be HOST or CNI");
  CHECK(error_of(R"({"mesos": [{"network_mode": "HOST", "network_name": "x",
                     "dns": {"nameservers": ["1.1.1.1"]}}]})")
        == "invalid_argument: mesos[0].network_name: a HOST entry names no "
           "network");
  CHECK(error_of(R"({"mesos": [
      {"network_mode": "CNI", "network_name": "blue",
       "dns": {"nameservers": ["1.1.1.1"]}},
      {"network_mode": "CNI", "network_name": "blue",
       "dns": {"nameservers": ["1.1.1.2"]}}]})")
        == "invalid_argument: mesos[1]: a second entry for network 'blue'");
  CHECK(error_of(R"({"mesos": [{"network_mode": "CNI",
                     "dns": {"nameservers": ["1.1.1.1"],
                             "search": ["a b"]}}]})")
        == "invalid_argument: mesos[0].dns.search[0]: 'a b' is not one word");
  CHECK(error_of(R"({"mesos": [{"network_mode": "CNI"}]})")
        == "invalid_argument: mesos[0].dns: required");
  CHECK(error_of("{").find("default_container_dns") != std::string::npos);
}

TEST_CASE("parse_network_configs reads networks and names bad fields") {
  auto ok = parse_network_configs(
    R"([{"name":"blue","subnet":"10.210.1.0/24"},
        {"name":"red","subnet":"10.210.2.0/24","bridge":"br-red",
         "allow":["blue"]}])");
  REQUIRE_MESSAGE(ok, why(ok));
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].name == "blue");
  CHECK((*ok)[0].subnet == "10.210.1.0/24");
  CHECK((*ok)[0].bridge == "dcos-blue");
  CHECK((*ok)[0].allow.empty());
  CHECK((*ok)[1].bridge == "br-red");
  CHECK((*ok)[1].allow == std::vector<std::string>{"blue"});
  auto none = parse_network_configs("[]");
  REQUIRE_MESSAGE(none, why(none));
  CHECK(none->empty());

  auto error_of = [](std::string_view json) {
    auto got = parse_network_configs(json);
    REQUIRE_FALSE(got);
    return describe(got.error());
  };
  auto blue = R"({"name":"blue","subnet":"10.210.1.0/24"})";
  auto list = [&](const std::string& second) {
    return std::string{"["} + blue + "," + second + "]";
  };
  CHECK(error_of("[{").find("parse_error: networks: ") == 0);
  CHECK(error_of(R"({"name":"blue"})")
        == "invalid_argument: networks: expected a JSON array of networks");
  CHECK(error_of(list(R"({"name":"red","subnet":"10.0.0.0/33"})"))
        == "invalid_argument: networks[1].subnet: '10.0.0.0/33' is not an "
           "IPv4 CIDR like 10.210.1.0/24");
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.9.0/31"})"))
          .find("networks[1].subnet: '10.210.9.0/31': the prefix")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.9.1/24"})"))
          .find("networks[1].subnet: '10.210.9.1/24' has host bits set")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.0.0/16"})"))
        == "invalid_argument: networks[1].subnet: '10.210.0.0/16' overlaps "
           "networks[0] (blue, 10.210.1.0/24)");
  CHECK(error_of(list(R"({"name":"blue","subnet":"10.210.2.0/24"})"))
          .find("networks[1].name: 'blue' is also networks[0]")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"Red","subnet":"10.210.2.0/24"})"))
          .find("networks[1].name: 'Red'")
        != std::string::npos);
  CHECK(error_of(list(R"({"subnet":"10.210.2.0/24"})"))
          .find("networks[1].name: missing")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.2.0/24",
                          "bridge":"much-too-long-name"})"))
          .find("networks[1].bridge: 'much-too-long-name'")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.2.0/24",
                          "bridge":"dcos-blue"})"))
          .find("networks[1].bridge: 'dcos-blue' is also the bridge of "
                "networks[0]")
        != std::string::npos);
  CHECK(error_of(R"([{"name":"abcdefghij-1","subnet":"10.210.1.0/24"},
                     {"name":"abcdefghij-2","subnet":"10.210.2.0/24"}])")
          .find("networks[1].bridge: 'dcos-abcdefghij'")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":"10.210.2.0/24",
                          "allow":["blue","green"]})"))
          .find("networks[1].allow[1]: 'green' is not a configured network")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnets":"10.210.2.0/24"})"))
          .find("networks[1].subnets: unknown field")
        != std::string::npos);
  CHECK(error_of(list(R"({"name":"red","subnet":24})"))
          .find("networks[1].subnet: expected a string")
        != std::string::npos);
}

TEST_CASE("containers reach their own network and, when allowed, others") {
  network_fixture f{{net_a(), net_b()}};
  auto one = f.start();
  auto two = f.start();
  auto other = f.start();
  auto ip_one = f.attach("one", "testa", one);
  auto ip_two = f.attach("two", "testa", two);
  auto ip_other = f.attach("other", "testb", other);
  CHECK(ip_one == "10.231.1.2");
  CHECK(ip_two == "10.231.1.3");
  CHECK(ip_other == "10.231.2.2");
  CHECK(addresses(one, "eth0") == std::vector<std::string>{ip_one + "/24"});
  CHECK(addresses(two, "eth0") == std::vector<std::string>{ip_two + "/24"});
  CHECK(addresses(other, "eth0")
        == std::vector<std::string>{ip_other + "/24"});

  CHECK(reaches(one, ip_two));
  CHECK(reaches(two, ip_one));
  CHECK(reaches(other, "10.231.2.1")); // the gateway
  CHECK_FALSE(reaches(one, ip_other));
  CHECK_FALSE(reaches(other, ip_one));

  SUBCASE("prepare() again with testb allowing testa") {
    network_manager allowing{{net_a(), net_b({"testa"})},
                             f.state.path + "/network"};
    auto err = allowing.prepare();
    REQUIRE_MESSAGE(!err, describe(err));
    CHECK(reaches(one, ip_other));
    CHECK_FALSE(reaches(other, ip_one)); // testa does not allow testb
  }

  SUBCASE("prepare() is idempotent") {
    auto err = f.manager.prepare();
    REQUIRE_MESSAGE(!err, describe(err));
    auto rules = run({"iptables", "-w", "-S", "FORWARD"}).output;
    auto first = rules.find("-j DCOS-ISOLATION");
    CHECK(first != std::string::npos);
    CHECK(rules.find("-j DCOS-ISOLATION", first + 1) == std::string::npos);
    CHECK(reaches(one, ip_two));
    CHECK_FALSE(reaches(one, ip_other));
  }
}

TEST_CASE("detach releases the address and a full subnet is unavailable") {
  network_fixture f{{net_a(), net_c()}};
  auto first = f.start();
  auto second = f.start();
  CHECK(f.attach("first", "testa", first) == "10.231.1.2");
  CHECK(f.attach("second", "testa", second) == "10.231.1.3");
  f.manager.detach("first");
  CHECK(ports_of("dcostest-a").size() == 1);
  CHECK(f.files_of("first").empty());
  f.manager.detach("first"); // idempotent
  auto third = f.start();
  CHECK(f.attach("third", "testa", third) == "10.231.1.2");
  CHECK(reaches(third, "10.231.1.3"));

  // A failure half-way through the plumbing is undone.
  auto clash = f.start();
  REQUIRE(run(in_netns(clash, {"ip", "link", "add", "eth0", "type", "bridge"}))
            .status
          == 0);
  auto failed = f.manager.attach("clash", on("testa"), clash);
  REQUIRE_FALSE(failed);
  CHECK(describe(failed.error()).find("name eth0` failed")
        != std::string::npos);
  CHECK(describe(failed.error()).find("File exists") != std::string::npos);
  CHECK(f.files_of("clash").empty());
  CHECK(ports_of("dcostest-a").size() == 2);

  // A /30: the gateway and one container.
  auto only = f.start();
  CHECK(f.attach("only", "testc", only) == "10.231.3.2");
  auto extra = f.start();
  auto full = f.manager.attach("extra", on("testc"), extra);
  REQUIRE_FALSE(full);
  CHECK(code_of(full.error()) == errc::unavailable);
  CHECK(describe(full.error()).find("testc") != std::string::npos);
  CHECK(f.files_of("extra").empty());
  CHECK(ports_of("dcostest-c").size() == 1);

  auto unknown = f.manager.attach("extra", on("nowhere"), extra);
  REQUIRE_FALSE(unknown);
  CHECK(code_of(unknown.error()) == errc::not_found);

  auto twice = f.manager.attach("only", on("testc"), only);
  REQUIRE_FALSE(twice);
  CHECK(code_of(twice.error()) == errc::conflict);

  auto host = f.manager.attach("host", on("testa"), ::getpid());
  REQUIRE_FALSE(host);
  CHECK(code_of(host.error()) == errc::invalid_argument);
  CHECK(f.files_of("host").empty());
}

// A mapping of `host_port` to the container's port 80.
v1::NetworkInfo mapped(uint16_t host_port) {
  auto request = on("testa");
  auto* mapping = request.add_port_mappings();
  mapping->set_host_port(host_port);
  mapping->set_container_port(80);
  return request;
}

TEST_CASE("port mappings add DNAT rules and conflict when taken") {
  network_fixture f{{net_a()}};
  auto host_port = free_port();
  auto web = f.start();
  auto request = mapped(host_port);
  auto got = f.manager.attach("web", request, web);
  REQUIRE_MESSAGE(got, why(got));
  auto ip = got->ip_addresses(0).ip_address();
  auto rules = run({"iptables", "-w", "-t", "nat", "-S", "DCOS-DNAT"}).output;
  CHECK(rules.find("--dport " + std::to_string(host_port) + " ")
        != std::string::npos);
  CHECK(rules.find("--to-destination " + ip + ":80") != std::string::npos);
  CHECK(rules.find("dcos:web") != std::string::npos);

  auto other = f.start();
  auto taken = f.manager.attach("other", request, other);
  REQUIRE_FALSE(taken);
  CHECK(code_of(taken.error()) == errc::conflict);
  CHECK(describe(taken.error()).find("tcp/" + std::to_string(host_port))
        != std::string::npos);
  CHECK(f.files_of("other").empty());

  auto udp = request;
  udp.mutable_port_mappings(0)->set_protocol("udp");
  auto got_udp = f.manager.attach("other", udp, other);
  CHECK_MESSAGE(got_udp, why(got_udp));

  f.manager.detach("web");
  rules = run({"iptables", "-w", "-t", "nat", "-S", "DCOS-DNAT"}).output;
  CHECK(rules.find("dcos:web") == std::string::npos);
  CHECK(rules.find("dcos:other") != std::string::npos);
}

// Its own meson test (network_forwarding): it skips without busybox.
TEST_CASE("a mapped host port reaches a server in the container") {
  if (!on_path("busybox"))
    return skip("busybox is not installed: no HTTP server to run in the "
                "container");
  network_fixture f{{net_a()}};
  auto host_port = free_port();
  auto web = f.start();
  auto got = f.manager.attach("web", mapped(host_port), web);
  REQUIRE_MESSAGE(got, why(got));
  // An HTTP server in the container, reached through the gateway's address
  // (local to the host, hence DNAT in OUTPUT).
  scratch_dir site;
  std::ofstream{site.path + "/hello"} << "hi\n";
  subprocess_options opts;
  opts.argv = in_netns(web, {"busybox", "httpd", "-f", "-p", "80", "-h",
                             site.path});
  auto server = subprocess::spawn(opts);
  REQUIRE_MESSAGE(server, why(server));
  std::string response;
  for (int attempt = 0; attempt < 50; ++attempt) {
    response = http_get("10.231.1.1", host_port, "/hello");
    if (response.find("200 OK") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(response.find("200 OK") != std::string::npos);
  CHECK(response.ends_with("\r\n\r\nhi\n"));
  server->terminate();
}

TEST_CASE("detach_ended frees the ports at once and the address once the "
          "namespace has taken the veth along") {
  network_fixture f{{net_a()}};
  auto host_port = free_port();
  auto ending = f.start();
  auto got = f.manager.attach("ending", mapped(host_port), ending);
  REQUIRE_MESSAGE(got, why(got));
  CHECK(got->ip_addresses(0).ip_address() == "10.231.1.2");
  // Its process still runs (as while a kill is under way): the veth stays.
  f.manager.detach_ended("ending");
  auto rules = run({"iptables", "-w", "-t", "nat", "-S", "DCOS-DNAT"}).output;
  CHECK(rules.find("dcos:ending") == std::string::npos);
  CHECK(ports_of("dcostest-a").size() == 1);
  f.manager.detach_ended("ending"); // idempotent
  // Its host port is free for the next container; its address is not.
  auto next = f.start();
  auto second = f.manager.attach("next", mapped(host_port), next);
  REQUIRE_MESSAGE(second, why(second));
  CHECK(second->ip_addresses(0).ip_address() == "10.231.1.3");
  CHECK_FALSE(f.files_of("ending").empty());
  // Its last process ends: the kernel deletes the namespace and the veth.
  f.containers.front().terminate();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ports_of("dcostest-a").size() > 1
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(ports_of("dcostest-a").size() == 1);
  auto third = f.start();
  CHECK(f.attach("third", "testa", third) == "10.231.1.2");
  CHECK(f.files_of("ending").empty());
  CHECK(reaches(third, "10.231.1.3"));
}

TEST_CASE("a subnet full of ended containers' addresses makes room; an "
          "ended id is not attached again until released") {
  network_fixture f{{net_a(), net_c()}};
  // A /30 holds one container. Its process still runs: the veth stays.
  auto first = f.start();
  CHECK(f.attach("first", "testc", first) == "10.231.3.2");
  f.manager.detach_ended("first");
  CHECK(ports_of("dcostest-c").size() == 1);
  auto second = f.start();
  CHECK(f.attach("second", "testc", second) == "10.231.3.2");
  CHECK(ports_of("dcostest-c").size() == 1);
  CHECK(addresses(first, "eth0").empty());
  CHECK(f.files_of("first").empty());

  auto reused = f.start();
  CHECK(f.attach("reused", "testa", reused) == "10.231.1.2");
  f.manager.detach_ended("reused");
  auto again = f.start();
  auto refused = f.manager.attach("reused", on("testa"), again);
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::conflict);
  CHECK(describe(refused.error()).find("still being released")
        != std::string::npos);
}

TEST_CASE("detach_ended deletes a veth that outlives its patience") {
  network_fixture f{{net_a()}, std::chrono::seconds{0}};
  auto held = f.start(); // its namespace stays: the process never ends
  CHECK(f.attach("held", "testa", held) == "10.231.1.2");
  f.manager.detach_ended("held");
  CHECK(ports_of("dcostest-a").size() == 1);
  // The next attach finds the mark past its patience.
  auto next = f.start();
  CHECK(f.attach("next", "testa", next) == "10.231.1.2");
  CHECK(ports_of("dcostest-a").size() == 1);
  CHECK(addresses(held, "eth0").empty());
  CHECK(f.files_of("held").empty());
}

TEST_CASE("cleanup_except releases what containers no longer live hold") {
  network_fixture f{{net_a()}};
  auto live = f.start();
  auto leaked = f.start(); // its namespace outlived the agent's knowledge
  auto ip_live = f.attach("live", "testa", live);
  f.attach("leaked", "testa", leaked);
  auto dead = f.start();
  f.attach("dead", "testa", dead);
  f.containers.back().terminate();
  REQUIRE(ports_of("dcostest-a").size() >= 2);

  // A second manager, as after an agent restart.
  network_manager restarted{{net_a()}, f.state.path + "/network"};
  restarted.cleanup_except({"live"});
  CHECK(f.files_of("leaked").empty());
  CHECK(f.files_of("dead").empty());
  CHECK_FALSE(f.files_of("live").empty());
  CHECK(ports_of("dcostest-a").size() == 1);
  CHECK(addresses(leaked, "eth0").empty());
  CHECK(addresses(live, "eth0") == std::vector<std::string>{ip_live + "/24"});
  CHECK(reaches(live, "10.231.1.1"));
}
