// Mesos-DNS' latency (issue #18): from a task's TASK_RUNNING at the master
// to its name resolving, over 1,000 tasks. The master is the real master
// actor, its agents the benchmarks' quiet agents (each task is running as
// soon as it is sent), and dcos-dns' side its real parts: libdcos' cluster
// view following the master's event stream, the zone builder and the DNS
// server answering UDP on loopback.
//
// With --processes the master and dcos-dns are the real daemons, each a
// process of its own: the event stream reaches dcos-dns over loopback, as
// in a cluster. The agents, the framework and the follower stay in the
// benchmark's process and reach the master over CAF's network layer, as
// real agents and schedulers do.
//
// "At the master" is when an operator event follower (beside the view)
// hears the TASK_UPDATED to TASK_RUNNING. From then on a prober asks the
// server for the task's name (t0001.lat.mesos, ...) over UDP, all pending
// names in one round, round after round, until each has its A record.
// Tasks start in waves (--wave per agent per offer), as a deployment
// starts them; a figure includes up to one probe round (its mean is
// printed).
//
//   mesos_dns_latency_bench [--tasks=1000] [--agents=10] [--wave=10]
//                           [--processes]
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "daemons.hpp"
#include "dcos/cluster_view_actor.hpp"
#include "dcos/flags.hpp"
#include "dcos/type_bridge.hpp"
#include "dns_config.hpp"
#include "dns_server.hpp"
#include "support/dns_query.hpp"
#include "task_load.hpp"
#include "zone_builder_actor.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace dcos::mesos_dns;
using namespace std::chrono_literals;

namespace {

int64_t now_ns() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

// When the master published each task's TASK_RUNNING, by task id.
struct running_times {
  std::mutex mutex;
  std::unordered_map<std::string, int64_t> at;
};

master_subscriber_actor::behavior_type
follower(master_subscriber_actor::pointer,
         std::shared_ptr<running_times> times) {
  return {
    [times](const v1::master::Event& event) {
      if (event.type() != v1::master::Event::TASK_UPDATED
          || event.task_updated().state() != v1::TASK_RUNNING)
        return;
      auto t = now_ns();
      std::lock_guard<std::mutex> guard{times->mutex};
      times->at.emplace(event.task_updated().status().task_id().value(), t);
    },
  };
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A loopback port no socket holds now (dcos-dns wants a number).
uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("cannot find a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// Subscribes `watcher` to `master`'s event stream; true once subscribed.
bool follow(caf::actor_system& sys, const master_actor& master,
            const master_subscriber_actor& watcher) {
  caf::scoped_actor self{sys};
  bool following = false;
  self->request(master, 30s, subscribe_atom::value, watcher)
    .receive([&](const v1::master::Event&) { following = true; },
             [](const caf::error&) {});
  return following;
}

// Whether dcos-dns at `port` answers `name` with a record, within 30 s.
bool resolves_soon(uint16_t port, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto wire = test::udp_exchange(port, test::dns_query(name, "A"), 200ms))
      if (!test::parse_dns_reply(*wire).answer.empty())
        return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Starts `tasks` tasks, `wave` per agent per offer, as framework "lat".
void start_tasks(caf::actor_system& sys, const detector_actor& detector,
                 int tasks, int wave, std::vector<caf::actor>& keep) {
  auto load = std::make_shared<launch_state>();
  load->total = static_cast<uint64_t>(tasks);
  load->per_offer = wave;
  load->named_by_number = true;
  auto framework = sys.spawn(launcher, load);
  v1::FrameworkInfo info;
  info.set_user("bench");
  info.set_name("lat");
  load->driver = spawn_scheduler_driver(sys, framework, info, detector);
  keep.push_back(caf::actor_cast<caf::actor>(framework));
  keep.push_back(caf::actor_cast<caf::actor>(load->driver));
}

// Asks dcos-dns at `port` for every task's name (t0000.lat.mesos, ...) once
// its TASK_RUNNING is in `times`, round after round, and prints the figures.
bool measure(uint16_t port, int tasks, running_times& times,
             const char* mode) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<std::string> queries;
  for (int i = 0; i < tasks; ++i)
    queries.push_back(test::dns_query(fmt::format("t{:04}.lat.mesos.", i), "A",
                                      static_cast<uint16_t>(i)));
  std::vector<int64_t> resolved(static_cast<size_t>(tasks), 0);
  std::vector<double> latency_ms;
  uint64_t rounds = 0;
  int64_t round_ns = 0;
  std::string buffer(4096, '\0');
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (latency_ms.size() < static_cast<size_t>(tasks)
         && std::chrono::steady_clock::now() < deadline) {
    std::vector<std::pair<int, int64_t>> pending; // task, running at
    {
      std::lock_guard<std::mutex> guard{times.mutex};
      for (int i = 0; i < tasks; ++i)
        if (resolved[static_cast<size_t>(i)] == 0)
          if (auto it = times.at.find(fmt::format("t{:04}", i));
              it != times.at.end())
            pending.emplace_back(i, it->second);
    }
    if (pending.empty()) {
      std::this_thread::sleep_for(100us);
      continue;
    }
    auto start = now_ns();
    for (const auto& [i, at] : pending) {
      const auto& q = queries[static_cast<size_t>(i)];
      ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof(to));
    }
    size_t answered = 0;
    pollfd p{fd, POLLIN, 0};
    while (answered < pending.size() && ::poll(&p, 1, 100) == 1) {
      auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n < 12)
        continue;
      ++answered;
      auto id = (static_cast<uint8_t>(buffer[0]) << 8)
                | static_cast<uint8_t>(buffer[1]);
      auto ancount = (static_cast<uint8_t>(buffer[6]) << 8)
                     | static_cast<uint8_t>(buffer[7]);
      if (id >= tasks || ancount == 0 || resolved[static_cast<size_t>(id)])
        continue;
      auto t = now_ns();
      resolved[static_cast<size_t>(id)] = t;
      auto at = std::find_if(pending.begin(), pending.end(),
                             [&](const auto& x) { return x.first == id; });
      latency_ms.push_back(static_cast<double>(t - at->second) / 1e6);
    }
    round_ns += now_ns() - start;
    ++rounds;
  }
  ::close(fd);
  bool ok = latency_ms.size() == static_cast<size_t>(tasks);
  fmt::print("{{\"bench\":\"mesos_dns_latency\",\"mode\":\"{}\","
             "\"tasks\":{},\"resolved\":{},"
             "\"median_ms\":{:.2f},\"p99_ms\":{:.2f},\"max_ms\":{:.2f},"
             "\"probe_rounds\":{},\"mean_round_ms\":{:.2f},\"ok\":{}}}\n",
             mode, tasks, latency_ms.size(), percentile(latency_ms, 0.5),
             percentile(latency_ms, 0.99), percentile(latency_ms, 1.0),
             rounds,
             rounds > 0 ? static_cast<double>(round_ns) / 1e6
                            / static_cast<double>(rounds)
                        : 0.0,
             ok);
  return ok;
}

// The master and dcos-dns in this process (dcos-dns' parts as its main()
// puts them together).
bool run_in_process(int tasks, int agents, int wave) {
  auto config = default_config();
  config.set_listener("127.0.0.1");
  auto settings = make_settings(config);
  if (!settings)
    die(describe_reason(settings.error()));
  settings->config.set_port(0);
  auto zone = std::make_shared<zone_holder>();
  auto server = dns_server::start(*settings, zone);
  if (!server)
    die(describe_reason(server.error()));
  quiet_cluster cluster{agents, tasks / agents + 1, true};
  auto& sys = *cluster.sys;
  auto& master = cluster.master;
  zone_builder_config zcfg;
  zcfg.settings = *settings;
  zcfg.zone = zone;
  auto builder = cluster.keep(spawn_zone_builder(sys, zcfg));
  cluster.keep(spawn_cluster_view(sys, spawn_fixed_detector(sys, master),
                                  builder));
  auto times = std::make_shared<running_times>();
  auto watcher = cluster.keep(sys.spawn(follower, times));
  if (!follow(sys, master, watcher))
    die("cannot follow the master's event stream");
  if (!resolves_soon((*server)->port(), "slave.mesos."))
    die("dcos-dns never named the agents");
  start_tasks(sys, spawn_fixed_detector(sys, master), tasks, wave,
              cluster.everyone);
  bool ok = measure((*server)->port(), tasks, *times, "in_process");
  (*server)->stop();
  return ok;
}

// The master and dcos-dns as the real daemons.
bool run_in_processes(int tasks, int agents, int wave) {
  auto dir = make_scratch_dir("/tmp", "mesos-dns-latency-");
  auto dns_port = free_loopback_port();
  auto master = start_master(dir + "/master.log");
  auto master_port = master.second;
  std::optional<subprocess> dns;
  // die() exits at once: the daemons go first.
  auto fail = [&](const std::string& why) {
    if (dns)
      dns->terminate(5s);
    master.first.terminate(5s);
    die(why);
  };
  subprocess_options opts;
  opts.argv = {daemon_path("DCOS_DNS_BIN", "dcos-dns"),
               fmt::format("--master=127.0.0.1:{}", master_port),
               "--ip=127.0.0.1", "--port=0", "--dns_ip=127.0.0.1",
               fmt::format("--dns_port={}", dns_port), "--log_level=warning"};
  opts.capture_stdout = true;
  opts.stderr_path = dir + "/dns.log";
  auto spawned = subprocess::spawn(opts);
  if (!spawned)
    fail("cannot start dcos-dns");
  dns.emplace(std::move(*spawned));
  if (auto line = dns->read_line(30s);
      !line || line->find("listening") == std::string::npos)
    fail("dcos-dns did not start; see " + dir + "/dns.log");

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  std::vector<caf::actor> everyone;
  bool ok = false;
  {
    caf::actor_system sys{cfg};
    auto detector = spawn_remote_detector(sys, "127.0.0.1", master_port);
    everyone.push_back(caf::actor_cast<caf::actor>(detector));
    master_actor leader;
    {
      caf::scoped_actor self{sys};
      self->request(detector, 30s, detect_atom::value, master_actor{})
        .receive([&](master_actor& m) { leader = std::move(m); },
                 [&](caf::error& err) {
                   fail("cannot reach the master: " + describe_reason(err));
                 });
    }
    for (auto& a : add_quiet_agents(sys, leader, agents, tasks / agents + 1,
                                    true))
      everyone.push_back(a);
    auto times = std::make_shared<running_times>();
    auto watcher = sys.spawn(follower, times);
    everyone.push_back(caf::actor_cast<caf::actor>(watcher));
    if (!follow(sys, leader, watcher))
      fail("cannot follow the master's event stream");
    if (!resolves_soon(dns_port, "slave.mesos."))
      fail("dcos-dns never named the agents; see " + dir + "/dns.log");
    start_tasks(sys, detector, tasks, wave, everyone);
    ok = measure(dns_port, tasks, *times, "processes");
    for (auto& a : everyone)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  dns->terminate(5s);
  master.first.terminate(5s);
  std::filesystem::remove_all(dir);
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  int tasks = 1000;
  int agents = 10;
  int wave = 10;
  bool processes = false;
  flags f{"mesos_dns_latency_bench [flags]",
          "Time from TASK_RUNNING at the master to a resolvable name."};
  f.add(&tasks, "tasks", "tasks to start");
  f.add(&agents, "agents", "number of agents");
  f.add(&wave, "wave", "tasks started per agent per offer");
  f.add(&processes, "processes",
        "the master and dcos-dns as daemons of their own");
  parse_or_exit(f, argc, argv);
  bool ok = processes ? run_in_processes(tasks, agents, wave)
                      : run_in_process(tasks, agents, wave);
  return ok ? 0 : 1;
}
