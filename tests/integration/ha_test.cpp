// Several dcos-master processes on one real ZooKeeper: leader election,
// standbys that redirect, a failover that loses neither agents nor tasks,
// and a deposed leader that stops at once.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/processes.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> ha_flags(const test_zookeeper& zk) {
  return {"--zk=" + zk.url("/mesos"), "--zk_session_timeout=2secs",
          "--agent_ping_timeout=1secs"};
}

// Where `method` `path` on `address` redirects: "CODE LOCATION".
std::string redirect_of(const std::string& address, const std::string& path,
                        const std::string& method = "GET") {
  return run_to_end({"curl", "-s", "-o", "/dev/null", "-X", method, "-w",
                     "%{http_code} %{redirect_url}",
                     "http://" + address + path})
    .out;
}

// The leader's address as `address`'s /master/redirect names it, once known.
std::string leader_seen_by(const std::string& address) {
  std::string leader;
  REQUIRE(eventually(
    [&] {
      auto r = redirect_of(address, "/master/redirect");
      auto at = r.find("http://");
      if (r.rfind("307 ", 0) != 0 || at == std::string::npos)
        return false;
      leader = r.substr(at + 7);
      if (!leader.empty() && leader.back() == '/')
        leader.pop_back();
      return true;
    },
    30s));
  return leader;
}

// kill -9 of the master at `leader` among `masters`; the address of the one
// leading after it, once a survivor names it.
std::string kill_leader(std::vector<std::optional<master_process>>& masters,
                        const std::string& leader) {
  std::string survivor;
  for (auto& m : masters) {
    if (m && m->address() == leader) {
      m->process.kill(SIGKILL);
      m.reset();
    } else if (m) {
      // One that stepped down (it exits, for a supervisor to restart)
      // cannot name the leader.
      auto status = m->process.poll();
      INFO(m->address() << " exited with " << *status);
      CHECK_FALSE(status.has_value());
      if (!status)
        survivor = m->address();
    }
  }
  REQUIRE_FALSE(survivor.empty());
  std::string next;
  REQUIRE(eventually(
    [&] {
      next = leader_seen_by(survivor);
      return next != leader;
    },
    30s));
  return next;
}

// The number of entries at `field` of the operator API's answer to `type`
// on `address`, or nullopt unless it answered 200.
std::optional<size_t> count_of(const std::string& address,
                               const std::string& type,
                               const std::string& field,
                               const std::string& list) {
  auto r = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
                 "{\"type\":\"" + type + "\"}",
                 "http://" + address + "/api/v1"});
  if (r.status != 200)
    return std::nullopt;
  auto doc = parse_json_object(r.body);
  auto outer = doc.fields().find(field);
  if (outer == doc.fields().end())
    return size_t{0};
  auto inner = outer->second.struct_value().fields().find(list);
  if (inner == outer->second.struct_value().fields().end())
    return size_t{0};
  return static_cast<size_t>(inner->second.list_value().values_size());
}

// What `address`'s GET_FRAMEWORKS says of framework `id`: "active",
// "inactive" (known, no scheduler), "completed", or "" (unknown or not
// answered), and its failover timeout if listed.
std::pair<std::string, double> framework_seen_by(const std::string& address,
                                                 const std::string& id) {
  auto r = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
                 R"({"type":"GET_FRAMEWORKS"})",
                 "http://" + address + "/api/v1"});
  if (r.status != 200)
    return {"", 0};
  auto doc = parse_json_object(r.body);
  const auto& lists = doc.fields().at("get_frameworks").struct_value().fields();
  for (const char* list : {"frameworks", "completed_frameworks"}) {
    auto at = lists.find(list);
    if (at == lists.end())
      continue;
    for (const auto& f : at->second.list_value().values()) {
      const auto& fields = f.struct_value().fields();
      const auto& info = fields.at("framework_info").struct_value().fields();
      if (info.at("id").struct_value().fields().at("value").string_value()
          != id)
        continue;
      auto timeout = info.count("failover_timeout") > 0
                       ? info.at("failover_timeout").number_value()
                       : 0.0;
      if (std::string{list} == "completed_frameworks")
        return {"completed", timeout};
      bool active = fields.count("active") > 0
                    && fields.at("active").bool_value();
      return {active ? "active" : "inactive", timeout};
    }
  }
  return {"", 0};
}

} // namespace

TEST_CASE("the first master leads, the standby redirects, and after kill -9 "
          "of the leader the standby leads: agents re-register and the "
          "framework's tasks all finish") {
  test_zookeeper zk;
  std::optional<master_process> a{std::in_place, ha_flags(zk)};
  std::optional<master_process> b{std::in_place, ha_flags(zk)};
  auto leader = leader_seen_by(a->address());
  CHECK(leader_seen_by(b->address()) == leader);
  auto& lead = leader == a->address() ? a : b;
  auto& standby = leader == a->address() ? b : a;

  // A standby answers with Mesos' redirect to the same path.
  CHECK(redirect_of(standby->address(), "/master/state")
        == "307 http://" + leader + "/master/state");
  CHECK(redirect_of(standby->address(), "/api/v1/scheduler", "POST")
        == "307 http://" + leader + "/api/v1/scheduler");

  scratch_dir dir;
  agent_process agent{zk.url("/mesos"), dir / "agent"};
  // A tool given a standby's address follows its redirect to the leader.
  auto via_standby = run_to_end({binary("DCOS_CLI"), "execute",
                                 "--master=" + standby->address(),
                                 "--name=via-standby", "--command=true"});
  CHECK(via_standby.status == 0);
  REQUIRE(eventually(
    [&] { return count_of(leader, "GET_AGENTS", "get_agents", "agents") == 1u; },
    30s));

  subprocess_options opts;
  opts.argv = {binary("DCOS_EXAMPLE_SCHEDULER"), "--master=" + zk.url("/mesos"),
               "--tasks=10", "--command=sleep 4",
               "--resources=cpus:0.1;mem:16"};
  opts.capture_stdout = true;
  opts.stderr_path = dir / "scheduler.log";
  auto scheduler = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(scheduler);
  REQUIRE(eventually(
    [&] {
      auto n = count_of(leader, "GET_TASKS", "get_tasks", "tasks");
      return n && *n == 10;
    },
    30s));

  lead->process.kill(SIGKILL);
  lead.reset();
  // The standby leads once ZooKeeper expires the dead leader's session.
  auto next = standby->address();
  CHECK(eventually([&] { return leader_seen_by(next) == next; }, 30s));
  // The agent is known from the registry and comes back with its tasks.
  CHECK(eventually(
    [&] { return count_of(next, "GET_AGENTS", "get_agents", "agents") == 1u; },
    30s));
  auto out = scheduler->read_all(90s);
  DCOS_REQUIRE_OK(out);
  CHECK(exit_status_within(*scheduler, 30s) == 0);
  CHECK(out->find("10 finished, 0 failed") != std::string::npos);
  INFO("scheduler: " << read_file(dir / "scheduler.log"));
  // An agent stopped with SIGTERM keeps its executors for recovery: end
  // them too, so that nothing of the test outlives it.
  agent.process.terminate();
  cleanup_agent_dir(zk.url("/mesos"), dir / "agent");
}

TEST_CASE("three masters, 1000 tasks, kill -9 of the leader mid-launch: a "
          "standby leads, the agents come back, every task ends exactly once "
          "as the scheduler sees it, and nothing is left behind") {
  test_zookeeper zk;
  // A launch storm on two cores can keep ZooKeeper and the agents from
  // answering pings for seconds. A leader gives up 11/12 of a session
  // after ZooKeeper last answered its heartbeat: Mesos' default 10 s
  // sessions and 5 s pings ride it out.
  auto flags = ha_flags(zk);
  flags[1] = "--zk_session_timeout=10secs";
  flags[2] = "--agent_ping_timeout=5secs";
  std::vector<std::optional<master_process>> masters;
  for (int i = 0; i < 3; ++i)
    masters.emplace_back(std::in_place, flags);
  auto leader = leader_seen_by(masters[0]->address());
  scratch_dir dir;
  std::vector<std::optional<agent_process>> agents;
  for (int i = 0; i < 2; ++i)
    agents.emplace_back(std::in_place, zk.url("/mesos"),
                        dir / fmt::format("agent-{}", i),
                        std::vector<std::string>{
                          "--resources=cpus:8;mem:8192;disk:1024"},
                        10);
  REQUIRE(eventually(
    [&] { return count_of(leader, "GET_AGENTS", "get_agents", "agents") == 2u; },
    30s));
  INFO("agent-0: " << read_file(dir / "agent-0.log"));
  INFO("agent-1: " << read_file(dir / "agent-1.log"));

  constexpr int tasks = 1000;
  subprocess_options opts;
  opts.argv = {binary("DCOS_EXAMPLE_SCHEDULER"), "--master=" + zk.url("/mesos"),
               fmt::format("--tasks={}", tasks), "--command=true",
               "--resources=cpus:0.01;mem:4", "--failover_timeout=300"};
  opts.capture_stdout = true;
  opts.stderr_path = dir / "scheduler.log";
  auto scheduler = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(scheduler);
  INFO("scheduler: " << read_file(dir / "scheduler.log"));

  // Each task's terminal states as the scheduler printed them. The whole
  // run takes 100 to 200 s here; a run that trickles on for much longer
  // fails with what it printed instead of reaching meson's timeout.
  std::map<std::string, std::vector<std::string>> ends;
  std::string summary;
  std::string last_line;
  INFO("the scheduler's last line: " << last_line);
  auto deadline = std::chrono::steady_clock::now() + 480s;
  auto read_updates = [&](size_t until_finished) {
    size_t finished = 0;
    while (finished < until_finished) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      auto line = scheduler->read_line(std::min(left, 240000ms));
      if (!line)
        return false;
      last_line = *line;
      if (line->find(" finished, ") != std::string::npos) {
        summary = *line;
        return true;
      }
      std::istringstream words{*line};
      std::string task, state;
      words >> task >> state;
      if (state == "TASK_FINISHED")
        ++finished;
      if (state != "TASK_STAGING" && state != "TASK_STARTING"
          && state != "TASK_RUNNING" && state != "TASK_KILLING")
        ends[task].push_back(state);
    }
    return true;
  };
  REQUIRE(read_updates(200)); // mid-launch: a fifth of them done

  leader = kill_leader(masters, leader);
  REQUIRE(read_updates(tasks + 1)); // to the summary line
  CHECK(exit_status_within(*scheduler, 30s).has_value());
  INFO(summary);
  CHECK(ends.size() == static_cast<size_t>(tasks));
  size_t twice = 0;
  for (const auto& [task, states] : ends)
    twice += states.size() == 1 ? 0 : 1;
  CHECK(twice == 0);
  // A task lost with the old master is reported lost, never finished
  // twice; nearly all of them finish.
  auto finished = std::count_if(ends.begin(), ends.end(), [](const auto& e) {
    return e.second.front() == "TASK_FINISHED";
  });
  CHECK(finished >= tasks - 20);
  CHECK(summary == fmt::format("{} finished, {} failed", finished,
                               tasks - finished));
  CHECK(count_of(leader, "GET_AGENTS", "get_agents", "agents") == 2u);

  for (auto& a : agents) {
    auto work_dir = a->work_dir;
    CHECK_MESSAGE(!a->process.poll(), work_dir << " ended with status "
                                               << *a->process.poll());
    a->process.terminate();
    a.reset();
    cleanup_agent_dir(zk.url("/mesos"), work_dir);
  }
  CHECK(run_to_end({"pgrep", "-f", dir.path}).out.empty());
}

TEST_CASE("a leader frozen until its session expires exits when it runs "
          "again, and the new leader is left alone") {
  test_zookeeper zk;
  std::optional<master_process> a{std::in_place, ha_flags(zk)};
  auto leader = leader_seen_by(a->address());
  REQUIRE(leader == a->address());
  master_process b{ha_flags(zk)};
  CHECK(leader_seen_by(b.address()) == a->address());

  a->process.kill(SIGSTOP);
  CHECK(eventually([&] { return leader_seen_by(b.address()) == b.address(); },
                   30s));
  a->process.kill(SIGCONT);
  // It learns that its session is gone (or that it stayed out of touch for
  // the session timeout) and exits with 1 before serving anything.
  std::optional<int> status;
  CHECK(eventually([&] { return (status = a->process.poll()).has_value(); },
                   30s));
  CHECK(status == 1);
  CHECK(leader_seen_by(b.address()) == b.address());
  CHECK(count_of(b.address(), "GET_AGENTS", "get_agents", "agents") == 0u);
}

TEST_CASE("a framework's failover timeout survives two failovers: it runs "
          "from the moment the scheduler left, not from each new leader") {
  test_zookeeper zk;
  auto flags = ha_flags(zk);
  flags.push_back("--agent_reregister_timeout=1secs");
  std::vector<std::optional<master_process>> masters;
  for (int i = 0; i < 3; ++i)
    masters.emplace_back(std::in_place, flags);
  auto leader = leader_seen_by(masters[0]->address());

  // A scheduler subscribes over HTTP with a 25 s failover timeout and goes.
  scratch_dir dir;
  subprocess_options opts;
  opts.argv = {"curl", "-s", "-N", "--max-time", "60", "-o", dir / "stream",
               "-H", "Content-Type: application/json", "-d",
               R"({"type":"SUBSCRIBE","subscribe":{"framework_info":)"
               R"({"user":"root","name":"patient","failover_timeout":25}}})",
               "http://" + leader + "/api/v1/scheduler"};
  auto stream = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(stream);
  std::string id;
  REQUIRE(eventually(
    [&] {
      static const std::regex subscribed{
        R"re("framework_id"\s*:\s*\{\s*"value"\s*:\s*"([^"]+)")re"};
      std::smatch m;
      auto text = read_file(dir / "stream");
      if (!std::regex_search(text, m, subscribed))
        return false;
      id = m[1];
      return true;
    },
    10s));
  stream->terminate();
  auto left = std::chrono::steady_clock::now();
  CHECK(eventually(
    [&] { return framework_seen_by(leader, id).first == "inactive"; }, 10s));

  // Two leaders die in turn; each successor knows the framework, and its
  // failover timeout, from the registry alone (it has no task an agent
  // could report).
  for (int failover = 0; failover < 2; ++failover) {
    leader = kill_leader(masters, leader);
    CHECK(eventually(
      [&] {
        return framework_seen_by(leader, id)
               == std::pair<std::string, double>{"inactive", 25};
      },
      10s));
  }
  // It is removed 25 s after its scheduler left: neither at once nor 25 s
  // after the last failover.
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                         - left)
      .count();
  };
  INFO("seconds since the scheduler left: " << since());
  REQUIRE(since() < 20);
  CHECK(framework_seen_by(leader, id).first == "inactive");
  CHECK(eventually(
    [&] { return framework_seen_by(leader, id).first == "completed"; },
    40s));
  CHECK(since() > 24);
  CHECK(since() < 31);
}

TEST_CASE("on a 3-server ensemble the masters keep a leader while one server "
          "is down, and the leader exits once the quorum is lost") {
  test_zookeeper_ensemble zk;
  // ZooKeeper's default session: an ensemble electing a new leader among
  // its servers takes seconds, which a 2 s session would not outlive.
  std::vector<std::string> flags{"--zk=" + zk.url("/mesos"),
                                 "--zk_session_timeout=10secs",
                                 "--agent_ping_timeout=1secs"};
  master_process a{flags};
  master_process b{flags};
  auto leader = leader_seen_by(a.address());
  CHECK(leader_seen_by(b.address()) == leader);
  scratch_dir dir;
  agent_process agent{zk.url("/mesos"), dir / "agent"};

  zk.stop(0); // two of three remain: a quorum
  auto run = run_to_end({binary("DCOS_CLI"), "execute",
                         "--master=" + zk.url("/mesos"), "--name=one-down",
                         "--command=true"},
                        90s);
  INFO(run.out);
  CHECK(run.status == 0);
  leader = leader_seen_by(a.address());
  CHECK(leader_seen_by(b.address()) == leader);
  CHECK(count_of(leader, "GET_AGENTS", "get_agents", "agents") == 1u);

  zk.stop(1); // one of three: no quorum, no session survives
  auto& lead = leader == a.address() ? a : b;
  std::optional<int> status;
  CHECK(eventually([&] { return (status = lead.process.poll()).has_value(); },
                   40s));
  CHECK(status == 1);
  zk.start(0); // a quorum again, for the agent's clean-up
  agent.process.terminate();
  cleanup_agent_dir(zk.url("/mesos"), dir / "agent");
}

TEST_CASE("bad --zk flags: one line naming the flag, exit 2") {
  for (auto [flags, says] :
       {std::pair<std::vector<std::string>, std::string>{
          {"--zk=zk://127.0.0.1:2181"},
          "--zk: 'zk://127.0.0.1:2181' has no path"},
        {{"--zk=127.0.0.1:2181/mesos"}, "is not a ZooKeeper URL"},
        {{"--zk=zk://127.0.0.1:1/mesos", "--work_dir=/tmp/x"},
         "--work_dir: not with --zk"}}) {
    std::vector<std::string> argv{binary("DCOS_MASTER_BIN"), "--port=0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = run_to_end(argv);
    CHECK(r.status == 2);
    CHECK(r.out.find(says) != std::string::npos);
  }
}

TEST_CASE("dcos up --masters=3: ZooKeeper, three masters, agents on zk://; "
          "a killed leader is replaced and restarted, and Ctrl-C ends it "
          "all") {
  scratch_dir dir;
  auto port = free_port_run(4); // three masters, one agent
  auto zk_port = free_port();
  auto marathon_port = free_port_run(3); // one Marathon per master
  auto dns_http_port = free_port();
  auto dns_port = free_port();
  subprocess_options opts;
  opts.argv = {binary("DCOS_CLI"), "up", "--masters=3", "--agents=1",
               fmt::format("--port={}", port),
               fmt::format("--zk_port={}", zk_port), "--work_dir=" + dir.path,
               fmt::format("--marathon_port={}", marathon_port),
               fmt::format("--mesos_dns_port={}", dns_http_port),
               fmt::format("--dns_port={}", dns_port),
               "--log_level=warning"};
  opts.capture_stdout = true;
  opts.stderr_path = dir / "up.log";
  auto up = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(up);
  std::string banner;
  while (banner.find("cluster ready") == std::string::npos) {
    auto line = up->read_line(90s);
    DCOS_REQUIRE_OK(line);
    banner += *line + "\n";
  }
  auto zk = fmt::format("zk://127.0.0.1:{}/mesos", zk_port);
  CHECK(banner.find("zookeeper  " + zk + "\n") != std::string::npos);
  for (int i = 0; i < 3; ++i)
    CHECK(banner.find(fmt::format("master-{}  http://127.0.0.1:{}\n", i,
                                  port + i))
          != std::string::npos);
  CHECK(banner.find(fmt::format("agent-0  http://127.0.0.1:{}\n", port + 3))
        != std::string::npos);
  // The Marathons elect one leader; each names it (the standbys forward).
  for (int i = 0; i < 3; ++i)
    CHECK(banner.find(fmt::format("marathon-{}  http://127.0.0.1:{}\n", i,
                                  marathon_port + i))
          != std::string::npos);
  auto marathon_leader = [&](int i) {
    auto r = curl({fmt::format("http://127.0.0.1:{}/v2/leader",
                               marathon_port + i)});
    return r.status == 200 ? r.body : std::string{};
  };
  CHECK(eventually(
    [&] {
      auto first = marathon_leader(0);
      return !first.empty() && first == marathon_leader(1)
             && first == marathon_leader(2);
    },
    30s));

  auto execute = [&](const std::string& name) {
    return run_to_end({binary("DCOS_CLI"), "execute", "--master=" + zk,
                       "--name=" + name, "--command=true"},
                      90s);
  };
  auto first = execute("before");
  CHECK(first.status == 0);
  CHECK(first.out.find("TASK_FINISHED for task 'before'") != std::string::npos);

  auto leader = leader_seen_by(fmt::format("127.0.0.1:{}", port));
  auto leader_port = leader.substr(leader.rfind(':') + 1);
  // Mesos-DNS names the leader (its HTTP port in _leader._tcp's SRV).
  auto dns_leader_port = [&] {
    auto dig = run_to_end({"dig", "+short", "@127.0.0.1", "-p",
                           std::to_string(dns_port), "_leader._tcp.mesos",
                           "SRV"});
    std::istringstream words{dig.out};
    std::string priority, weight, srv_port;
    words >> priority >> weight >> srv_port;
    return srv_port;
  };
  CHECK(eventually([&] { return dns_leader_port() == leader_port; }, 30s));

  // `dcos masters` lists all three from ZooKeeper, the leader first; asked
  // a standby, it names the leader.
  auto listing = run_to_end({binary("DCOS_CLI"), "masters", "--master=" + zk});
  INFO(listing.out);
  CHECK(listing.status == 0);
  CHECK(listing.out.rfind("ADDRESS", 0) == 0);
  auto first_row = listing.out.substr(listing.out.find('\n') + 1);
  CHECK(first_row.rfind(leader + " ", 0) == 0);
  CHECK(first_row.substr(0, first_row.find('\n')).find("  true")
        != std::string::npos);
  // The id a master announces in the election is the id it answers with.
  auto master = curl({"-X", "POST", "-H", "Content-Type: application/json",
                      "-d", R"({"type":"GET_MASTER"})",
                      "http://" + leader + "/api/v1"});
  auto id = parse_json_object(master.body)
              .fields()
              .at("get_master")
              .struct_value()
              .fields()
              .at("master_info")
              .struct_value()
              .fields()
              .at("id")
              .string_value();
  CHECK(first_row.find("  " + id + "  ") != std::string::npos);
  for (int i = 0; i < 3; ++i)
    CHECK(listing.out.find(fmt::format("127.0.0.1:{} ", port + i))
          != std::string::npos);
  auto standby = fmt::format("127.0.0.1:{}", leader_port == std::to_string(port)
                                               ? port + 1
                                               : port);
  auto asked = run_to_end(
    {binary("DCOS_CLI"), "masters", "--master=" + standby, "--json"});
  CHECK(asked.status == 0);
  CHECK(asked.out.find(fmt::format("\"port\":{}", leader_port))
        != std::string::npos);
  CHECK(run_to_end({binary("DCOS_CLI"), "masters", "--master=zk://x"}).status
        == 2);
  auto pid = run_to_end({"pgrep", "-f", "dcos-master.*--port=" + leader_port})
               .out;
  REQUIRE_FALSE(pid.empty());
  ::kill(std::stoi(pid), SIGKILL);
  // Another master leads once the dead one's session expires (10 s), and
  // dcos up restarts the dead one as a standby.
  auto after = execute("after");
  CHECK(after.status == 0);
  CHECK(after.out.find("TASK_FINISHED for task 'after'") != std::string::npos);
  // Mesos-DNS followed the new leader.
  CHECK(eventually(
    [&] {
      auto now = dns_leader_port();
      return !now.empty() && now != leader_port;
    },
    30s));
  CHECK(eventually(
    [&] {
      return read_file(dir / "up.log").find("restarting it")
             != std::string::npos;
    },
    10s));

  up->kill(SIGINT);
  CHECK(exit_status_within(*up, 60s) == 0);
  CHECK(eventually(
    [&] { return run_to_end({"pgrep", "-f", dir.path}).out.empty(); }, 15s));
}
