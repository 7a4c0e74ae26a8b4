#include "process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

namespace dcos::helper {

namespace {

// Reads a small /proc file whole; "" if it cannot be read (the process may
// have ended meanwhile, which is not an error for a walk).
std::string read_small_file(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// The numeric names in directory `path`.
std::vector<pid_t> numeric_entries(const std::string& path) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr)
    return out;
  while (auto* entry = ::readdir(dir)) {
    char* end = nullptr;
    long value = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && value > 0)
      out.push_back(static_cast<pid_t>(value));
  }
  ::closedir(dir);
  return out;
}

bool have_children_files() {
  static const bool have = [] {
    auto self = std::to_string(::getpid());
    return ::access(("/proc/" + self + "/task/" + self + "/children").c_str(),
                    R_OK)
           == 0;
  }();
  return have;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  auto base = "/proc/" + std::to_string(pid) + "/task/";
  for (pid_t tid : numeric_entries(base)) {
    auto text = read_small_file(base + std::to_string(tid) + "/children");
    const char* p = text.c_str();
    while (true) {
      char* end = nullptr;
      long child = std::strtol(p, &end, 10);
      if (end == p)
        break;
      out.push_back(static_cast<pid_t>(child));
      p = end;
    }
  }
  return out;
}

// (parent, child) for every process, from /proc/<pid>/stat.
std::vector<std::pair<pid_t, pid_t>> all_parent_links() {
  std::vector<std::pair<pid_t, pid_t>> links;
  for (pid_t pid : numeric_entries("/proc")) {
    auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
    // the fields are counted from the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size())
      continue;
    pid_t ppid = static_cast<pid_t>(std::strtol(stat.c_str() + close + 4,
                                                nullptr, 10));
    links.emplace_back(ppid, pid);
  }
  std::sort(links.begin(), links.end());
  return links;
}

} // namespace

std::vector<pid_t> descendants() {
  std::vector<pid_t> out;
  pid_t self = ::getpid();
  if (have_children_files()) {
    out = children_of(self);
    for (size_t i = 0; i < out.size(); ++i) {
      auto more = children_of(out[i]);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }
  auto links = all_parent_links();
  auto append_children = [&](pid_t parent) {
    auto it = std::lower_bound(links.begin(), links.end(),
                               std::pair<pid_t, pid_t>{parent, 0});
    for (; it != links.end() && it->first == parent; ++it)
      out.push_back(it->second);
  };
  append_children(self);
  for (size_t i = 0; i < out.size(); ++i)
    append_children(out[i]);
  return out;
}

void terminate_descendants(pid_t pgid) {
  ::kill(-pgid, SIGTERM);
  for (pid_t pid : descendants())
    if (::getpgid(pid) != pgid)
      ::kill(pid, SIGTERM);
}

size_t kill_descendants() {
  std::vector<pid_t> stopped;
  // A stopped process cannot fork, so a few rounds of "stop what is new"
  // reach a tree that no longer grows, even one that forks in a loop.
  for (int round = 0; round < 8; ++round) {
    bool added = false;
    for (pid_t pid : descendants()) {
      if (std::find(stopped.begin(), stopped.end(), pid) != stopped.end())
        continue;
      ::kill(pid, SIGSTOP);
      stopped.push_back(pid);
      added = true;
    }
    if (!added)
      break;
  }
  for (pid_t pid : stopped)
    ::kill(pid, SIGKILL);
  return stopped.size();
}

void kill_session(pid_t sid) {
  // A member may fork while a round runs: the next round finds its child.
  // One killed already may linger as a zombie until its new parent reaps
  // it: it counts no more.
  for (int round = 0; round < 8; ++round) {
    bool found = false;
    for (pid_t pid : numeric_entries("/proc")) {
      if (pid == sid || ::getsid(pid) != sid)
        continue;
      auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
      auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size()
          && stat[close + 2] == 'Z')
        continue;
      ::kill(pid, SIGKILL);
      found = true;
    }
    if (!found)
      break;
  }
}

} // namespace dcos::helper
