// dcos up: a local cluster of separate processes (one master, N agents with
// their own work directories and port ranges) until Ctrl-C or SIGTERM, then
// everything is stopped (agents kill their tasks first) and nothing is left.
// With --masters=3 (or any number above one) it also runs ZooKeeper on
// 2181, the masters elect a leader there and keep their registry in it, and
// the agents find the leader through it (zk://IP:2181/mesos). Then the
// services run on the cluster as DC/OS runs them: Marathon on 8080 (its
// state under the work directory, so apps survive a `dcos up` restart);
// with several masters one Marathon per master (8080, 8081, ...), electing
// their leader and keeping their state in ZooKeeper (zk://IP:2181/marathon).
// A master or Marathon of several that exits (it lost the lead) is started
// again as a standby, as DC/OS' supervisor does. Mesos-DNS (dcos-dns)
// serves HTTP on 8123 and DNS on 53 as root (61053 otherwise, DC/OS' own
// Mesos-DNS port), forwarding other names to this machine's resolvers.
// Minuteman (dcos-minuteman) serves its API on 62080 and, as root, puts the
// VIPs on a dummy interface "minuteman" (removed when it stops). Metronome
// (dcos-metronome) runs jobs from 9000, its state under the work directory
// (one Metronome, also beside several masters: it has no leader election
// yet). The stateful service SDK's example, Redis (examples/redis: a
// primary and two replicas on persistent volumes), runs under dcos-service
// with its API on 10000, when redis-server is installed.
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli.hpp"
#include "dcos/daemon_runtime.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/signals.hpp"
#include "dcos/subprocess.hpp"
#include "dcos/zookeeper_server.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dcos::cli {

namespace {

// Reads the "listening on http://IP:PORT" line a daemon prints when ready.
caf::expected<std::string> ready_line(subprocess& p, const std::string& what) {
  auto line = p.read_line(60s);
  if (!line)
    return make_error(errc::unavailable,
                      fmt::format("{} did not start: {}", what,
                                  describe_reason(line.error())));
  auto at = line->find("http://");
  if (at == std::string::npos)
    return make_error(errc::unavailable,
                      fmt::format("{} said: {}", what, *line));
  return line->substr(at, line->find(' ', at) - at);
}

// The Redis example's spec: beside the programs in a build tree, or under
// share/ where they are installed; empty if neither.
std::string redis_example_spec() {
  fs::path program = sibling_program("dcos-service");
  for (const auto& spec :
       {program.parent_path() / "examples/redis/svc.yml",
        program.parent_path().parent_path()
          / "share/libdcos/examples/redis/svc.yml"}) {
    std::error_code ec;
    if (fs::exists(spec, ec))
      return spec.string();
  }
  return "";
}

// Whether `program` is found on PATH.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : ""};
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::error_code ec;
    if (!dir.empty() && fs::exists(fs::path{dir} / program, ec))
      return true;
  }
  return false;
}

std::string agent_share(int index, int agents) {
  auto cpus = std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN) / agents);
  double mem_mb = static_cast<double>(::sysconf(_SC_PHYS_PAGES))
                  * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
  auto mem = std::max<long>(256, static_cast<long>((mem_mb - 1024) / agents));
  auto first = 31000 + 1000 * index;
  return fmt::format("cpus:{};mem:{};disk:{};ports:[{}-{}]", cpus, mem, 10240,
                     first, first + 999);
}

// The nameservers of /etc/resolv.conf, for Mesos-DNS to forward to, but
// not `self` (IP:PORT, Mesos-DNS itself: that would be a loop).
std::string host_resolvers(const std::string& self) {
  std::ifstream in{"/etc/resolv.conf"};
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::string key, address;
    if (!(words >> key >> address) || key != "nameserver")
      continue;
    if (address.find('%') != std::string::npos)
      continue; // link-local with a zone: not an address to forward to
    if (address.find(':') != std::string::npos)
      address = "[" + address + "]";
    if (address + ":53" == self || address == self)
      continue;
    if (!out.empty())
      out += ',';
    out += address;
  }
  return out;
}

// A daemon `dcos up` started, with what it takes to start it again.
struct daemon_process {
  std::string name; // as the banner lists it
  subprocess_options options;
  subprocess process;
};

// Starts `name` and reads its ready line; the URL goes to `*url`.
caf::expected<daemon_process> start_daemon(std::string name,
                                           subprocess_options options,
                                           std::string* url) {
  auto p = subprocess::spawn(options);
  if (!p)
    return p.error();
  auto ready = ready_line(*p, "the " + name);
  if (!ready)
    return make_error(errc::unavailable,
                      fmt::format("{} (see {})", describe_reason(ready.error()),
                                  options.stderr_path));
  *url = *ready;
  return daemon_process{std::move(name), std::move(options), std::move(*p)};
}

// One of several daemons of a kind exits when it loses the lead (as Mesos'
// masters and Marathons do): start it again, and it returns as a standby.
// False if it exited and could not be started again.
bool supervise(daemon_process& d) {
  if (!d.process.poll())
    return true;
  std::fprintf(stderr, "dcos up: %s exited (see %s); restarting it\n",
               d.name.c_str(), d.options.stderr_path.c_str());
  auto again = subprocess::spawn(d.options);
  if (!again)
    return false;
  d.process = std::move(*again);
  return true;
}

} // namespace

int up(int argc, char** argv) {
  block_termination_signals();
  int agents = 2;
  int masters = 1;
  uint16_t zk_port = 2181;
  std::string work_dir = "/tmp/dcos-up";
  std::string ip = "127.0.0.1";
  uint16_t port = 5050;
  std::string log_level = "info";
  flags f{"dcos up [flags]",
          "Starts a local cluster: a master, agents, Marathon, Metronome, "
          "Mesos-DNS and Minuteman, each its own process, until Ctrl-C."};
  f.add(&agents, "agents", "number of agents");
  f.add(&masters, "masters",
        "number of masters; above one, they elect a leader in a ZooKeeper "
        "this starts");
  f.add(&zk_port, "zk_port", "ZooKeeper's port, with several masters");
  f.add(&work_dir, "work_dir", "where daemons keep state and logs");
  f.add(&ip, "ip", "address to listen on");
  f.add(&port, "port",
        "the first master's HTTP port; other masters, then agents, use the "
        "next ones");
  f.add(&log_level, "log_level", "log level of the daemons");
  uint16_t marathon_port = 8080;
  f.add(&marathon_port, "marathon_port", "Marathon's HTTP port");
  uint16_t metronome_port = 9000;
  f.add(&metronome_port, "metronome_port", "Metronome's HTTP port");
  uint16_t dns_http_port = 8123;
  f.add(&dns_http_port, "mesos_dns_port", "Mesos-DNS' HTTP port");
  uint16_t minuteman_port = 62080;
  f.add(&minuteman_port, "minuteman_port", "Minuteman's HTTP port");
  uint16_t redis_port = 10000;
  f.add(&redis_port, "redis_port",
        "the Redis service's scheduler's HTTP port (the SDK's example)");
  uint16_t dns_port = ::geteuid() == 0 ? 53 : 61053;
  f.add(&dns_port, "dns_port",
        "Mesos-DNS' DNS port (default 53 as root, else 61053)");
  parse_or_exit(f, argc, argv);
  if (agents < 1 || agents > 64)
    return usage_error("--agents: must be between 1 and 64");
  if (masters < 1 || masters > 9)
    return usage_error("--masters: must be between 1 and 9");
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec)
    return usage_error("--work_dir: " + ec.message());

  std::optional<zookeeper_server> zookeeper;
  std::string master_flag = fmt::format("{}:{}", ip, port);
  if (masters > 1) {
    zookeeper_options zopts;
    zopts.dir = work_dir + "/zookeeper";
    zopts.ip = ip;
    zopts.port = zk_port;
    auto zk = zookeeper_server::start(zopts);
    if (!zk) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(zk.error()).c_str());
      return 1;
    }
    zookeeper.emplace(std::move(*zk));
    master_flag = zookeeper->url("/mesos");
  }
  std::vector<daemon_process> master_processes;
  std::vector<std::string> master_urls;
  std::vector<std::string> master_addresses;
  for (int i = 0; i < masters; ++i) {
    auto name = masters == 1 ? std::string{"master"}
                             : fmt::format("master-{}", i);
    auto master_port = static_cast<uint16_t>(port + i);
    subprocess_options mopts;
    mopts.argv = {sibling_program("dcos-master"), "--ip=" + ip,
                  fmt::format("--port={}", master_port),
                  "--log_level=" + log_level};
    if (zookeeper)
      mopts.argv.push_back("--zk=" + master_flag);
    else
      mopts.argv.push_back("--work_dir=" + work_dir + "/master");
    mopts.capture_stdout = true;
    mopts.stderr_path = fmt::format("{}/{}.log", work_dir, name);
    std::string url;
    auto master = start_daemon(name, std::move(mopts), &url);
    if (!master) {
      std::fprintf(stderr, "dcos up: %s\n", describe_reason(master.error()).c_str());
      return 1;
    }
    master_urls.push_back(url);
    master_addresses.push_back(fmt::format("{}:{}", ip, master_port));
    master_processes.push_back(std::move(*master));
  }
  std::vector<daemon_process> agent_processes;
  std::vector<std::string> agent_urls;
  for (int i = 0; i < agents; ++i) {
    auto name = fmt::format("agent-{}", i);
    subprocess_options aopts;
    aopts.argv = {sibling_program("dcos-agent"), "--master=" + master_flag,
                  "--ip=" + ip, fmt::format("--port={}", port + masters + i),
                  fmt::format("--work_dir={}/{}", work_dir, name),
                  "--resources=" + agent_share(i, agents),
                  "--log_level=" + log_level};
    aopts.capture_stdout = true;
    aopts.stderr_path = fmt::format("{}/{}.log", work_dir, name);
    std::string url;
    auto agent = start_daemon(name, std::move(aopts), &url);
    if (!agent) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(agent.error()).c_str());
      return 1;
    }
    agent_urls.push_back(url);
    agent_processes.push_back(std::move(*agent));
  }
  // Ready when the (leading) master knows every agent; standbys answer
  // with a redirect, which counts as not ready.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto knows_all = [&](const std::string& address) {
    auto r = operator_call(address, v1::master::Call::GET_AGENTS);
    return r && r->get_agents().agents_size() == agents;
  };
  while (true) {
    if (std::any_of(master_addresses.begin(), master_addresses.end(),
                    knows_all))
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "dcos up: agents did not register within 60s (see "
                           "%s/*.log)\n",
                   work_dir.c_str());
      return 1;
    }
    std::this_thread::sleep_for(100ms);
  }
  // One Marathon, or with ZooKeeper one per master, as DC/OS runs them.
  std::vector<daemon_process> marathons;
  std::vector<std::string> marathon_urls;
  for (int i = 0; i < masters; ++i) {
    auto name = masters == 1 ? std::string{"marathon"}
                             : fmt::format("marathon-{}", i);
    subprocess_options opts;
    opts.argv = {sibling_program("dcos-marathon"), "--master=" + master_flag,
                 "--ip=" + ip, "--hostname=" + ip,
                 fmt::format("--port={}", marathon_port + i),
                 // DC/OS' role for Marathon: resident apps reserve to it.
                 "--mesos_role=slave_public", "--log_level=" + log_level};
    if (zookeeper)
      opts.argv.push_back("--zk=" + zookeeper->url("/marathon"));
    else
      opts.argv.push_back("--work_dir=" + work_dir + "/marathon");
    opts.capture_stdout = true;
    opts.stderr_path = fmt::format("{}/{}.log", work_dir, name);
    std::string url;
    auto marathon = start_daemon(name, std::move(opts), &url);
    if (!marathon) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(marathon.error()).c_str());
      return 1;
    }
    marathon_urls.push_back(url);
    marathons.push_back(std::move(*marathon));
  }
  std::vector<daemon_process> services;
  std::vector<std::string> service_urls;
  // Metronome: jobs, now or on cron schedules.
  {
    subprocess_options opts;
    opts.argv = {sibling_program("dcos-metronome"),
                 "--master=" + master_flag, "--ip=" + ip,
                 "--hostname=" + ip,
                 fmt::format("--port={}", metronome_port),
                 "--work_dir=" + work_dir + "/metronome",
                 "--log_level=" + log_level};
    opts.capture_stdout = true;
    opts.stderr_path = work_dir + "/metronome.log";
    std::string url;
    auto metronome = start_daemon("metronome", std::move(opts), &url);
    if (!metronome) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(metronome.error()).c_str());
      return 1;
    }
    service_urls.push_back(url);
    services.push_back(std::move(*metronome));
  }
  // Mesos-DNS, following the (leading) master's event stream.
  {
    subprocess_options opts;
    opts.argv = {sibling_program("dcos-dns"), "--master=" + master_flag,
                 "--ip=" + ip, fmt::format("--port={}", dns_http_port),
                 "--dns_ip=" + ip, fmt::format("--dns_port={}", dns_port),
                 "--log_level=" + log_level};
    auto resolvers = host_resolvers(fmt::format("{}:{}", ip, dns_port));
    if (!resolvers.empty())
      opts.argv.push_back("--resolvers=" + resolvers);
    else
      opts.argv.push_back("--external_on=false");
    opts.capture_stdout = true;
    opts.stderr_path = work_dir + "/mesos-dns.log";
    std::string url;
    auto dns = start_daemon("mesos-dns", std::move(opts), &url);
    if (!dns) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(dns.error()).c_str());
      return 1;
    }
    service_urls.push_back(url);
    services.push_back(std::move(*dns));
  }
  // Minuteman: VIPs load-balanced over the tasks that declare them. Only
  // root may make its interface; otherwise it serves the API alone.
  {
    subprocess_options opts;
    opts.argv = {sibling_program("dcos-minuteman"),
                 "--master=" + master_flag, "--ip=" + ip,
                 fmt::format("--port={}", minuteman_port),
                 "--log_level=" + log_level};
    if (::geteuid() != 0)
      opts.argv.push_back("--vip_interface=");
    opts.capture_stdout = true;
    opts.stderr_path = work_dir + "/minuteman.log";
    std::string url;
    auto minuteman = start_daemon("minuteman", std::move(opts), &url);
    if (!minuteman) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(minuteman.error()).c_str());
      return 1;
    }
    service_urls.push_back(url);
    services.push_back(std::move(*minuteman));
  }
  // The stateful service SDK's example: Redis, a primary and two replicas
  // on persistent volumes, run by dcos-service from its spec (when Debian's
  // redis-server is here to run).
  if (auto spec = redis_example_spec(); spec.empty()) {
    std::fprintf(stderr, "dcos up: no examples/redis/svc.yml beside the "
                         "programs; the Redis service does not run\n");
  } else if (!on_path("redis-server")) {
    std::fprintf(stderr, "dcos up: redis-server is not installed (apt-get "
                         "install redis-server); the Redis service does not "
                         "run\n");
  } else {
    subprocess_options opts;
    opts.argv = {sibling_program("dcos-service"), "--spec=" + spec,
                 "--master=" + master_flag, "--ip=" + ip,
                 "--hostname=" + ip, fmt::format("--port={}", redis_port),
                 "--work_dir=" + work_dir + "/redis",
                 "--log_level=" + log_level};
    opts.env = {"FRAMEWORK_NAME=redis", "REPLICA_COUNT=2",
                "BACKUP_DIR=" + work_dir + "/redis-backups",
                "REDIS_MAXMEMORY=64mb"};
    opts.capture_stdout = true;
    opts.stderr_path = work_dir + "/redis.log";
    std::string url;
    auto redis = start_daemon("redis", std::move(opts), &url);
    if (!redis) {
      std::fprintf(stderr, "dcos up: %s\n",
                   describe_reason(redis.error()).c_str());
      return 1;
    }
    service_urls.push_back(url);
    services.push_back(std::move(*redis));
  }
  if (zookeeper)
    std::printf("zookeeper  %s\n", zookeeper->url("/mesos").c_str());
  for (int i = 0; i < masters; ++i)
    std::printf("%s  %s\n",
                masters == 1 ? "master " : fmt::format("master-{}", i).c_str(),
                master_urls[static_cast<size_t>(i)].c_str());
  for (int i = 0; i < agents; ++i)
    std::printf("agent-%d  %s\n", i, agent_urls[static_cast<size_t>(i)].c_str());
  for (size_t i = 0; i < marathons.size(); ++i)
    std::printf("%s  %s\n", marathons[i].name.c_str(),
                marathon_urls[i].c_str());
  for (size_t i = 0; i < services.size(); ++i)
    std::printf("%s  %s\n", services[i].name.c_str(), service_urls[i].c_str());
  std::printf("dns      %s:%u (dig @%s -p %u leader.mesos)\n", ip.c_str(),
              dns_port, ip.c_str(), dns_port);
  std::printf("logs     %s/*.log\n", work_dir.c_str());
  std::printf("cluster ready; Ctrl-C stops it\n");
  std::fflush(stdout);

  int status = 0;
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP})
    sigaddset(&set, s);
  timespec tick{0, 200'000'000};
  while (sigtimedwait(&set, nullptr, &tick) <= 0) {
    bool died = zookeeper && !zookeeper->running();
    for (auto& m : master_processes)
      died = died || (zookeeper ? !supervise(m) : m.process.poll().has_value());
    for (auto& a : agent_processes)
      died = died || a.process.poll().has_value();
    for (auto& m : marathons)
      died = died || (zookeeper ? !supervise(m) : m.process.poll().has_value());
    for (auto& service : services)
      died = died || service.process.poll().has_value();
    if (died) {
      std::fprintf(stderr, "dcos up: a daemon exited unexpectedly (see "
                           "%s/*.log); stopping\n",
                   work_dir.c_str());
      status = 1;
      break;
    }
  }
  std::printf("stopping\n");
  std::fflush(stdout);
  // The services first (their tasks stay until the agents go), then the
  // agents, for good (SIGUSR1: they kill their tasks), then the masters.
  for (auto& service : services)
    service.process.terminate(5s);
  for (auto& m : marathons)
    m.process.terminate(5s);
  for (auto& a : agent_processes)
    a.process.kill(SIGUSR1);
  auto stop_by = std::chrono::steady_clock::now() + 30s;
  for (auto& a : agent_processes) {
    while (!a.process.poll() && std::chrono::steady_clock::now() < stop_by)
      std::this_thread::sleep_for(50ms);
    a.process.terminate(2s);
  }
  for (auto& m : master_processes)
    m.process.terminate(5s);
  if (zookeeper)
    zookeeper->stop();
  return status;
}

} // namespace dcos::cli
