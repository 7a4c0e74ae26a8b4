#include "linux/cgroups.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dirs.hpp"
#include "files.hpp"

namespace fs = std::filesystem;

namespace dcos::isolation {

namespace {

constexpr const char* group_dir = "dcos";
constexpr uint64_t cfs_period_us = 100000; // Mesos' default

caf::error write_text(const std::string& path, const std::string& value) {
  std::ofstream out{path};
  out << value;
  out.flush();
  if (!out)
    return make_error(errc::io_error,
                      fmt::format("cannot write '{}' to '{}': {}", value,
                                  path, std::strerror(errno)));
  return {};
}

// "key value" lines (memory.stat, cpu.stat, memory.events, oom_control).
std::map<std::string, uint64_t> read_keyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::istringstream in{read_file_or_empty(path)};
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    out[key] = value;
  return out;
}

uint64_t read_number(const std::string& path) {
  auto text = read_file_or_empty(path);
  return text.empty() ? 0 : std::strtoull(text.c_str(), nullptr, 10);
}

std::vector<pid_t> read_pids(const std::string& procs) {
  std::vector<pid_t> out;
  std::istringstream in{read_file_or_empty(procs)};
  pid_t pid;
  while (in >> pid)
    out.push_back(pid);
  return out;
}

// The cgroups v1 controllers worth knowing about, as mount options name them.
const std::set<std::string> v1_names = {"cpu",  "cpuacct", "memory",
                                        "pids", "freezer", "cpuset",
                                        "blkio", "devices"};

} // namespace

caf::expected<cgroups> cgroups::detect(const std::vector<std::string>& wanted,
                                       const std::string& mounts) {
  cgroups cg;
  std::ifstream in{mounts};
  if (!in)
    return make_error(errc::not_found,
                      fmt::format("cannot read '{}'", mounts));
  std::string line;
  while (std::getline(in, line)) {
    // /proc/mounts: "SOURCE TARGET TYPE OPTIONS 0 0"
    auto f = split_list(line, ' ');
    if (f.size() < 4)
      continue;
    if (f[2] == "cgroup2") {
      cg.v2_root_ = f[1];
      auto listed = read_file_or_empty(f[1] + "/cgroup.controllers");
      listed.erase(std::remove(listed.begin(), listed.end(), '\n'),
                   listed.end());
      cg.v2_controllers_ = split_list(listed, ' ');
    } else if (f[2] == "cgroup") {
      for (const auto& opt : split_list(f[3], ','))
        if (v1_names.count(opt) > 0)
          cg.v1_roots_[opt] = f[1];
    }
  }
  std::vector<std::string> missing;
  auto add = [&](const std::string& c, bool required) {
    bool have = cg.v1_roots_.count(c) > 0
                || std::find(cg.v2_controllers_.begin(),
                             cg.v2_controllers_.end(), c)
                     != cg.v2_controllers_.end();
    if (have)
      cg.controllers_.push_back(c);
    else if (required)
      missing.push_back(c);
  };
  for (const auto& c : wanted)
    add(c, true);
  if (!missing.empty())
    return make_error(errc::not_found,
                      fmt::format("no cgroup hierarchy on this host has the "
                                  "controller(s) {}",
                                  fmt::join(missing, ", ")));
  // Usage accounting (v1 keeps it apart from cpu) and whole-tree kills.
  auto in_use = [&cg](const char* c) {
    return std::find(cg.controllers_.begin(), cg.controllers_.end(), c)
           != cg.controllers_.end();
  };
  if (in_use("cpu") && !in_use("cpuacct") && cg.v1_roots_.count("cpuacct"))
    cg.controllers_.push_back("cpuacct");
  if (!in_use("freezer") && cg.v1_roots_.count("freezer"))
    cg.controllers_.push_back("freezer");
  return cg;
}

bool cgroups::unified(const std::string& controller) const {
  return v1_roots_.count(controller) == 0;
}

std::string cgroups::path(const std::string& controller,
                          const std::string& container_id) const {
  auto root = unified(controller) ? v2_root_ : v1_roots_.at(controller);
  return fmt::format("{}/{}/{}", root, group_dir, container_id);
}

caf::error cgroups::create(const std::string& container_id,
                           const cgroup_limits& limits) {
  std::set<std::string> dirs;
  for (const auto& c : controllers_)
    dirs.insert(path(c, container_id));
  bool any_v2 = std::any_of(controllers_.begin(), controllers_.end(),
                            [this](const auto& c) { return unified(c); });
  if (any_v2) {
    // v2 hands a controller to children only when every ancestor enables it.
    std::string enable;
    for (const auto& c : controllers_)
      if (unified(c))
        enable += "+" + c + " ";
    if (auto err = make_directories(v2_root_ + "/" + group_dir))
      return err;
    for (auto dir : {v2_root_, v2_root_ + "/" + group_dir})
      if (auto err = write_text(dir + "/cgroup.subtree_control", enable))
        return err;
  }
  for (const auto& dir : dirs)
    if (auto err = make_directories(dir))
      return err;
  auto has = [this](const char* c) {
    return std::find(controllers_.begin(), controllers_.end(), c)
           != controllers_.end();
  };
  caf::error err;
  auto put = [&](const char* controller, const char* v1_file,
                 const char* v2_file, const std::string& value) {
    if (err)
      return;
    bool v2 = unified(controller);
    err = write_text(path(controller, container_id) + "/"
                       + (v2 ? v2_file : v1_file),
                     value);
  };
  if (limits.cpus && has("cpu")) {
    double cpus = std::max(*limits.cpus, 0.01);
    auto shares = static_cast<uint64_t>(std::llround(1024 * cpus));
    auto quota = static_cast<uint64_t>(std::llround(cfs_period_us * cpus));
    if (unified("cpu")) {
      // The kernel's own mapping of shares [2, 262144] onto weight [1, 10000].
      auto weight = 1 + ((std::max<uint64_t>(shares, 2) - 2) * 9999) / 262142;
      put("cpu", "", "cpu.weight", std::to_string(weight));
      put("cpu", "", "cpu.max",
          fmt::format("{} {}", std::max<uint64_t>(quota, 1000),
                      cfs_period_us));
    } else {
      put("cpu", "cpu.shares", "", std::to_string(shares));
      put("cpu", "cpu.cfs_period_us", "", std::to_string(cfs_period_us));
      put("cpu", "cpu.cfs_quota_us", "",
          std::to_string(std::max<uint64_t>(quota, 1000)));
    }
  }
  if (limits.mem_bytes && has("memory"))
    put("memory", "memory.limit_in_bytes", "memory.max",
        std::to_string(*limits.mem_bytes));
  if (limits.pids && has("pids"))
    put("pids", "pids.max", "pids.max", std::to_string(*limits.pids));
  if (err) {
    kill_all(container_id);
    remove(container_id);
  }
  return err;
}

caf::error cgroups::attach(const std::string& container_id, pid_t pid) {
  std::set<std::string> dirs;
  for (const auto& c : controllers_)
    dirs.insert(path(c, container_id));
  for (const auto& dir : dirs)
    if (auto err = write_text(dir + "/cgroup.procs", std::to_string(pid)))
      return err;
  return {};
}

caf::expected<container_usage>
cgroups::usage(const std::string& container_id) const {
  container_usage u;
  auto has = [this](const char* c) {
    return std::find(controllers_.begin(), controllers_.end(), c)
           != controllers_.end();
  };
  if (has("cpu")) {
    auto dir = path("cpu", container_id);
    auto stat = read_keyed(dir + "/cpu.stat");
    u.cpus_nr_periods = stat["nr_periods"];
    u.cpus_nr_throttled = stat["nr_throttled"];
    if (unified("cpu")) {
      u.cpus_user_time_secs = stat["user_usec"] / 1e6;
      u.cpus_system_time_secs = stat["system_usec"] / 1e6;
      u.cpus_throttled_time_secs = stat["throttled_usec"] / 1e6;
    } else {
      u.cpus_throttled_time_secs = stat["throttled_time"] / 1e9;
      if (has("cpuacct")) {
        // cpuacct.stat is in USER_HZ ticks.
        auto ticks = read_keyed(path("cpuacct", container_id)
                                + "/cpuacct.stat");
        double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
        u.cpus_user_time_secs = ticks["user"] / hz;
        u.cpus_system_time_secs = ticks["system"] / hz;
      }
    }
  }
  if (has("memory")) {
    auto dir = path("memory", container_id);
    auto stat = read_keyed(dir + "/memory.stat");
    if (unified("memory")) {
      u.mem_rss_bytes = stat["anon"];
      auto max = read_file_or_empty(dir + "/memory.max");
      u.mem_limit_bytes = max.rfind("max", 0) == 0
                            ? 0
                            : std::strtoull(max.c_str(), nullptr, 10);
    } else {
      u.mem_rss_bytes = stat.count("total_rss") ? stat["total_rss"]
                                                : stat["rss"];
      u.mem_limit_bytes = read_number(dir + "/memory.limit_in_bytes");
    }
  }
  if (!controllers_.empty()) {
    auto procs = path(controllers_.front(), container_id) + "/cgroup.procs";
    if (!fs::exists(procs))
      return make_error(errc::not_found,
                        fmt::format("no cgroup for container '{}'",
                                    container_id));
    u.processes = read_pids(procs).size();
  }
  return u;
}

bool cgroups::oom_killed(const std::string& container_id) const {
  if (std::find(controllers_.begin(), controllers_.end(), "memory")
      == controllers_.end())
    return false;
  auto dir = path("memory", container_id);
  auto counters = read_keyed(dir + (unified("memory") ? "/memory.events"
                                                      : "/memory.oom_control"));
  return counters["oom_kill"] > 0;
}

caf::error cgroups::kill_all(const std::string& container_id) {
  if (controllers_.empty())
    return {};
  auto procs_of = [&](const std::string& c) {
    return path(c, container_id) + "/cgroup.procs";
  };
  bool v2 = unified(controllers_.front());
  if (v2) {
    auto kill_file = path(controllers_.front(), container_id) + "/cgroup.kill";
    if (fs::exists(kill_file))
      return write_text(kill_file, "1");
  }
  bool freezer = v1_roots_.count("freezer") > 0
                 && std::find(controllers_.begin(), controllers_.end(),
                              "freezer")
                      != controllers_.end();
  auto state = freezer ? path("freezer", container_id) + "/freezer.state"
                       : std::string{};
  // Frozen processes cannot fork; SIGKILL reaches them once thawed. A
  // process that forked while the freeze spread is caught by the next call
  // (the caller repeats until remove() succeeds).
  if (freezer && fs::exists(state))
    write_text(state, "FROZEN");
  // Every hierarchy's list: a cgroup left behind by an agent with other
  // controllers may exist in some of them only.
  std::set<pid_t> pids;
  for (const auto& c : controllers_)
    for (pid_t pid : read_pids(procs_of(c)))
      pids.insert(pid);
  for (pid_t pid : pids)
    ::kill(pid, SIGKILL);
  if (freezer && fs::exists(state))
    write_text(state, "THAWED"); // SIGKILL is delivered once thawed
  return {};
}

caf::expected<bool> cgroups::remove(const std::string& container_id) {
  std::set<std::string> dirs;
  for (const auto& c : controllers_)
    dirs.insert(path(c, container_id));
  bool busy = false;
  for (const auto& dir : dirs) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT)
      continue;
    if (errno != EBUSY)
      return make_error(errc::io_error,
                        fmt::format("cannot remove cgroup '{}': {}", dir,
                                    std::strerror(errno)));
    busy = true; // processes are still dying
  }
  return !busy;
}

std::vector<std::string> cgroups::containers() const {
  std::set<std::string> ids;
  for (const auto& c : controllers_) {
    auto root = (unified(c) ? v2_root_ : v1_roots_.at(c)) + "/" + group_dir;
    std::error_code ec;
    for (fs::directory_iterator it{root, ec}, end; !ec && it != end;
         it.increment(ec))
      if (it->is_directory())
        ids.insert(it->path().filename().string());
  }
  return {ids.begin(), ids.end()};
}

} // namespace dcos::isolation
