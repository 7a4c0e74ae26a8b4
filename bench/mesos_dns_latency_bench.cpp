// Mesos-DNS' latency (issue #18): from a task's TASK_RUNNING at the master
// to its name resolving, over 1,000 tasks. The master is the real master
// actor, its agents the benchmarks' quiet agents (each task is running as
// soon as it is sent), and dcos-dns' side its real parts: libdcos' cluster
// view following the master's event stream, the zone builder and the DNS
// server answering UDP on loopback.
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
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

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

} // namespace

int main(int argc, char** argv) {
  int tasks = 1000;
  int agents = 10;
  int wave = 10;
  flags f{"mesos_dns_latency_bench [flags]",
          "Time from TASK_RUNNING at the master to a resolvable name."};
  f.add(&tasks, "tasks", "tasks to start");
  f.add(&agents, "agents", "number of agents");
  f.add(&wave, "wave", "tasks started per agent per offer");
  parse_or_exit(f, argc, argv);

  // dcos-dns' parts, as its main() puts them together; its DNS server on a
  // free port of loopback.
  auto config = default_config();
  config.set_listener("127.0.0.1");
  auto settings = make_settings(config);
  if (!settings) {
    std::fprintf(stderr, "%s\n", describe_reason(settings.error()).c_str());
    return 1;
  }
  settings->config.set_port(0);
  auto zone = std::make_shared<zone_holder>();
  auto server = dns_server::start(*settings, zone);
  if (!server) {
    std::fprintf(stderr, "%s\n", describe_reason(server.error()).c_str());
    return 1;
  }
  auto port = (*server)->port();

  quiet_cluster cluster{agents, tasks / agents + 1, true};
  auto& sys = *cluster.sys;
  auto& master = cluster.master;

  zone_builder_config zcfg;
  zcfg.settings = *settings;
  zcfg.zone = zone;
  auto builder = spawn_zone_builder(sys, zcfg);
  auto view = spawn_cluster_view(sys, spawn_fixed_detector(sys, master),
                                 builder);
  cluster.keep(builder);
  cluster.keep(view);
  auto times = std::make_shared<running_times>();
  auto watcher = sys.spawn(follower, times);
  cluster.keep(watcher);
  std::atomic<bool> following{false};
  sys.spawn([master, watcher, &following](caf::event_based_actor* self) {
    self->request(master, caf::infinite, subscribe_atom::value, watcher)
      .then([&following](const v1::master::Event&) { following = true; },
            [](const caf::error&) {});
  });
  // Wait for the follower and for the view's first zone (the agents in it).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((!following || !zone->current()
          || !zone->current()->records.has_name("slave.mesos."))
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);

  auto load = std::make_shared<launch_state>();
  load->total = static_cast<uint64_t>(tasks);
  load->per_offer = wave;
  load->named_by_number = true;
  auto framework = sys.spawn(launcher, load);
  v1::FrameworkInfo info;
  info.set_user("bench");
  info.set_name("lat");
  load->driver = spawn_scheduler_driver(sys, framework, info,
                                        spawn_fixed_detector(sys, master));
  cluster.keep(framework);
  cluster.keep(load->driver);

  // The prober: every name whose task runs at the master, asked in rounds.
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
  deadline = std::chrono::steady_clock::now() + 120s;
  while (latency_ms.size() < static_cast<size_t>(tasks)
         && std::chrono::steady_clock::now() < deadline) {
    std::vector<std::pair<int, int64_t>> pending; // task, running at
    {
      std::lock_guard<std::mutex> guard{times->mutex};
      for (int i = 0; i < tasks; ++i)
        if (resolved[static_cast<size_t>(i)] == 0)
          if (auto it = times->at.find(fmt::format("t{:04}", i));
              it != times->at.end())
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
  fmt::print("{{\"bench\":\"mesos_dns_latency\",\"tasks\":{},\"resolved\":{},"
             "\"median_ms\":{:.2f},\"p99_ms\":{:.2f},\"max_ms\":{:.2f},"
             "\"probe_rounds\":{},\"mean_round_ms\":{:.2f},\"ok\":{}}}\n",
             tasks, latency_ms.size(), percentile(latency_ms, 0.5),
             percentile(latency_ms, 0.99), percentile(latency_ms, 1.0),
             rounds,
             rounds > 0 ? static_cast<double>(round_ns) / 1e6
                            / static_cast<double>(rounds)
                        : 0.0,
             ok);
  (*server)->stop();
  return ok ? 0 : 1;
}
