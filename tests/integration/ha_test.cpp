// Several dcos-master processes on one real ZooKeeper: leader election,
// standbys that redirect, a failover that loses neither agents nor tasks,
// and a deposed leader that stops at once.
#include <signal.h>

#include <chrono>
#include <optional>

#include <doctest/doctest.h>

#include "support/processes.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> ha_flags(const zookeeper_server& zk) {
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

} // namespace

TEST_CASE("the first master leads, the standby redirects, and after kill -9 "
          "of the leader the standby leads: agents re-register and the "
          "framework's tasks all finish") {
  zookeeper_server zk;
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
  CHECK(scheduler->wait() == 0);
  CHECK(out->find("10 finished, 0 failed") != std::string::npos);
  INFO("scheduler: " << read_file(dir / "scheduler.log"));
}

TEST_CASE("a leader frozen until its session expires exits when it runs "
          "again, and the new leader is left alone") {
  zookeeper_server zk;
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
