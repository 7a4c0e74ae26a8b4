// Mesos-DNS' DNS edge against Unbound (issue #18): both serve the same
// 1,000 task names (A records) from local data, each pinned to core 0;
// dnsperf, on core 1, asks each of them the same queries for --seconds.
// Figures: queries per second and queries lost, per server, in one run.
// dcos-dns' side is its real server (dns_server, ldns) answering from a
// zone built by record_set from a master state of 1,000 running tasks.
//
//   mesos_dns_bench [--names=1000] [--seconds=10] [--clients=4]
//
// Needs dnsperf and unbound (Debian packages of those names); says so and
// exits 0 without figures when they are missing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/subprocess.hpp"
#include "host_tools.hpp"
#include "dns_server.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace dcos::mesos_dns;
using namespace std::chrono_literals;

namespace {

uint16_t free_udp_port() {
  // Bind port 0 on TCP and UDP alike through dns_server would be simpler,
  // but Unbound needs a number up front: take one the kernel hands out.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct perf_result {
  double qps = 0;
  long sent = 0;
  long lost = 0;
};

perf_result dnsperf(uint16_t port, const std::string& queries, int seconds,
                    int clients) {
  subprocess_options opts;
  opts.argv = {"taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p",
               std::to_string(port), "-d", queries, "-l",
               std::to_string(seconds), "-c", std::to_string(clients), "-q",
               "500"};
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  if (!p)
    return {};
  auto out = p->read_all(std::chrono::seconds(seconds + 30));
  p->wait();
  perf_result r;
  if (!out)
    return r;
  std::smatch m;
  if (std::regex_search(*out, m, std::regex(R"(Queries per second:\s+([0-9.]+))")))
    r.qps = std::stod(m[1]);
  if (std::regex_search(*out, m, std::regex(R"(Queries sent:\s+([0-9]+))")))
    r.sent = std::stol(m[1]);
  if (std::regex_search(*out, m, std::regex(R"(Queries lost:\s+([0-9]+))")))
    r.lost = std::stol(m[1]);
  return r;
}

} // namespace

int main(int argc, char** argv) {
  int names = 1000;
  int seconds = 10;
  int clients = 4;
  flags f{"mesos_dns_bench [flags]", "dcos-dns against Unbound, with dnsperf"};
  f.add(&names, "names", "task names served");
  f.add(&seconds, "seconds", "seconds dnsperf asks each server");
  f.add(&clients, "clients", "dnsperf's clients");
  parse_or_exit(f, argc, argv);
  if (!have("dnsperf") || !have("unbound") || !have("taskset")) {
    std::printf("{\"skipped\": \"needs dnsperf, unbound and taskset "
                "(apt-get install dnsperf unbound util-linux)\"}\n");
    return 0;
  }
  if (std::thread::hardware_concurrency() < 2) {
    std::printf("{\"skipped\": \"needs two cores\"}\n");
    return 0;
  }
  char dir_template[] = "/tmp/mesos-dns-bench-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);

  // The zone: `names` running tasks of framework "marathon" on one agent.
  auto cfg = default_config();
  cfg.set_listener("127.0.0.1");
  cfg.set_port(free_udp_port());
  cfg.set_external_on(false);
  auto settings = *make_settings(cfg);
  v1::master::Response::GetState state;
  auto* agent = state.mutable_get_agents()->add_agents();
  agent->mutable_agent_info()->mutable_id()->set_value("bench-S0");
  agent->set_pid("slave(1)@10.0.0.1:5051");
  auto* fw = state.mutable_get_frameworks()->add_frameworks();
  fw->mutable_framework_info()->mutable_id()->set_value("fw");
  fw->mutable_framework_info()->set_name("marathon");
  std::ofstream queries{dir + "/queries"};
  std::ofstream unbound_conf{dir + "/unbound.conf"};
  auto unbound_port = free_udp_port();
  unbound_conf << fmt::format(
    "server:\n  interface: 127.0.0.1\n  port: {}\n  do-daemonize: no\n"
    "  num-threads: 1\n  chroot: \"\"\n  username: \"\"\n  pidfile: \"\"\n"
    "  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n"
    "  access-control: 127.0.0.0/8 allow\n  do-ip6: no\n"
    "  local-zone: \"mesos.\" static\n",
    unbound_port);
  for (int i = 0; i < names; ++i) {
    auto name = fmt::format("app-{}", i);
    auto* t = state.mutable_get_tasks()->add_tasks();
    t->set_name(name);
    t->mutable_task_id()->set_value(name + ".1");
    t->mutable_framework_id()->set_value("fw");
    t->mutable_agent_id()->set_value("bench-S0");
    t->set_state(v1::TASK_RUNNING);
    queries << name << ".marathon.mesos A\n";
    unbound_conf << fmt::format(
      "  local-data: \"{}.marathon.mesos. 60 IN A 10.0.0.1\"\n", name);
  }
  queries.close();
  unbound_conf.close();
  v1::MasterInfo leader;
  leader.mutable_address()->set_ip("10.0.0.100");
  leader.mutable_address()->set_port(5050);
  auto zone = std::make_shared<zone_holder>();
  auto snapshot = std::make_shared<zone_snapshot>();
  snapshot->records = record_set::build(state, leader, settings);
  zone->publish(snapshot);

  // dcos-dns' server on core 0 (its thread inherits this affinity).
  pin_to(0);
  auto server = dns_server::start(settings, zone, 1, 1);
  if (!server) {
    std::fprintf(stderr, "cannot start the DNS server: %s\n",
                 describe_reason(server.error()).c_str());
    return 1;
  }
  pin_to(1);
  auto ours = dnsperf((*server)->port(), dir + "/queries", seconds, clients);
  (*server)->stop();

  subprocess_options uopts;
  uopts.argv = {"taskset", "-c", "0", "unbound", "-d", "-c",
                dir + "/unbound.conf"};
  uopts.stdout_path = dir + "/unbound.log";
  uopts.stderr_path = dir + "/unbound.log";
  auto unbound = subprocess::spawn(uopts);
  if (!unbound) {
    std::fprintf(stderr, "cannot start unbound\n");
    return 1;
  }
  std::this_thread::sleep_for(1s); // its socket is up well before this
  auto theirs = dnsperf(unbound_port, dir + "/queries", seconds, clients);
  unbound->terminate(5s);

  std::printf("{\"server\": \"dcos-dns\", \"names\": %d, \"qps\": %.0f, "
              "\"sent\": %ld, \"lost\": %ld}\n",
              names, ours.qps, ours.sent, ours.lost);
  std::printf("{\"server\": \"unbound\", \"names\": %d, \"qps\": %.0f, "
              "\"sent\": %ld, \"lost\": %ld}\n",
              names, theirs.qps, theirs.sent, theirs.lost);
  std::filesystem::remove_all(dir);
  return 0;
}
