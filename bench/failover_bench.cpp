// Master failover with real processes (issue #16): one ZooKeeper, three
// dcos-master processes contending, agents on zk://, and a framework in this
// process (the scheduler SDK, also on zk://) with tasks running on every
// agent. Then kill -9 of the leading master.
//
// Figures (one JSON line per ZooKeeper session timeout):
//  - "new_leader_s": from the kill until a surviving master names itself
//    leader on /master/redirect and answers GET_HEALTH.
//  - "agents_back_s": until that leader lists every agent as active.
//  - "first_offer_s": until the framework gets its first offer from the new
//    leader (an offer id of the new master's).
//  - "tasks_running_after": the running tasks the new leader lists.
// The leader's session must expire before anyone else may lead, so every
// figure is about the session timeout (ZooKeeper counts it from the last
// ping it heard, up to a third of it before the kill); the target is at
// most 1 s more.
//
// The agents and their tasks run at a lower CPU priority (nice 10), and
// ZooKeeper at a higher one (nice -10, as root), than the masters: on a
// real cluster they are different machines, and on two cores a launch
// storm of 500 processes otherwise starves ZooKeeper past a 2 s session.
//
//   failover_bench [--agents=20] [--tasks=500] [--session_timeouts=10,2]
//                  [--dir=/tmp]
//
// The daemons are found through DCOS_MASTER_BIN / DCOS_AGENT_BIN or next to
// this binary's directory (build/bench/../).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "daemons.hpp"
#include "dcos/actor_system_setup.hpp"
#include "dcos/detector_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler.hpp"
#include "dcos/task_state.hpp"
#include "dcos/type_bridge.hpp"
#include "dcos/wire_types.hpp"
#include "dcos/zk_url.hpp"
#include "dcos/zookeeper_server.hpp"

using namespace dcos;
using namespace dcos::bench;
using clock_type = std::chrono::steady_clock;

namespace {

// A run that did not do what it measures; thrown so that the cluster's
// processes are ended on the way out (die() would leave them running).
struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One task group of `per_agent` sleeping tasks on each agent; afterwards it
// declines every offer (briefly, so that offers keep coming) and notes when
// the first offer not made by `old_master` arrived.
struct steady_scheduler : scheduler {
  size_t agents = 0;
  size_t per_agent = 0;
  resources per_task = *resources::parse("cpus:0.01;mem:4");
  resources per_executor = *resources::parse("cpus:0.1;mem:32");
  std::set<std::string> launched_on;
  std::atomic<size_t> running{0};
  std::promise<void> all_running;
  std::map<std::string, v1::TaskState> states;

  std::mutex mutex;
  std::string old_master; // an offer id starts with its master's id and '-'
  std::optional<clock_type::time_point> first_new_offer;

  void offers(scheduler_driver& d,
              const std::vector<v1::Offer>& offers) override {
    auto now = clock_type::now();
    {
      std::lock_guard<std::mutex> guard{mutex};
      for (const auto& offer : offers)
        if (!old_master.empty() && !first_new_offer
            && offer.id().value().rfind(old_master + "-", 0) != 0)
          first_new_offer = now;
    }
    v1::Filters briefly;
    briefly.set_refuse_seconds(0.2);
    for (const auto& offer : offers) {
      const auto& agent = offer.agent_id().value();
      auto role = offer.allocation_info().role();
      auto have = resources::from_proto(offer.resources());
      auto need = per_executor;
      for (size_t i = 0; i < per_agent; ++i)
        need += per_task;
      if (launched_on.count(agent) > 0 || !have
          || !have->contains(need.allocate(role))) {
        d.decline({offer.id()}, briefly);
        continue;
      }
      launched_on.insert(agent);
      v1::ExecutorInfo executor;
      executor.set_type(v1::ExecutorInfo::DEFAULT);
      executor.mutable_executor_id()->set_value("steady-" + agent);
      per_executor.allocate(role).to_proto(executor.mutable_resources());
      v1::TaskGroupInfo group;
      for (size_t i = 0; i < per_agent; ++i) {
        auto* t = group.add_tasks();
        t->set_name(fmt::format("{}-{}", agent, i));
        t->mutable_task_id()->set_value(t->name());
        *t->mutable_agent_id() = offer.agent_id();
        t->mutable_command()->set_value("sleep 3600");
        per_task.allocate(role).to_proto(t->mutable_resources());
      }
      d.launch_group(offer.id(), executor, group);
    }
  }

  void update(scheduler_driver&, const v1::TaskStatus& s) override {
    auto& state = states[s.task_id().value()];
    if (state == v1::TASK_RUNNING || is_terminal(state))
      return;
    state = s.state();
    if (s.state() == v1::TASK_RUNNING && ++running == agents * per_agent)
      all_running.set_value();
    else if (is_terminal(s.state()))
      std::fprintf(stderr, "failover_bench: task %s ended: %s %s\n",
                   s.task_id().value().c_str(),
                   v1::TaskState_Name(s.state()).c_str(),
                   s.message().c_str());
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::fprintf(stderr, "failover_bench: framework error: %s\n",
                 message.c_str());
  }
};

// The operator API's answer to `type` at 127.0.0.1:`port`, if 200.
std::optional<v1::master::Response> operator_call(uint16_t port,
                                                  v1::master::Call::Type type) {
  v1::master::Call call;
  call.set_type(type);
  http_call req;
  req.method = "POST";
  req.host = "127.0.0.1";
  req.port = port;
  req.target = "/api/v1";
  req.content_type = "application/json";
  req.body = to_json(call);
  auto reply = http_fetch(req);
  v1::master::Response out;
  if (!reply || reply->status != 200
      || from_json(reply->body, &out, "the master's answer"))
    return std::nullopt;
  return out;
}

// The port /master/redirect on `port` names as the leader's, or 0.
uint16_t leader_named_by(uint16_t port) {
  http_call call;
  call.host = "127.0.0.1";
  call.port = port;
  call.target = "/master/redirect";
  auto reply = http_fetch(call);
  if (!reply || reply->status != 307)
    return 0;
  auto location = reply->header("location");
  auto colon = location.rfind(':');
  if (colon == std::string::npos)
    return 0;
  return static_cast<uint16_t>(std::atoi(location.c_str() + colon + 1));
}

struct cluster {
  std::string dir;
  std::optional<zookeeper_server> zk;
  std::vector<std::optional<subprocess>> masters;
  std::vector<uint16_t> master_ports;
  std::vector<subprocess> agents;

  cluster(const std::string& parent, size_t n_agents,
          std::chrono::seconds session) {
    dir = make_scratch_dir(parent, "dcos-failover-");
    zookeeper_options zo;
    zo.dir = dir + "/zookeeper";
    // ZooKeeper's configuration needs a port number: one the kernel hands
    // out, released again.
    zo.port = free_loopback_port();
    if (::geteuid() == 0)
      zo.nice = -10;
    auto server = zookeeper_server::start(zo);
    if (!server)
      die("cannot start ZooKeeper: " + describe_reason(server.error()));
    zk.emplace(std::move(*server));
    auto url = zk->url("/mesos");
    for (int i = 0; i < 3; ++i) {
      auto [m, port] = start_master(
        fmt::format("{}/master-{}.log", dir, i),
        {"--zk=" + url,
         fmt::format("--zk_session_timeout={}secs", session.count())});
      masters.emplace_back(std::move(m));
      master_ports.push_back(port);
    }
    for (size_t i = 0; i < n_agents; ++i)
      agents.push_back(
        start_daemon({"nice", "-n", "10",
                      daemon_path("DCOS_AGENT_BIN", "dcos-agent"),
                      "--master=" + url, "--ip=127.0.0.1", "--port=0",
                      fmt::format("--work_dir={}/agent-{}", dir, i),
                      "--log_level=warning",
                      "--resources=cpus:64;mem:65536;disk:1024"},
                     fmt::format("{}/agent-{}.log", dir, i))
          .first);
  }

  ~cluster() {
    for (auto& a : agents) {
      a.kill(SIGUSR1); // it kills its containers before it goes
      a.terminate(30s);
    }
    for (auto& m : masters)
      if (m)
        m->terminate(10s);
    zk.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // The index of the master leading and serving, or -1.
  int leader() {
    for (size_t i = 0; i < masters.size(); ++i) {
      if (!masters[i])
        continue;
      auto port = leader_named_by(master_ports[i]);
      if (port == master_ports[i]
          && operator_call(port, v1::master::Call::GET_HEALTH))
        return static_cast<int>(i);
    }
    return -1;
  }

  size_t active_agents(int master) {
    auto r = operator_call(master_ports[master],
                           v1::master::Call::GET_AGENTS);
    size_t n = 0;
    if (r)
      for (const auto& a : r->get_agents().agents())
        n += a.active() ? 1 : 0;
    return n;
  }

  static uint16_t free_loopback_port();
};

uint16_t cluster::free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("no free port on 127.0.0.1");
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <class Pred>
clock_type::time_point wait_for(Pred pred, std::chrono::seconds limit,
                                const std::string& what) {
  auto deadline = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > deadline)
      throw bench_failure{
        fmt::format("{} did not happen within {} s", what, limit.count())};
    std::this_thread::sleep_for(5ms);
  }
  return clock_type::now();
}

void failover_figure(caf::actor_system& sys, const std::string& parent,
                     size_t n_agents, size_t tasks,
                     std::chrono::seconds session) {
  cluster c{parent, n_agents, session};
  int leader = -1;
  wait_for([&] { return (leader = c.leader()) >= 0; }, 60s, "a first leader");
  wait_for([&] { return c.active_agents(leader) == n_agents; }, 60s,
           "every agent's registration");

  steady_scheduler sched;
  sched.agents = n_agents;
  sched.per_agent = (tasks + n_agents - 1) / n_agents;
  auto running = sched.all_running.get_future();
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("failover_bench");
  info.set_failover_timeout(3600);
  auto where = parse_master_location(c.zk->url("/mesos"));
  auto detector = spawn_detector(sys, *where);
  {
    scheduler_driver driver{sys, sched, info, detector};
    if (running.wait_for(300s) != std::future_status::ready)
      throw bench_failure{fmt::format("only {} tasks running after 300 s",
                                      sched.running.load())};
    auto master = operator_call(c.master_ports[leader],
                                v1::master::Call::GET_MASTER);
    if (!master)
      throw bench_failure{"the leader does not answer GET_MASTER"};
    {
      std::lock_guard<std::mutex> guard{sched.mutex};
      sched.old_master = master->get_master().master_info().id();
    }

    auto killed = clock_type::now();
    c.masters[leader]->kill(SIGKILL);
    c.masters[leader]->wait();
    c.masters[leader].reset();
    auto limit = session + 60s;
    auto serving = wait_for([&] { return (leader = c.leader()) >= 0; },
                            limit, "a new leader");
    auto agents_back = wait_for(
      [&] { return c.active_agents(leader) == n_agents; }, limit,
      "every agent's re-registration");
    auto offered = wait_for(
      [&] {
        std::lock_guard<std::mutex> guard{sched.mutex};
        return sched.first_new_offer.has_value();
      },
      limit, "an offer from the new leader");
    offered = *sched.first_new_offer;
    size_t still_running = 0;
    if (auto t = operator_call(c.master_ports[leader],
                               v1::master::Call::GET_TASKS))
      for (const auto& task : t->get_tasks().tasks())
        still_running += task.state() == v1::TASK_RUNNING ? 1 : 0;
    std::printf(
      "{\"bench\":\"master_failover\",\"zk_session_timeout_s\":%lld,"
      "\"agents\":%zu,\"tasks\":%zu,\"new_leader_s\":%.3f,"
      "\"agents_back_s\":%.3f,\"first_offer_s\":%.3f,"
      "\"tasks_running_after\":%zu}\n",
      static_cast<long long>(session.count()), n_agents,
      n_agents * sched.per_agent, seconds(serving - killed),
      seconds(agents_back - killed), seconds(offered - killed),
      still_running);
    driver.teardown();
    driver.join();
  }
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
}

} // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t agents = 20;
  size_t tasks = 500;
  std::string session_timeouts = "10,2";
  std::string dir = "/tmp";
  flags f{"failover_bench [--agents=20] [--tasks=500] "
          "[--session_timeouts=10,2] [--dir=/tmp]",
          "kill -9 of the leading master of three: time to a new leader, to "
          "every agent back, to the first offer from the new leader."};
  f.add(&agents, "agents", "agents (processes)");
  f.add(&tasks, "tasks", "running tasks, spread over the agents");
  f.add(&session_timeouts, "session_timeouts",
        "ZooKeeper session timeouts to measure, in seconds, comma-separated");
  f.add(&dir, "dir", "where the cluster's directories go");
  parse_or_exit(f, argc, argv);
  if (agents == 0)
    die("--agents: must be at least 1");
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  for (size_t at = 0; at < session_timeouts.size();) {
    auto comma = session_timeouts.find(',', at);
    auto item = session_timeouts.substr(at, comma - at);
    at = comma == std::string::npos ? session_timeouts.size() : comma + 1;
    char* end = nullptr;
    auto s = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || s < 1)
      die("--session_timeouts: '" + item + "' is not a number of seconds");
    try {
      failover_figure(sys, dir, agents, tasks, std::chrono::seconds(s));
    } catch (const bench_failure& e) {
      die(e.what());
    }
  }
  return 0;
}
