#include "support/leftovers.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace dcos::test {

namespace {

std::atomic<const char*> running_case{nullptr};
std::mutex scratch_mutex;
std::set<std::string> scratch_dirs; // guarded by scratch_mutex

// Every process now alive: pid -> parent pid.
std::map<pid_t, pid_t> process_parents() {
  std::map<pid_t, pid_t> parents;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return parents;
  while (auto* entry = ::readdir(proc)) {
    char* end = nullptr;
    auto pid = static_cast<pid_t>(std::strtol(entry->d_name, &end, 10));
    if (pid <= 0 || *end != '\0')
      continue;
    std::ifstream in{std::string{"/proc/"} + entry->d_name + "/stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, {}};
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{stat.substr(close + 1)};
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid && state != 'Z') // a zombie is dead already
      parents[pid] = ppid;
  }
  ::closedir(proc);
  return parents;
}

bool lies_in(pid_t pid, const std::set<std::string>& dirs) {
  auto base = "/proc/" + std::to_string(pid);
  std::error_code ec;
  auto cwd = std::filesystem::read_symlink(base + "/cwd", ec).string();
  std::ifstream in{base + "/cmdline"};
  std::string cmdline{std::istreambuf_iterator<char>{in}, {}};
  for (const auto& dir : dirs)
    if (cwd.rfind(dir, 0) == 0 || cmdline.find(dir) != std::string::npos)
      return true;
  return false;
}

// Kills what this process left running; returns what it found (a process
// killed before may still be dying).
std::set<pid_t> kill_leftovers(const std::set<std::string>& dirs) {
  auto parents = process_parents();
  std::set<pid_t> doomed;
  auto me = ::getpid();
  // Descendants: repeat until no process joins (parents may come later in
  // the map than their children).
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parents)
      if ((ppid == me || doomed.count(ppid) > 0) && doomed.insert(pid).second)
        grew = true;
  }
  if (!dirs.empty())
    for (const auto& [pid, ppid] : parents)
      if (pid != me && doomed.count(pid) == 0 && lies_in(pid, dirs))
        doomed.insert(pid);
  for (auto pid : doomed)
    ::kill(pid, SIGKILL);
  return doomed;
}

void wait_and_clean_up(sigset_t signals) {
  int signal = 0;
  while (::sigwait(&signals, &signal) != 0) {
  }
  std::set<std::string> dirs;
  {
    std::lock_guard<std::mutex> guard{scratch_mutex};
    dirs = scratch_dirs;
  }
  auto name = running_case.load();
  // Meson sends SIGKILL half a second after SIGTERM: kill first. Passes
  // repeat until one finds no process it had not killed yet (one forked
  // while the last pass ran, an agent launching an executor, was not there
  // to be found), a few at most.
  std::set<pid_t> killed;
  for (int pass = 0; pass < 5; ++pass) {
    auto found = kill_leftovers(dirs);
    auto before = killed.size();
    killed.insert(found.begin(), found.end());
    if (killed.size() == before)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr,
               "\n%s during test case \"%s\": killed %zu processes it "
               "started; removing %zu scratch directories\n",
               strsignal(signal), name != nullptr ? name : "(none)",
               killed.size(), dirs.size());
  std::fflush(stderr);
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  ::_exit(128 + signal);
}

} // namespace

void end_leftovers_on_termination() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread{wait_and_clean_up, signals}.detach();
}

void note_running_case(const char* name) {
  running_case.store(name);
}

void note_scratch_dir(const std::string& path) {
  std::lock_guard<std::mutex> guard{scratch_mutex};
  scratch_dirs.insert(path);
}

void forget_scratch_dir(const std::string& path) {
  std::lock_guard<std::mutex> guard{scratch_mutex};
  scratch_dirs.erase(path);
}

} // namespace dcos::test
