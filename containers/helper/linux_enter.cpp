#include "linux_enter.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "confinement.hpp"
#include "isolation_spec.hpp"

extern char** environ;

namespace dcos::helper {

namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), {}};
}

// The mount points of the cgroup hierarchies here: "" for v2's unified one,
// else each v1 controller (or "name=X") to its hierarchy's directory.
std::map<std::string, std::string> cgroup_mounts() {
  std::map<std::string, std::string> out;
  std::istringstream in{slurp("/proc/self/mounts")};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string source, dir, type, options;
    fields >> source >> dir >> type >> options;
    if (type == "cgroup2") {
      out.emplace("", dir);
    } else if (type == "cgroup") {
      std::istringstream opts{options};
      std::string opt;
      while (std::getline(opts, opt, ','))
        out.emplace(opt, dir);
    }
  }
  return out;
}

// Moves this process into the cgroups that /proc/PID/cgroup lists for
// `pid`, unless it is in them already.
std::string join_cgroups(pid_t pid) {
  auto theirs = slurp("/proc/" + std::to_string(pid) + "/cgroup");
  if (theirs.empty())
    return "cannot read the cgroups of the container's process "
           + std::to_string(pid);
  if (theirs == slurp("/proc/self/cgroup"))
    return {};
  auto mounts = cgroup_mounts();
  std::istringstream in{theirs};
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-id:controller,controller:path
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = line.substr(second + 1);
    auto name = controllers.substr(0, controllers.find(','));
    auto mount = mounts.find(name);
    if (mount == mounts.end())
      continue; // a hierarchy not mounted here limits nothing we can join
    auto procs = mount->second + path + "/cgroup.procs";
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0\n", 2) != 2) {
      auto err = errno_text("cannot join the cgroup '" + procs + "'");
      if (fd >= 0)
        ::close(fd);
      return err;
    }
    ::close(fd);
  }
  return {};
}

// The container's namespace `kind` ("net", "mnt", ...), opened, if it is
// not ours: -1 when shared (or when this kernel lacks the kind).
int foreign_namespace(pid_t pid, const char* kind, std::string* error) {
  auto theirs = "/proc/" + std::to_string(pid) + "/ns/" + kind;
  auto ours = std::string{"/proc/self/ns/"} + kind;
  struct stat a{}, b{};
  if (::stat(ours.c_str(), &b) != 0)
    return -1;
  if (::stat(theirs.c_str(), &a) != 0) {
    *error = errno_text("cannot find the container's " + std::string{kind}
                        + " namespace");
    return -1;
  }
  if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    return -1;
  int fd = ::open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    *error = errno_text("cannot open '" + theirs + "'");
  return fd;
}

std::string env_value(char* const* envp, const std::string& key) {
  for (auto p = envp; *p != nullptr; ++p)
    if (std::strncmp(*p, key.c_str(), key.size()) == 0
        && (*p)[key.size()] == '=')
      return *p + key.size() + 1;
  return {};
}

struct plan {
  pid_t target = -1;
  isolation_spec spec;
  std::string bpf;
  int root_fd = -1; // the container's root, when its mounts are its own
  std::vector<int> namespaces; // ipc, uts, net, mnt: in setns order
  std::string workdir;
  bool tty = false; // stdin is a terminal for PROGRAM to control
};

// PROGRAM's last word when it could not start; the helper reads it.
[[noreturn]] void die(int report_fd, const std::string& message) {
  [[maybe_unused]] auto n = ::write(report_fd, message.data(), message.size());
  ::_exit(127);
}

// PROGRAM's side of the fork: never returns.
[[noreturn]] void run_program(const plan& p, int report_fd,
                              const std::string& file,
                              const std::vector<std::string>& argv,
                              char* const* envp) {
  // A group of its own: what it leaves running is adopted by the
  // container's init, where only the group still finds it (linux_enter.hpp).
  // With a terminal, a session of its own (whose id is its group's), so
  // that the terminal can be its controlling one: a shell's job control
  // and ^C then work as at a login.
  if (p.tty) {
    if (::setsid() < 0 || ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0)
      die(report_fd, errno_text("cannot take the terminal"));
  } else {
    ::setpgid(0, 0);
  }
  if (auto err = join_cgroups(p.target); !err.empty())
    die(report_fd, err);
  for (int fd : p.namespaces)
    if (::setns(fd, 0) != 0)
      die(report_fd, errno_text("cannot join a namespace of the container"));
  if (p.root_fd >= 0 && (::fchdir(p.root_fd) != 0 || ::chroot(".") != 0))
    die(report_fd, errno_text("cannot enter the container's root"));
  if (::chdir(p.workdir.c_str()) != 0 && ::chdir("/") != 0)
    die(report_fd, errno_text("cannot change into '" + p.workdir + "'"));
  if (auto err = apply_limits(p.spec); !err.empty())
    die(report_fd, err);
  reset_signals();
  if (auto err = confine(p.bpf); !err.empty())
    die(report_fd, err);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  environ = const_cast<char**>(envp);
  ::execvp(file.c_str(), args.data());
  die(report_fd, errno_text("cannot run '" + file + "'"));
}

std::string make_plan(const std::string& dir, char* const* envp, plan* p) {
  if (::access((dir + "/status").c_str(), F_OK) == 0)
    return "the container has ended";
  auto pid_text = slurp(dir + "/pid");
  char* end = nullptr;
  long pid = std::strtol(pid_text.c_str(), &end, 10);
  if (pid_text.empty() || pid <= 0 || (*end != '\n' && *end != '\0'))
    return "'" + dir + "/pid' does not name the container's process";
  p->target = static_cast<pid_t>(pid);
  auto spec_file = dir + "/isolation";
  if (::access(spec_file.c_str(), F_OK) == 0) {
    std::string error;
    if (!read_isolation_spec(spec_file, &p->spec, &error))
      return error;
    if (auto err = read_seccomp_filter(p->spec, &p->bpf); !err.empty())
      return err;
  }
  std::string error;
  for (const char* kind : {"ipc", "uts", "net", "mnt"}) {
    int fd = foreign_namespace(p->target, kind, &error);
    if (!error.empty())
      return error;
    if (fd >= 0)
      p->namespaces.push_back(fd);
    if (fd >= 0 && std::strcmp(kind, "mnt") == 0) {
      auto root = "/proc/" + std::to_string(p->target) + "/root";
      p->root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (p->root_fd < 0)
        return errno_text("cannot open '" + root + "'");
    }
  }
  // The sandbox first: a session is there to look at the task's files.
  p->workdir = env_value(envp, "MESOS_SANDBOX");
  if (p->workdir.empty())
    p->workdir = p->spec.workdir.empty() ? "/" : p->spec.workdir;
  return {};
}

void close_all(const plan& p) {
  for (int fd : p.namespaces)
    ::close(fd);
  if (p.root_fd >= 0)
    ::close(p.root_fd);
}

} // namespace

pid_t enter_container(const std::string& target_dir, const std::string& file,
                      const std::vector<std::string>& argv, char* const* envp,
                      bool tty, std::string* error) {
  plan p;
  p.tty = tty;
  *error = make_plan(target_dir, envp, &p);
  if (!error->empty()) {
    close_all(p);
    return -1;
  }
  // Only children enter a pid namespace: this makes PROGRAM one.
  std::string pid_error;
  int pid_ns = foreign_namespace(p.target, "pid", &pid_error);
  if (!pid_error.empty() || (pid_ns >= 0 && ::setns(pid_ns, CLONE_NEWPID) != 0)) {
    *error = pid_error.empty()
               ? errno_text("cannot join the container's pid namespace")
               : pid_error;
    if (pid_ns >= 0)
      ::close(pid_ns);
    close_all(p);
    return -1;
  }
  if (pid_ns >= 0)
    ::close(pid_ns);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *error = errno_text("pipe");
    close_all(p);
    return -1;
  }
  pid_t child = ::fork();
  if (child == 0) {
    ::close(report[0]);
    run_program(p, report[1], file, argv, envp);
  }
  int fork_errno = errno;
  ::close(report[1]);
  close_all(p);
  if (child < 0) {
    ::close(report[0]);
    errno = fork_errno;
    *error = errno_text("fork");
    return -1;
  }
  // EOF at exec; else the reason PROGRAM did not start.
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    message.append(buf, static_cast<size_t>(n));
  }
  ::close(report[0]);
  if (!message.empty()) {
    ::waitpid(child, nullptr, 0);
    *error = message;
    return -1;
  }
  return child;
}

} // namespace dcos::helper
