#include "linux_launch.hpp"

#include "confinement.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

extern char** environ;

namespace dcos::helper {

namespace {

// Where the sandbox appears inside a container with its own root, as in
// Mesos (MESOS_SANDBOX points there).
constexpr const char* sandbox_in_container = "/mnt/mesos/sandbox";

struct init_context {
  const isolation_spec* spec;
  const std::string* file; // exec'd with argv
  const std::vector<std::string>* argv;
  char* const* envp;
  int release_read;
  int report_write;
  int status_write;
};

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool write_all(int fd, const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The init's last word when setting up failed; the helper reads it.
[[noreturn]] void die(int report_fd, const std::string& message) {
  write_all(report_fd, message.data(), message.size());
  ::_exit(127);
}

bool make_dirs(const std::string& path) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/')
      continue;
    auto prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return false;
  }
  return true;
}

// A bind mount target must be of the same kind as its source.
bool make_target(const std::string& source, const std::string& target) {
  struct stat st{};
  if (::stat(source.c_str(), &st) != 0)
    return false;
  if (S_ISDIR(st.st_mode))
    return make_dirs(target);
  auto slash = target.rfind('/');
  if (slash != std::string::npos && slash > 0
      && !make_dirs(target.substr(0, slash)))
    return false;
  int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno == EISDIR;
  ::close(fd);
  return true;
}

std::string mount_bind(const std::string& source, const std::string& target,
                 bool read_only) {
  if (!make_target(source, target))
    return errno_text("cannot create mount point '" + target + "' for '"
                      + source + "'");
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC,
              nullptr)
      != 0)
    return errno_text("bind mount of '" + source + "'");
  if (read_only
      && ::mount(nullptr, target.c_str(), nullptr,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr)
           != 0)
    return errno_text("read-only remount of '" + target + "'");
  return {};
}

// A minimal /dev: the devices every program expects, bound from the host
// (mknod would need more privilege than a user namespace grants, and the
// host's nodes are the real ones).
std::string populate_dev(const std::string& root) {
  auto dev = root + "/dev";
  if (!make_dirs(dev)
      || ::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k")
           != 0)
    return errno_text("cannot mount /dev");
  for (const char* name : {"null", "zero", "full", "random", "urandom",
                           "tty"}) {
    auto err = mount_bind(std::string{"/dev/"} + name, dev + "/" + name, false);
    if (!err.empty())
      return err;
  }
  auto shm = dev + "/shm";
  if (!make_dirs(shm)
      || ::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=1777,size=65536k")
           != 0)
    return errno_text("cannot mount /dev/shm");
  const char* links[][2] = {{"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (auto& link : links)
    if (::symlink(link[0], (dev + "/" + link[1]).c_str()) != 0)
      return errno_text("cannot link /dev/" + std::string{link[1]});
  return {};
}

std::string mount_proc(const std::string& root) {
  auto proc = root + "/proc";
  if (!make_dirs(proc)
      || ::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 nullptr)
           != 0)
    return errno_text("cannot mount /proc");
  return {};
}

// A mount point inside the container's root, made one component at a time:
// each must resolve, symlinks followed, to a place below the root, because
// the mounts are made before pivot_root and a symlink (from the image, or
// from a fetched archive in the sandbox) could otherwise lead them, and the
// directories made for them, onto the host. (An absolute symlink is
// resolved against the host's root here, so it passes only if it happens to
// lead into the container's root: safe, if stricter than a runtime that
// resolves it inside.)
std::string mount_inside(const std::string& root, const std::string& source,
                         const std::string& target, bool read_only) {
  char buf[PATH_MAX];
  if (::realpath(root.c_str(), buf) == nullptr)
    return errno_text("cannot resolve the root '" + root + "'");
  const std::string real_root = buf;
  struct stat st{};
  if (::stat(source.c_str(), &st) != 0)
    return errno_text("cannot mount '" + source + "'");
  std::string at = real_root;
  size_t begin = 0;
  while (begin < target.size()) {
    auto end = target.find('/', begin);
    if (end == std::string::npos)
      end = target.size();
    auto part = target.substr(begin, end - begin);
    begin = end + 1;
    if (part.empty() || part == ".")
      continue;
    bool last = begin >= target.size();
    auto next = at + "/" + part;
    struct stat existing{};
    if (::lstat(next.c_str(), &existing) != 0) {
      bool file = last && !S_ISDIR(st.st_mode);
      int fd = file ? ::open(next.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC,
                             0644)
                    : ::mkdir(next.c_str(), 0755);
      if (fd < 0)
        return errno_text("cannot create mount point '" + target + "'");
      if (file)
        ::close(fd);
    }
    if (::realpath(next.c_str(), buf) == nullptr)
      return errno_text("cannot resolve '" + target + "'");
    at = buf;
    if (at.rfind(real_root + "/", 0) != 0)
      return "mount point '" + target + "' leads outside the container";
  }
  return mount_bind(source, at, read_only);
}

// Builds the container's root at spec.rootfs and makes it "/".
std::string enter_rootfs(const isolation_spec& spec,
                         const std::string& sandbox) {
  const auto& root = spec.rootfs;
  if (!spec.overlay_lower.empty()) {
    auto options = "lowerdir=" + spec.overlay_lower + ",upperdir="
                   + spec.overlay_upper + ",workdir=" + spec.overlay_work;
    if (::mount("overlay", root.c_str(), "overlay", 0, options.c_str()) != 0)
      return errno_text("cannot mount the image's overlay at '" + root + "'");
  } else if (::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC,
                     nullptr)
             != 0) {
    return errno_text("cannot bind the root filesystem '" + root + "'");
  }
  std::string err = mount_proc(root);
  if (err.empty())
    err = populate_dev(root);
  if (err.empty()) {
    auto sys = root + "/sys";
    if (!make_dirs(sys)
        || ::mount("sysfs", sys.c_str(), "sysfs",
                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)
             != 0)
      err = errno_text("cannot mount /sys");
  }
  if (err.empty())
    err = mount_inside(root, sandbox, sandbox_in_container, false);
  for (const auto& b : spec.binds)
    if (err.empty())
      err = mount_inside(root, b.source, b.target, b.read_only);
  if (!err.empty())
    return err;
  // pivot_root(".", ".") stacks the old root on top of the new one, so it
  // can be detached without a directory to put it in (as runc does).
  if (::chdir(root.c_str()) != 0)
    return errno_text("cannot enter '" + root + "'");
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return errno_text("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0)
    return errno_text("cannot detach the host's root");
  if (::chdir("/") != 0)
    return errno_text("chdir /");
  return {};
}

std::string setup_mounts(const isolation_spec& spec) {
  if ((spec.clone_flags & CLONE_NEWNS) == 0) // cgroups only: the host's view
    return {};
  char cwd[4096];
  std::string sandbox = ::getcwd(cwd, sizeof(cwd)) ? cwd : "";
  // Nothing we mount may leak back to the host, nor the host's later mounts
  // be forced on us half-way.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return errno_text("cannot make the mount namespace private");
  if (!spec.rootfs.empty()) {
    auto err = enter_rootfs(spec, sandbox);
    if (!err.empty())
      return err;
    auto workdir = spec.workdir.empty() ? sandbox_in_container : spec.workdir;
    if (::chdir(workdir.c_str()) != 0)
      return errno_text("cannot enter the working directory '" + workdir
                        + "'");
    return {};
  }
  for (const auto& b : spec.binds) {
    auto err = mount_bind(b.source, b.target, b.read_only);
    if (!err.empty())
      return err;
  }
  if ((spec.clone_flags & CLONE_NEWPID) != 0) {
    // The host's /proc shows the host's processes; ours shows only ours.
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr)
        != 0)
      return errno_text("cannot mount /proc");
  }
  if (!spec.workdir.empty() && ::chdir(spec.workdir.c_str()) != 0)
    return errno_text("cannot enter the working directory '" + spec.workdir
                      + "'");
  return {};
}

[[noreturn]] void exec_program(const init_context& c, const std::string& bpf) {
  reset_signals();
  auto err = confine(bpf);
  if (!err.empty())
    die(c.report_write, err);
  std::vector<char*> args;
  for (const auto& a : *c.argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  environ = const_cast<char**>(c.envp);
  ::execvp(c.file->c_str(), args.data());
  die(c.report_write, errno_text("cannot run '" + *c.file + "'"));
}

// pid 1 of the container.
int init_main(void* arg) {
  const auto& c = *static_cast<init_context*>(arg);
  const auto& spec = *c.spec;
  char go = 0;
  ssize_t n;
  while ((n = ::read(c.release_read, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1)
    ::_exit(127); // the helper gave up on us
  ::close(c.release_read);
  ::setsid(); // `kill 0` inside must not reach the helper's group
  // The filter lives on the host: read it before the root changes.
  std::string bpf;
  auto err = read_seccomp_filter(spec, &bpf);
  if (err.empty())
    err = setup_mounts(spec);
  if (err.empty() && !spec.hostname.empty()
      && ::sethostname(spec.hostname.c_str(), spec.hostname.size()) != 0)
    err = errno_text("cannot set the hostname");
  if (err.empty())
    err = apply_limits(spec);
  if (!err.empty())
    die(c.report_write, err);
  pid_t program = ::fork();
  if (program < 0)
    die(c.report_write, errno_text("fork"));
  if (program == 0)
    exec_program(c, bpf);
  ::close(c.report_write); // PROGRAM's copy closes on exec
  // Reap everything; PROGRAM's end is the container's end.
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid == program || pid < 0) {
      write_all(c.status_write, &status, sizeof(status));
      ::_exit(0);
    }
  }
}

bool read_line(int fd, std::string* line) {
  line->clear();
  char ch;
  while (line->size() < 256) {
    auto n = ::read(fd, &ch, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n != 1)
      return false;
    if (ch == '\n')
      return true;
    *line += ch;
  }
  return false;
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

} // namespace

bool clone_init(const isolation_spec& spec, int sync_fd,
                const std::string& file, const std::vector<std::string>& argv,
                char* const* envp,
                isolated_child* out, std::string* error) {
  int release[2], report[2], status[2];
  if (::pipe2(release, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0
      || ::pipe2(status, O_CLOEXEC) != 0) {
    *error = errno_text("pipe");
    return false;
  }
  init_context ctx{&spec,      &file,     &argv, envp,
                   release[0], report[1], status[1]};
  // The init runs on a copy of our memory (no CLONE_VM), like a fork; it
  // needs a stack of its own only until it execs or forks PROGRAM.
  constexpr size_t stack_size = 1 << 20;
  auto stack = std::make_unique<char[]>(stack_size);
  pid_t pid = ::clone(init_main, stack.get() + stack_size,
                      spec.clone_flags | SIGCHLD, &ctx);
  int clone_error = errno;
  ::close(release[0]);
  ::close(report[1]);
  ::close(status[1]);
  out->release_fd = release[1];
  out->report_fd = report[0];
  out->status_fd = status[0];
  if (pid < 0) {
    errno = clone_error;
    *error = errno_text("clone");
    return false;
  }
  out->init = pid;
  if (sync_fd < 0)
    return true;
  auto hello = "pid " + std::to_string(pid) + "\n";
  std::string answer;
  if (!write_all(sync_fd, hello.data(), hello.size())
      || !read_line(sync_fd, &answer) || answer != "go") {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    *error = answer.empty() ? "the agent did not isolate the container"
                            : "the agent refused the container: " + answer;
    return false;
  }
  return true;
}

bool release_init(isolated_child& child, std::string* error) {
  char go = 1;
  bool sent = write_all(child.release_fd, &go, 1);
  close_fd(child.release_fd);
  std::string message;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(child.report_fd, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    message.append(buf, static_cast<size_t>(n));
  }
  close_fd(child.report_fd);
  if (!sent && message.empty())
    message = "the container's init died before it started";
  if (message.empty())
    return true;
  *error = message;
  return false;
}

int program_status(const isolated_child& child, int init_status) {
  int status = 0;
  ssize_t n;
  while ((n = ::read(child.status_fd, &status, sizeof(status))) < 0
         && errno == EINTR) {
  }
  return n == static_cast<ssize_t>(sizeof(status)) ? status : init_status;
}

} // namespace dcos::helper
