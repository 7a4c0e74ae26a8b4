// cgroups v1 and v2 as files: the hierarchy is a temporary directory named
// in a fake mount table, so both layouts are checked on any host (the
// integration tests use the real one this host has).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "linux/cgroups.hpp"

using namespace dcos;
using namespace dcos::isolation;
namespace fs = std::filesystem;

namespace {

struct fake_host {
  std::string root;

  fake_host() {
    char tmpl[] = "/tmp/dcos-cgroups-XXXXXX";
    root = ::mkdtemp(tmpl);
  }
  ~fake_host() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void write(const std::string& path, const std::string& text) const {
    fs::create_directories(fs::path(root + "/" + path).parent_path());
    std::ofstream{root + "/" + path} << text;
  }

  std::string read(const std::string& path) const {
    std::ifstream in{root + "/" + path};
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string mounts(const std::string& lines) const {
    write("mounts", lines);
    return root + "/mounts";
  }
};

} // namespace

TEST_CASE("cgroups v2: limits, usage and the OOM counter in v2's files") {
  fake_host h;
  h.write("unified/cgroup.controllers", "cpu memory pids\n");
  auto mounts = h.mounts("cgroup2 " + h.root
                         + "/unified cgroup2 rw,nosuid 0 0\n");
  auto cg = cgroups::detect({"cpu", "memory", "pids"}, mounts);
  REQUIRE_MESSAGE(cg, describe(cg.error()));
  CHECK(cg->unified("memory"));
  cgroup_limits limits;
  limits.cpus = 0.5;
  limits.mem_bytes = 64ull << 20;
  limits.pids = 100;
  REQUIRE_FALSE(cg->create("c1", limits));
  CHECK(h.read("unified/cgroup.subtree_control") == "+cpu +memory +pids ");
  CHECK(h.read("unified/dcos/cgroup.subtree_control")
        == "+cpu +memory +pids ");
  CHECK(h.read("unified/dcos/c1/cpu.weight") == "20");
  CHECK(h.read("unified/dcos/c1/cpu.max") == "50000 100000");
  CHECK(h.read("unified/dcos/c1/memory.max") == "67108864");
  CHECK(h.read("unified/dcos/c1/pids.max") == "100");
  // (Pids that nothing here signals: v2 kills through cgroup.kill.)
  h.write("unified/dcos/c1/cgroup.procs", "41\n42\n");
  h.write("unified/dcos/c1/cpu.stat",
          "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"
          "nr_periods 10\nnr_throttled 4\nthrottled_usec 500000\n");
  h.write("unified/dcos/c1/memory.stat", "anon 1048576\nfile 4096\n");
  h.write("unified/dcos/c1/memory.current", "2097152\n");
  auto u = cg->usage("c1");
  REQUIRE(u);
  CHECK(u->cpus_user_time_secs == doctest::Approx(2.0));
  CHECK(u->cpus_system_time_secs == doctest::Approx(1.0));
  CHECK(u->cpus_nr_throttled == 4);
  CHECK(u->cpus_throttled_time_secs == doctest::Approx(0.5));
  CHECK(u->mem_rss_bytes == 1048576);
  CHECK(u->mem_limit_bytes == 64ull << 20);
  CHECK(u->processes == 2);
  CHECK_FALSE(cg->oom_killed("c1"));
  h.write("unified/dcos/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\n"
                                           "oom_kill 1\n");
  CHECK(cg->oom_killed("c1"));
  // v2 kills a whole cgroup with one write.
  h.write("unified/dcos/c1/cgroup.kill", "");
  CHECK_FALSE(cg->kill_all("c1"));
  CHECK(h.read("unified/dcos/c1/cgroup.kill") == "1");
  CHECK(cg->containers() == std::vector<std::string>{"c1"});
}

TEST_CASE("cgroups v1: one hierarchy per controller, co-mounted ones too") {
  fake_host h;
  auto mounts = h.mounts(
    "cgroup " + h.root + "/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
    "cgroup " + h.root + "/memory cgroup rw,memory 0 0\n"
    "cgroup " + h.root + "/freezer cgroup rw,freezer 0 0\n");
  auto missing = cgroups::detect({"cpu", "memory", "pids"}, mounts);
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()).find("pids") != std::string::npos);
  auto cg = cgroups::detect({"cpu", "memory"}, mounts);
  REQUIRE(cg);
  CHECK_FALSE(cg->unified("cpu"));
  // cpuacct (usage) and freezer (kills) come along.
  auto c = cg->controllers();
  CHECK(std::find(c.begin(), c.end(), "cpuacct") != c.end());
  CHECK(std::find(c.begin(), c.end(), "freezer") != c.end());
  cgroup_limits limits;
  limits.cpus = 2;
  limits.mem_bytes = 128ull << 20;
  REQUIRE_FALSE(cg->create("c2", limits));
  CHECK(h.read("cpu,cpuacct/dcos/c2/cpu.shares") == "2048");
  CHECK(h.read("cpu,cpuacct/dcos/c2/cpu.cfs_quota_us") == "200000");
  CHECK(h.read("memory/dcos/c2/memory.limit_in_bytes") == "134217728");
  h.write("memory/dcos/c2/memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  CHECK(cg->oom_killed("c2"));
  h.write("memory/dcos/c2/memory.stat", "rss 4096\ntotal_rss 8192\n");
  // A real process of ours stands in for the container's.
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  REQUIRE(child > 0);
  h.write("cpu,cpuacct/dcos/c2/cgroup.procs", std::to_string(child) + "\n");
  auto u = cg->usage("c2");
  REQUIRE(u);
  CHECK(u->mem_rss_bytes == 8192); // with its descendants' cgroups
  CHECK(u->processes == 1);
  // The freezer is frozen around the kill and thawed after it (the state
  // starts as neither, so only kill_all can have written THAWED); the
  // process listed in any hierarchy is killed.
  h.write("freezer/dcos/c2/freezer.state", "untouched\n");
  h.write("freezer/dcos/c2/cgroup.procs", "");
  CHECK_FALSE(cg->kill_all("c2"));
  CHECK(h.read("freezer/dcos/c2/freezer.state") == "THAWED");
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

// What the integration tests ask to find a container's cgroup on any host.
TEST_CASE("path() names the container's cgroup in its controller's "
          "hierarchy, v1 and v2 side by side") {
  fake_host h;
  h.write("unified/cgroup.controllers", "pids\n");
  auto mounts = h.mounts("cgroup " + h.root + "/memory cgroup rw,memory 0 0\n"
                         "cgroup2 " + h.root + "/unified cgroup2 rw 0 0\n");
  auto cg = cgroups::detect({"memory", "pids"}, mounts);
  REQUIRE_MESSAGE(cg, describe(cg.error()));
  CHECK(cg->path("memory", "c3") == h.root + "/memory/dcos/c3");
  CHECK(cg->path("pids", "c3") == h.root + "/unified/dcos/c3");
  REQUIRE_FALSE(cg->create("c3", {}));
  CHECK(fs::is_directory(cg->path("memory", "c3")));
  CHECK(fs::is_directory(cg->path("pids", "c3")));
}
