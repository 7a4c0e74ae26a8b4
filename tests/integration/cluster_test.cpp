// Whole clusters of real processes on loopback: dcos-master, dcos-agent,
// executors and their containers, the example scheduler, the dcos tool.
// Every test ends every process it started (and every container an agent
// left behind).
#include <signal.h>

#include <doctest/doctest.h>

#include "support/checks.hpp"
#include <fmt/format.h>

#include "dcos/json.hpp"
#include "support/files.hpp"
#include "support/https_server.hpp"
#include "support/network_node.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

std::string example_scheduler(const master_process& m, int tasks,
                              const std::string& command, int* status) {
  subprocess_options opts;
  opts.argv = {binary("DCOS_EXAMPLE_SCHEDULER"), "--master=" + m.address(),
               fmt::format("--tasks={}", tasks), "--command=" + command,
               // At most 40 per agent (cpus:4), so 200 tasks must spread.
               "--resources=cpus:0.1;mem:16"};
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  REQUIRE(p);
  auto out = p->read_all(180s);
  DCOS_REQUIRE_OK(out);
  *status = p->wait();
  return *out;
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1))
    ++n;
  return n;
}

double metric(const std::string& address, const std::string& name) {
  auto r = curl({"http://" + address + "/metrics/snapshot"});
  auto doc = parse_json_object(r.body);
  auto i = doc.fields().find(name);
  return i == doc.fields().end() ? -1 : i->second.number_value();
}

struct cluster_guard {
  scratch_dir dir;
  std::string agent_resources;
  std::unique_ptr<master_process> master;
  std::vector<std::unique_ptr<agent_process>> agents;
  std::vector<std::string> agent_dirs;

  explicit cluster_guard(
    int n, std::vector<std::string> master_flags = {},
    std::string resources = "cpus:4;mem:4096;disk:1024")
    : agent_resources(std::move(resources)) {
    master = std::make_unique<master_process>(master_flags);
    for (int i = 0; i < n; ++i)
      add_agent();
    REQUIRE(eventually([&] {
      return metric(master->address(), "master/slaves_active")
             == static_cast<double>(agents.size());
    }));
  }

  agent_process& add_agent(std::vector<std::string> extra = {}) {
    auto work = fmt::format("{}/agent-{}", dir.path, agent_dirs.size());
    extra.push_back("--resources=" + agent_resources);
    agent_dirs.push_back(work);
    agents.push_back(std::make_unique<agent_process>(master->address(), work,
                                                     extra));
    return *agents.back();
  }

  ~cluster_guard() {
    for (auto& a : agents)
      if (a)
        a->process.kill(SIGUSR1); // for good: they kill their containers
    for (auto& a : agents)
      if (a)
        a->process.terminate(15s);
    for (const auto& d : agent_dirs)
      cleanup_agent_dir(master->address(), d);
  }
};

} // namespace

TEST_CASE("a 3-agent cluster runs 200 short tasks of the example scheduler") {
  cluster_guard c{3};
  int status = -1;
  auto out = example_scheduler(*c.master, 200, "true", &status);
  CHECK(status == 0);
  CHECK(out.find("200 finished, 0 failed") != std::string::npos);
  // The scheduler saw each task finish exactly once.
  int exact = 0;
  for (int i = 0; i < 200; ++i)
    exact += count(out, fmt::format("task-{} TASK_FINISHED", i)) == 1 ? 1 : 0;
  CHECK(exact == 200);
  // Every update was acknowledged: nothing is pending on any agent.
  for (auto& a : c.agents)
    CHECK(eventually([&] {
      return metric(a->address(), "slave/status_updates_pending") == 0;
    }));
  CHECK(metric(c.master->address(), "master/tasks_finished") == 200);
  // Tasks spread over the agents.
  int used = 0;
  for (auto& a : c.agents)
    used += metric(a->address(), "slave/executors_launched") > 0 ? 1 : 0;
  CHECK(used == 3);
}

TEST_CASE("kill -9 of an agent mid-run: tasks survive, no update is lost") {
  cluster_guard c{1};
  subprocess_options opts;
  opts.argv = {binary("DCOS_EXAMPLE_SCHEDULER"),
               "--master=" + c.master->address(), "--tasks=5",
               "--command=sleep 4; echo done", "--resources=cpus:0.1;mem:16"};
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto scheduler = subprocess::spawn(opts);
  REQUIRE(scheduler);
  int running = 0;
  std::string seen;
  while (running < 5) {
    auto line = scheduler->read_line(30s);
    DCOS_REQUIRE_OK(line);
    seen += *line + "\n";
    running += line->find("TASK_RUNNING") != std::string::npos ? 1 : 0;
  }
  // The agent dies; its executors and tasks do not.
  c.agents[0]->process.kill(SIGKILL);
  c.agents[0]->process.wait();
  std::this_thread::sleep_for(1s);
  // A new agent process on the same work directory, within the timeout.
  auto dir = c.agent_dirs[0];
  c.agents[0] = std::make_unique<agent_process>(
    c.master->address(), dir,
    std::vector<std::string>{"--resources=cpus:4;mem:4096;disk:1024"});
  auto rest = scheduler->read_all(60s);
  DCOS_REQUIRE_OK(rest);
  seen += *rest;
  CHECK(scheduler->wait() == 0);
  CHECK(seen.find("5 finished, 0 failed") != std::string::npos);
  for (int i = 0; i < 5; ++i)
    CHECK(count(seen, fmt::format("task-{} TASK_FINISHED", i)) == 1);
  // Same agent id: it re-registered, it did not come back as a stranger.
  CHECK(metric(c.master->address(), "master/slave_registrations") == 1);
  CHECK(metric(c.master->address(), "master/slave_reregistrations") >= 1);
}

TEST_CASE("an agent that does not come back: its tasks become unreachable "
          "and its resources leave the pool") {
  cluster_guard c{1, {"--agent_ping_timeout=300ms",
                      "--max_agent_ping_timeouts=3"}};
  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", c.master->port));
  recording_scheduler sched;
  sched.to_launch = {command_task("long-1", "sleep 600"),
                     command_task("long-2", "sleep 600")};
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("partition-aware");
  info.add_capabilities()->set_type(
    v1::FrameworkInfo::Capability::PARTITION_AWARE);
  scheduler_driver driver{*node.sys, sched, info, detector};
  REQUIRE(eventually([&] { return sched.reached("long-2", v1::TASK_RUNNING); }));
  CHECK(metric(c.master->address(), "master/cpus_total") == 4);
  c.agents[0]->process.kill(SIGKILL);
  c.agents[0]->process.wait();
  c.agents[0].reset();
  REQUIRE(eventually([&] {
    return sched.reached("long-1", v1::TASK_UNREACHABLE)
           && sched.reached("long-2", v1::TASK_UNREACHABLE);
  }));
  CHECK(metric(c.master->address(), "master/slaves_unreachable") == 1);
  CHECK(metric(c.master->address(), "master/cpus_total") == 0);
  driver.teardown();
  driver.join();
}

TEST_CASE("a task group where one task fails: the whole group is killed") {
  cluster_guard c{1};
  auto group = c.dir.path + "/group.json";
  std::ofstream{group} << R"({"tasks":[
    {"name":"steady","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},
                                  {"name":"mem","type":"SCALAR","scalar":{"value":16}}],
     "command":{"value":"sleep 600"}},
    {"name":"broken","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},
                                  {"name":"mem","type":"SCALAR","scalar":{"value":16}}],
     "command":{"value":"sleep 1; exit 7"}}]})";
  subprocess_options opts;
  opts.argv = {binary("DCOS_CLI"), "execute", "--master=" + c.master->address(),
               "--name=group", "--task_group=" + group};
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto p = subprocess::spawn(opts);
  REQUIRE(p);
  auto out = p->read_all(60s);
  REQUIRE(out);
  CHECK(p->wait() == 1);
  CHECK(out->find("TASK_FAILED for task 'broken': Command exited with status "
                  "7")
        != std::string::npos);
  CHECK(out->find("TASK_KILLED for task 'steady'") != std::string::npos);
}

TEST_CASE("health checks flip healthy; a failing command check kills") {
  // The three servers listen on ports free on this host, which the agent
  // offers.
  auto ports = free_ports(3);
  auto web_port = ports[0];
  auto tcp_port = ports[1];
  auto tls_port = ports[2];
  cluster_guard c{1, {},
                  fmt::format("cpus:4;mem:4096;disk:1024;ports:[{0}-{0},{1}-{1},"
                              "{2}-{2}]",
                              web_port, tcp_port, tls_port)};
  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", c.master->port));
  recording_scheduler sched;
  auto web = command_task("web",
                          "exec python3 -m http.server $PORT0 --bind "
                          "127.0.0.1 2>/dev/null",
                          fmt::format("cpus:0.1;mem:64;ports:[{0}-{0}]",
                                      web_port));
  auto* hc = web.mutable_health_check();
  hc->set_type(v1::HealthCheck::HTTP);
  hc->mutable_http()->set_port(web_port);
  hc->set_delay_seconds(0.2);
  hc->set_interval_seconds(0.3);
  hc->set_grace_period_seconds(10);
  auto tcp = command_task("tcp",
                          fmt::format("exec python3 -m http.server {} --bind "
                                      "127.0.0.1 2>/dev/null",
                                      tcp_port),
                          fmt::format("cpus:0.1;mem:64;ports:[{0}-{0}]",
                                      tcp_port));
  auto* tc = tcp.mutable_health_check();
  tc->set_type(v1::HealthCheck::TCP);
  tc->mutable_tcp()->set_port(tcp_port);
  tc->set_delay_seconds(0.2);
  tc->set_interval_seconds(0.3);
  // HTTPS, with a self-signed certificate that the executor does not check
  // (as Mesos' curl -k); its TLS is the OpenSSL linked into the executor.
  scratch_dir certs;
  auto cert = make_certificate(certs, "localhost");
  auto secure = command_task(
    "secure",
    fmt::format("exec python3 {} --cert {} --key {} --port {}",
                write_https_script(certs), cert.cert, cert.key, tls_port),
    fmt::format("cpus:0.1;mem:64;ports:[{0}-{0}]", tls_port));
  auto* hs = secure.mutable_health_check();
  hs->set_type(v1::HealthCheck::HTTP);
  hs->mutable_http()->set_port(tls_port);
  hs->mutable_http()->set_scheme("https");
  hs->set_delay_seconds(0.2);
  hs->set_interval_seconds(0.3);
  hs->set_grace_period_seconds(10);
  auto sick = command_task("sick", "sleep 600");
  auto* sc = sick.mutable_health_check();
  sc->set_type(v1::HealthCheck::COMMAND);
  sc->mutable_command()->set_value("test -e /nonexistent");
  sc->set_delay_seconds(0.2);
  sc->set_interval_seconds(0.2);
  sc->set_grace_period_seconds(0);
  sc->set_consecutive_failures(2);
  sched.to_launch = {web, tcp, secure, sick};
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("health");
  scheduler_driver driver{*node.sys, sched, info, detector};
  REQUIRE(eventually([&] {
    auto s = sched.last_of("web");
    return s && s->has_healthy() && s->healthy();
  }));
  REQUIRE(eventually([&] {
    auto s = sched.last_of("tcp");
    return s && s->has_healthy() && s->healthy();
  }));
  REQUIRE(eventually([&] {
    auto s = sched.last_of("secure");
    return s && s->has_healthy() && s->healthy();
  }));
  REQUIRE(eventually([&] { return sched.reached("sick", v1::TASK_KILLED); }));
  auto last = sched.last_of("sick");
  CHECK(last->has_healthy());
  CHECK_FALSE(last->healthy());
  CHECK(last->message().find("consecutive failed health checks")
        != std::string::npos);
  // The healthy ones were not touched.
  CHECK(sched.last_of("web")->state() == v1::TASK_RUNNING);
  driver.teardown();
  driver.join();
}

// Mesos' checks (CheckInfo): a result is reported on every change (the
// first TASK_RUNNING carries the type with no result yet), never acted on.
TEST_CASE("checks report each change of their result and kill nothing") {
  auto web_port = free_ports(1)[0];
  cluster_guard c{1, {},
                  fmt::format("cpus:4;mem:4096;disk:1024;ports:[{0}-{0}]",
                              web_port)};
  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", c.master->port));
  recording_scheduler sched;
  // Not ready, then ready once the file exists, then not ready again.
  auto flips = command_task("flips",
                            "sleep 2; touch ready; sleep 3; rm ready; "
                            "sleep 600");
  auto* fc = flips.mutable_check();
  fc->set_type(v1::CheckInfo::COMMAND);
  fc->mutable_command()->mutable_command()->set_value("test -e ready");
  fc->set_delay_seconds(0.1);
  fc->set_interval_seconds(0.2);
  auto web = command_task("web",
                          "exec python3 -m http.server $PORT0 --bind "
                          "127.0.0.1 2>/dev/null",
                          fmt::format("cpus:0.1;mem:64;ports:[{0}-{0}]",
                                      web_port));
  auto* wc = web.mutable_check();
  wc->set_type(v1::CheckInfo::HTTP);
  wc->mutable_http()->set_port(web_port);
  wc->mutable_http()->set_path("/nonexistent");
  wc->set_delay_seconds(0.2);
  wc->set_interval_seconds(0.3);
  // Its check always times out: the result stays unknown, and each
  // attempt's command is killed at its timeout.
  auto slow = command_task("slow", "sleep 600");
  auto* sc = slow.mutable_check();
  sc->set_type(v1::CheckInfo::COMMAND);
  sc->mutable_command()->mutable_command()->set_value("exec sleep 7.25");
  sc->set_delay_seconds(0);
  sc->set_interval_seconds(0.1);
  sc->set_timeout_seconds(0.3);
  sched.to_launch = {flips, web, slow};
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("checks");
  scheduler_driver driver{*node.sys, sched, info, detector};
  // The exit codes "flips" went through, in order, without repeats.
  auto codes = [&] {
    std::lock_guard guard{sched.mtx};
    std::vector<int> out;
    for (const auto& u : sched.updates)
      if (u.task_id().value() == "flips" && u.state() == v1::TASK_RUNNING) {
        CHECK(u.check_status().type() == v1::CheckInfo::COMMAND);
        CHECK(u.check_status().has_command());
        out.push_back(u.check_status().command().has_exit_code()
                        ? u.check_status().command().exit_code()
                        : -1);
      }
    return out;
  };
  // Launched with no result yet, then failing, passing, failing again (a
  // check timing out on a slow machine may add "unknown" between them).
  auto went_through = [&] {
    std::vector<int> expected{-1, 1, 0, 1};
    size_t matched = 0;
    for (auto code : codes())
      if (matched < expected.size() && code == expected[matched])
        ++matched;
    return matched == expected.size();
  };
  REQUIRE(eventually(went_through));
  CHECK(codes().front() == -1);
  REQUIRE(eventually([&] {
    auto s = sched.last_of("web");
    return s && s->check_status().http().has_status_code();
  }));
  auto last = sched.last_of("web");
  CHECK(last->reason() == v1::TaskStatus::REASON_TASK_CHECK_STATUS_UPDATED);
  CHECK(last->check_status().http().status_code() == 404);
  // "slow": several attempts by now, none left running but the latest.
  auto slow_checks = [] {
    return run_to_end({"sh", "-c", "pgrep -fc '^sleep 7.25$' || true"}).out;
  };
  CHECK(std::stoi(slow_checks()) <= 1);
  {
    std::lock_guard guard{sched.mtx};
    for (const auto& u : sched.updates)
      if (u.task_id().value() == "slow")
        CHECK_FALSE(u.check_status().command().has_exit_code());
  }
  // Failing checks kill nothing; the master's state shows the check and
  // the latest result.
  CHECK(sched.last_of("flips")->state() == v1::TASK_RUNNING);
  CHECK(sched.last_of("web")->state() == v1::TASK_RUNNING);
  auto state = curl({"http://" + c.master->address() + "/state"}).body;
  CHECK(state.find("\"check\":") != std::string::npos);
  CHECK(state.find("\"status_code\":404") != std::string::npos);
  driver.teardown();
  driver.join();
}

// Mesos' CommandInfo with shell=false: `value` is exec'd with `arguments` as
// its whole argv, argv[0] included. A task, a custom executor and a COMMAND
// health check all follow that rule (each used to build argv its own way).
TEST_CASE("a command without a shell gets its arguments as argv, argv[0] "
          "included") {
  cluster_guard c{1};
  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", c.master->port));
  auto exec_form = [](v1::CommandInfo* cmd, std::vector<std::string> argv) {
    cmd->set_shell(false);
    cmd->set_value("/bin/sh");
    for (auto& arg : argv)
      cmd->add_arguments(std::move(arg));
  };
  recording_scheduler sched;
  // Finishes only if its argv[0] (the shell's $0) is "probe".
  auto task = command_task("argv0", "");
  exec_form(task.mutable_command(), {"probe", "-c", "test \"$0\" = probe"});
  // A custom executor leaves a mark if its argv[0] is "probe" (it never
  // registers: it only has to start).
  auto mark = c.dir.path + "/executor-argv0";
  auto custom = command_task("custom", "");
  custom.clear_command();
  auto* executor = custom.mutable_executor();
  executor->mutable_executor_id()->set_value("custom-executor");
  resources::parse("cpus:0.1;mem:32")->to_proto(executor->mutable_resources());
  exec_form(executor->mutable_command(),
            {"probe", "-c", "test \"$0\" = probe && touch " + mark
                              + "; exec sleep 600"});
  // A check that must fail: with its arguments ignored, `/bin/sh` alone
  // would read an empty stdin and pass.
  auto sick = command_task("sick", "sleep 600");
  auto* check = sick.mutable_health_check();
  check->set_type(v1::HealthCheck::COMMAND);
  exec_form(check->mutable_command(), {"sh", "-c", "exit 1"});
  check->set_delay_seconds(0.2);
  check->set_interval_seconds(0.2);
  check->set_grace_period_seconds(0);
  check->set_consecutive_failures(2);
  sched.to_launch = {task, custom, sick};
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("argv");
  scheduler_driver driver{*node.sys, sched, info, detector};
  REQUIRE(eventually([&] { return sched.reached("argv0", v1::TASK_FINISHED)
                                  || sched.reached("argv0", v1::TASK_FAILED);
  }));
  CHECK(sched.reached("argv0", v1::TASK_FINISHED));
  CHECK(eventually([&] { return std::filesystem::exists(mark); }));
  CHECK(eventually([&] { return sched.reached("sick", v1::TASK_KILLED); }));
  driver.teardown();
  driver.join();
}

TEST_CASE("bad input: flags, oversized launches, unknown tasks") {
  cluster_guard c{1};
  // A malformed --resources exits 2 and names the bad token.
  subprocess_options opts;
  opts.argv = {binary("DCOS_AGENT_BIN"), "--master=" + c.master->address(),
               "--resources=cpus:4;mem:lots", "--work_dir=" + c.dir.path + "/x"};
  opts.stderr_path = c.dir.path + "/bad.err";
  auto bad = subprocess::spawn(opts);
  REQUIRE(bad);
  CHECK(bad->wait() == 2);
  std::ifstream err{c.dir.path + "/bad.err"};
  std::string line;
  std::getline(err, line);
  CHECK(line.find("--resources") != std::string::npos);
  CHECK(line.find("'mem:lots'") != std::string::npos);
  // A launch bigger than its offer: TASK_ERROR.
  network_node node;
  auto detector = node.keep(
    spawn_remote_detector(*node.sys, "127.0.0.1", c.master->port));
  recording_scheduler sched;
  sched.to_launch = {command_task("greedy", "true", "cpus:64;mem:32")};
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name("greedy");
  {
    scheduler_driver driver{*node.sys, sched, info, detector};
    REQUIRE(eventually([&] { return sched.reached("greedy", v1::TASK_ERROR); }));
    CHECK(sched.last_of("greedy")->reason()
          == v1::TaskStatus::REASON_TASK_INVALID);
    driver.teardown();
    driver.join();
  }
  // An unknown task id to `dcos task log`: exit 1 and a clear line.
  opts.argv = {binary("DCOS_CLI"), "task", "log", "no-such-task",
               "--master=" + c.master->address()};
  opts.stderr_path = c.dir.path + "/log.err";
  auto log = subprocess::spawn(opts);
  REQUIRE(log);
  CHECK(log->wait() == 1);
  std::ifstream log_err{c.dir.path + "/log.err"};
  std::getline(log_err, line);
  CHECK(line == "dcos task log: no task 'no-such-task' (see `dcos tasks`)");
}

TEST_CASE("dcos up runs a cluster that dcos execute uses; SIGTERM stops it "
          "all") {
  scratch_dir dir;
  // The master's port and the two after it, for the agents.
  auto port = free_port_run(3);
  auto master = fmt::format("127.0.0.1:{}", port);
  auto marathon_port = free_port();
  auto dns_http_port = free_port();
  auto dns_port = free_port();
  auto minuteman_port = free_port();
  auto metronome_port = free_port();
  subprocess_options opts;
  opts.argv = {binary("DCOS_CLI"), "up", "--agents=2",
               fmt::format("--port={}", port), "--work_dir=" + dir.path,
               fmt::format("--marathon_port={}", marathon_port),
               fmt::format("--mesos_dns_port={}", dns_http_port),
               fmt::format("--dns_port={}", dns_port),
               fmt::format("--minuteman_port={}", minuteman_port),
               fmt::format("--metronome_port={}", metronome_port),
               "--log_level=warning"};
  opts.capture_stdout = true;
  auto up = subprocess::spawn(opts);
  REQUIRE(up);
  std::string banner;
  while (banner.find("cluster ready") == std::string::npos) {
    auto line = up->read_line(60s);
    DCOS_REQUIRE_OK(line);
    banner += *line + "\n";
  }
  CHECK(banner.find("master   http://" + master + "\n") != std::string::npos);
  CHECK(banner.find(fmt::format("agent-1  http://127.0.0.1:{}\n", port + 2))
        != std::string::npos);
  CHECK(banner.find(fmt::format("mesos-dns  http://127.0.0.1:{}\n",
                                dns_http_port))
        != std::string::npos);
  CHECK(banner.find(fmt::format("minuteman  http://127.0.0.1:{}\n",
                                minuteman_port))
        != std::string::npos);
  CHECK(banner.find(fmt::format("metronome  http://127.0.0.1:{}\n",
                                metronome_port))
        != std::string::npos);
  // Metronome runs a job on the cluster.
  auto metronome = fmt::format("http://127.0.0.1:{}", metronome_port);
  auto job = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
                   R"({"id":"hello","run":{"cmd":"true","cpus":0.1,)"
                   R"("mem":32,"disk":0}})",
                   metronome + "/v1/jobs"});
  CHECK_MESSAGE(job.status == 201, job.body);
  CHECK(curl({"-X", "POST", metronome + "/v1/jobs/hello/runs"}).status == 201);
  CHECK(eventually([&] {
    auto r = curl({metronome + "/v1/jobs/hello?embed=historySummary"});
    return r.body.find(R"("successCount":1)") != std::string::npos;
  }));
  // Mesos-DNS names the leading master, asked with a real dig.
  CHECK(eventually([&] {
    auto dig = run_to_end({"dig", "+short", "@127.0.0.1", "-p",
                           std::to_string(dns_port), "leader.mesos"});
    return dig.out == "127.0.0.1\n";
  }));
  subprocess_options exec;
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master,
               "--name=hello", "--command=echo hello from $MESOS_TASK_ID"};
  exec.capture_stdout = true;
  exec.stderr_path = "/dev/null";
  auto run = subprocess::spawn(exec);
  REQUIRE(run);
  auto out = run->read_all(60s);
  CHECK(run->wait() == 0);
  CHECK(out->find("TASK_FINISHED for task 'hello'") != std::string::npos);
  auto log = curl({"http://" + master + "/health"});
  CHECK(log.status == 200);
  subprocess_options tasklog;
  tasklog.argv = {binary("DCOS_CLI"), "task", "log", "hello",
                  "--master=" + master};
  tasklog.capture_stdout = true;
  auto logp = subprocess::spawn(tasklog);
  REQUIRE(logp);
  auto text = logp->read_all(30s);
  CHECK(logp->wait() == 0);
  CHECK(*text == "hello from hello\n");
  // A long task, then SIGTERM: everything ends, nothing is left.
  exec.argv = {binary("DCOS_CLI"), "execute", "--master=" + master,
               "--name=long", "--command=sleep 600"};
  exec.capture_stdout = false;
  exec.stdout_path = "/dev/null";
  auto long_run = subprocess::spawn(exec);
  REQUIRE(long_run);
  REQUIRE(eventually([&] {
    auto r = curl({"-X", "POST", "-H", "Content-Type: application/json", "-d",
                   R"({"type":"GET_TASKS"})",
                   "http://" + master + "/api/v1"});
    return r.body.find("TASK_RUNNING") != std::string::npos;
  }));
  up->kill(SIGTERM);
  CHECK(exit_status_within(*up, 60s) == 0);
  long_run->terminate(5s);
  // No daemon, executor or container of this cluster survives.
  CHECK(eventually([&] {
    auto ps = subprocess::spawn({.argv = {"pgrep", "-f", dir.path},
                                 .capture_stdout = true});
    auto pids = ps->read_all(5s);
    ps->wait();
    return pids && pids->empty();
  }, 10s));
}
