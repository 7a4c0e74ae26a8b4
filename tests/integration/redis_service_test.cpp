// The SDK's example service end to end: Redis (Debian's redis-server), a
// primary and two replicas on persistent volumes, run by dcos-service from
// examples/redis/svc.yml on a real master and three agents, as root. It
// deploys, takes writes that reach the replicas, backs up; a replica's
// machine crashes (its agent and every process of its containers killed
// with SIGKILL) and recovery starts it again on its volume, from its own
// dump; `pod replace` gives a replica a new volume and it resynchronises;
// a config change rolls out by the update plan; a fresh deployment
// restores the backup and every key is there.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int keys = 100;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Three agents on one host, told apart by their `node` attribute (the
// spec's placement keeps the primary on a0 and the replicas on a1 and a2)
// and by their port ranges. They can crash (kill -9 with their containers)
// and start again on their work directories.
struct agents {
  std::string master;
  std::string dir;
  std::vector<std::unique_ptr<agent_process>> nodes;

  agents(std::string master, std::string dir)
    : master(std::move(master)), dir(std::move(dir)) {
    for (int i = 0; i < 3; ++i)
      nodes.push_back(start(i));
  }

  ~agents() {
    for (auto& a : nodes) {
      a->process.kill(SIGUSR1);
      a->process.terminate(15s);
      cleanup_agent_dir(master, a->work_dir);
    }
  }

  std::unique_ptr<agent_process> start(int i) const {
    return std::make_unique<agent_process>(
      master, fmt::format("{}/agent-{}", dir, i),
      std::vector<std::string>{
        "--isolation=filesystem/linux,namespaces/pid",
        fmt::format("--attributes=node:a{}", i),
        fmt::format("--resources=cpus:2;mem:1024;disk:2000;ports:[{}-{}]",
                    31100 + 100 * i, 31119 + 100 * i)});
  }

  // The agent whose port range holds `port`.
  int of_port(uint16_t port) const { return (port - 31100) / 100; }

  // Agent `i`'s machine crashes: the agent and every process working under
  // its directory (executors, servers) are killed at once; then it starts
  // again on the same directory, as after a reboot.
  void crash_and_restart(int i) {
    nodes[i]->process.kill(SIGKILL);
    nodes[i]->process.wait();
    auto under = nodes[i]->work_dir + "/";
    for (const auto& p : fs::directory_iterator("/proc")) {
      auto pid = p.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos)
        continue;
      std::error_code ec;
      auto cwd = fs::read_symlink(p.path() / "cwd", ec).string() + "/";
      if (!ec && cwd.rfind(under, 0) == 0)
        ::kill(std::stoi(pid), SIGKILL);
    }
    nodes[i] = start(i);
  }
};

// A dcos-service running examples/redis/svc.yml as `name`.
struct redis_service {
  uint16_t port; // before `process`, which is started on it
  subprocess process;

  redis_service(const std::string& name, const std::string& master,
                const std::string& dir, const std::string& backups,
                const std::string& maxmemory = "64mb")
    : port(free_port()),
      process(start(name, master, dir, backups, maxmemory, port)) {}

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port, path);
  }

  // The "host:port" addresses of an endpoint, in instance order.
  std::vector<std::string> addresses(const std::string& endpoint) const {
    auto r = curl({url("/v1/endpoints/" + endpoint)});
    std::vector<std::string> out;
    if (r.status != 200)
      return out;
    auto doc = parse_json_object(r.body);
    for (const auto& v : doc.fields().at("address").list_value().values())
      out.push_back(v.string_value());
    return out;
  }

  // The id of the task `name` ("replica-0-server") in its pod's status.
  std::string task_id(const std::string& pod, const std::string& name) const {
    auto body = curl({url("/v1/pod/" + pod + "/status")}).body;
    auto at = body.find(fmt::format(R"("name":"{}")", name));
    if (at == std::string::npos)
      return "";
    auto id = body.rfind(R"("id":")", at);
    if (id == std::string::npos)
      return "";
    id += 6;
    return body.substr(id, body.find('"', id) - id);
  }

  bool plan_complete(const std::string& plan) const {
    return curl({url("/v1/plans/" + plan)}).status == 200;
  }

private:
  static subprocess start(const std::string& name, const std::string& master,
                          const std::string& dir, const std::string& backups,
                          const std::string& maxmemory, uint16_t port) {
    subprocess_options opts;
    opts.argv = {binary("DCOS_SERVICE_BIN"), "--spec=" + binary("DCOS_REDIS_SPEC"),
                 "--master=" + master, "--ip=127.0.0.1",
                 "--hostname=127.0.0.1", fmt::format("--port={}", port),
                 "--work_dir=" + dir, "--log_level=info"};
    opts.env = {"FRAMEWORK_NAME=" + name, "REPLICA_COUNT=2",
                "BACKUP_DIR=" + backups, "REDIS_MAXMEMORY=" + maxmemory,
                R"(PRIMARY_PLACEMENT=[["node","IS","a0"]])",
                R"(REPLICA_PLACEMENT=[["node","UNLIKE","a0"],["node","UNIQUE"]])"};
    opts.capture_stdout = true;
    opts.stderr_path = dir + ".log";
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    auto line = p->read_line(30s);
    DCOS_REQUIRE_OK(line);
    REQUIRE_MESSAGE(contains(*line, "listening on"), *line);
    return std::move(*p);
  }
};

// redis-cli against "host:port", its output trimmed.
std::string redis(const std::string& address, std::vector<std::string> args) {
  auto colon = address.rfind(':');
  std::vector<std::string> argv{"redis-cli", "-h", address.substr(0, colon),
                                "-p", address.substr(colon + 1)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = run_to_end(argv, 10s).out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

// A field of INFO's section `section` on the server at `address`.
std::string info(const std::string& address, const std::string& section,
                 const std::string& field) {
  auto text = redis(address, {"INFO", section});
  auto at = text.find(field + ":");
  if (at == std::string::npos)
    return "";
  at += field.size() + 1;
  auto end = text.find_first_of("\r\n", at);
  return text.substr(at, end - at);
}

bool has_every_key(const std::string& address) {
  return redis(address, {"DBSIZE"}) == std::to_string(keys)
         && redis(address, {"GET", "key-42"}) == "value-42";
}

// The volumes (under any agent) whose `starts` file (each start of a
// server appends its task name) names `task`.
std::vector<std::string> volumes_of(const std::string& dir,
                                    const std::string& task) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.path().filename() == "starts"
        && contains(e.path().string(), "/volumes/")
        && contains(read_file(e.path()), task))
      out.push_back(e.path().parent_path());
  return out;
}

int starts_in(const std::string& volume) {
  auto text = read_file(volume + "/starts");
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_CASE("redis: deploy, backup, crash recovery on the volume, replace, "
          "and restore into a fresh deployment") {
  REQUIRE_MESSAGE(::geteuid() == 0, "the Linux containerizer needs root");
  REQUIRE_MESSAGE(run_to_end({"sh", "-c", "command -v redis-server"}).status
                    == 0,
                  "redis-server is not installed (./dev.sh installs it)");
  scratch_dir dir;
  auto backups = dir / "backups";
  master_process master{{"--allocation_interval=100ms"}};
  agents cluster{master.address(), dir.path};

  auto first = std::make_unique<redis_service>("redis", master.address(),
                                               dir / "redis", backups);
  auto* svc = first.get();
  REQUIRE(eventually([&] { return svc->plan_complete("deploy"); }, 120s));
  auto primary = svc->addresses("redis");
  auto replicas = svc->addresses("replica");
  REQUIRE(primary.size() == 1);
  REQUIRE(replicas.size() == 2);
  CHECK(redis(primary[0], {"ROLE"}).rfind("master", 0) == 0);
  // The placement rules: the primary on a0, one replica on each of the
  // others.
  auto agent_of = [&](const std::string& address) {
    return cluster.of_port(static_cast<uint16_t>(
      std::stoi(address.substr(address.rfind(':') + 1))));
  };
  CHECK(agent_of(primary[0]) == 0);
  CHECK(agent_of(replicas[0]) != 0);
  CHECK(agent_of(replicas[1]) != 0);
  CHECK(agent_of(replicas[0]) != agent_of(replicas[1]));
  // Readiness: deploy completed only once each replica had synchronised,
  // and its pod's status says why.
  for (const auto& r : replicas)
    CHECK(info(r, "replication", "master_link_status") == "up");
  auto pod_info = curl({svc->url("/v1/pod/replica-1/info")});
  CHECK(pod_info.status == 200);
  CHECK(pod_info.body.find("\"checkStatus\"") != std::string::npos);
  CHECK(pod_info.body.find("\"exitCode\":0") != std::string::npos);

  // Writes on the primary reach both replicas.
  std::string script;
  for (int i = 0; i < keys; ++i)
    script += fmt::format("SET key-{} value-{}\n", i, i);
  write_file(dir / "writes", script);
  auto p = primary[0];
  auto wrote = run_to_end({"sh", "-c",
                           fmt::format("redis-cli -h {} -p {} < {}",
                                       p.substr(0, p.rfind(':')),
                                       p.substr(p.rfind(':') + 1),
                                       dir / "writes")});
  REQUIRE(wrote.status == 0);
  CHECK(has_every_key(primary[0]));
  for (const auto& r : replicas)
    CHECK(eventually([&] { return has_every_key(r); }, 30s));

  // Backup, named by a plan parameter.
  auto started = curl({"-X", "POST", "-H", "Content-Type: application/json",
                       "-d", R"({"BACKUP_NAME":"first"})",
                       svc->url("/v1/plans/backup/start")});
  CHECK(started.status == 200);
  REQUIRE(eventually([&] { return svc->plan_complete("backup"); }, 60s));
  CHECK(fs::file_size(backups + "/first/dump.rdb") > 0);

  // replica-0 snapshots its data, then its machine crashes. Recovery starts
  // it again on the same volume (its second start there): it loads every
  // key from its own dump and resumes replication where it was (a partial
  // resynchronisation) instead of copying the primary's whole data again.
  auto crashed = volumes_of(dir.path, "replica-0-server");
  REQUIRE(crashed.size() == 1);
  CHECK(starts_in(crashed[0]) == 1);
  CHECK(redis(replicas[0], {"SAVE"}) == "OK");
  auto full_syncs = info(primary[0], "stats", "sync_full");
  auto partial_syncs = info(primary[0], "stats", "sync_partial_ok");
  REQUIRE(!full_syncs.empty());
  REQUIRE(!partial_syncs.empty());
  auto one_more = std::to_string(std::stoi(partial_syncs) + 1);
  auto before = svc->task_id("replica-0", "replica-0-server");
  cluster.crash_and_restart(agent_of(replicas[0]));
  CHECK(eventually([&] {
    auto now = svc->task_id("replica-0", "replica-0-server");
    return !now.empty() && now != before
           && info(replicas[0], "persistence", "loading") == "0";
  }, 90s));
  CHECK(eventually([&] {
    return has_every_key(replicas[0])
           && info(replicas[0], "replication", "master_link_status") == "up";
  }, 30s));
  auto after = svc->addresses("replica");
  REQUIRE(after.size() == 2);
  CHECK(after[0] == replicas[0]); // its port, kept
  CHECK(volumes_of(dir.path, "replica-0-server") == crashed);
  CHECK(starts_in(crashed[0]) == 2);
  CHECK(info(replicas[0], "persistence", "rdb_last_load_keys_loaded")
        == std::to_string(keys));
  CHECK(eventually([&] {
    return info(primary[0], "stats", "sync_partial_ok") == one_more;
  }, 10s));
  CHECK(info(primary[0], "stats", "sync_full") == full_syncs);
  CHECK(eventually([&] {
    return curl({svc->url("/v1/health")}).status == 200;
  }, 30s));

  // pod replace: replica-1 starts afresh on a new volume (the old one is
  // destroyed) and resynchronises from the primary.
  auto old_volume = volumes_of(dir.path, "replica-1-server");
  REQUIRE(old_volume.size() == 1);
  auto replaced = curl({"-X", "POST", svc->url("/v1/pod/replica-1/replace")});
  CHECK(replaced.status == 200);
  CHECK(eventually([&] {
    auto now = volumes_of(dir.path, "replica-1-server");
    return now.size() == 1 && now != old_volume;
  }, 90s));
  auto new_volume = volumes_of(dir.path, "replica-1-server");
  REQUIRE(new_volume.size() == 1);
  CHECK(starts_in(new_volume[0]) == 1);
  std::string moved;
  CHECK(eventually([&] {
    auto now = svc->addresses("replica");
    moved = now.size() == 2 ? now[1] : "";
    return !moved.empty() && has_every_key(moved)
           && info(moved, "replication", "master_link_status") == "up";
  }, 60s));

  // A config change: the scheduler, restarted with a new REDIS_MAXMEMORY,
  // rolls it out by the update plan, each server restarted in place (it
  // saves on SIGTERM and loads its dump again): every key stays. While the
  // scheduler is away the primary stops (its data saved): recovery starts
  // it again at once, though `update` reaches it last, as the replicas'
  // readiness waits on it.
  first.reset();
  redis(primary[0], {"SHUTDOWN", "SAVE"});
  REQUIRE(eventually([&] { return redis(primary[0], {"PING"}) != "PONG"; }));
  first = std::make_unique<redis_service>("redis", master.address(),
                                          dir / "redis", backups, "128mb");
  svc = first.get();
  auto everyone = svc->addresses("redis");
  for (const auto& r : svc->addresses("replica"))
    everyone.push_back(r);
  REQUIRE(everyone.size() == 3);
  CHECK(eventually([&] {
    for (const auto& a : everyone)
      if (redis(a, {"CONFIG", "GET", "maxmemory"}) != "maxmemory\n134217728")
        return false;
    return svc->plan_complete("update");
  }, 120s));
  for (const auto& a : everyone)
    CHECK(eventually([&] { return has_every_key(a); }, 30s));

  // Restore into a fresh deployment: empty, then every key, on the
  // primary and (resynchronised) on both replicas.
  auto second = std::make_unique<redis_service>("redis2", master.address(),
                                                dir / "redis2", backups);
  REQUIRE(eventually([&] { return second->plan_complete("deploy"); }, 120s));
  auto fresh = second->addresses("redis");
  REQUIRE(fresh.size() == 1);
  CHECK(redis(fresh[0], {"DBSIZE"}) == "0");
  auto restore = curl({"-X", "POST", "-H", "Content-Type: application/json",
                       "-d", R"({"BACKUP_NAME":"first"})",
                       second->url("/v1/plans/restore/start")});
  CHECK(restore.status == 200);
  REQUIRE(eventually([&] { return second->plan_complete("restore"); }, 60s));
  CHECK(eventually([&] { return has_every_key(fresh[0]); }, 60s));
  for (const auto& r : second->addresses("replica"))
    CHECK(eventually([&] { return has_every_key(r); }, 60s));

  // A restore from a backup that does not exist fails its step (which
  // waits to be tried again), and its task says why.
  auto missing = curl({"-X", "POST", "-H", "Content-Type: application/json",
                       "-d", R"({"BACKUP_NAME":"nope"})",
                       second->url("/v1/plans/restore/start")});
  CHECK(missing.status == 200);
  CHECK(eventually([&] {
    auto plan = curl({second->url("/v1/plans/restore")});
    return plan.status == 202 && contains(plan.body, "DELAYED");
  }, 60s));
  bool said = false;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir.path, ec))
    if (e.path().filename() == "stderr"
        && contains(e.path().string(), "/primary-0-restore__")
        && contains(read_file(e.path()), "restore: no backup at " + backups
                                            + "/nope/dump.rdb"))
      said = true;
  CHECK(said);
  CHECK(has_every_key(fresh[0]));

  second.reset();
  first.reset();
}
