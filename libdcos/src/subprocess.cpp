#include "dcos/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "dcos/error.hpp"

extern char** environ;

namespace dcos {

namespace {

caf::error os_error(std::string_view what, int code) {
  return make_error(errc::io_error,
                    fmt::format("{}: {}", what, std::strerror(code)));
}

} // namespace

int decode_wait_status(int status) noexcept {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

caf::expected<subprocess> subprocess::spawn(const subprocess_options& opts) {
  if (opts.argv.empty())
    return make_error(errc::invalid_argument, "subprocess: argv is empty");
  // Environment: the parent's, overridden by opts.env.
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    env[entry.substr(0, eq)] = entry;
  }
  for (const auto& entry : opts.env)
    env[entry.substr(0, entry.find('='))] = entry;
  std::vector<char*> envp;
  for (auto& kv : env)
    envp.push_back(kv.second.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& arg : opts.argv)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0); // own process group
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP
                                    | POSIX_SPAWN_SETSIGDEF
                                    | POSIX_SPAWN_SETSIGMASK);
  int pipe_fds[2] = {-1, -1};
  if (opts.capture_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
      return os_error("subprocess: pipe", errno);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  } else if (!opts.stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                     opts.stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!opts.stderr_path.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                     opts.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (opts.close_stdin)
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
  if (!opts.working_dir.empty())
    posix_spawn_file_actions_addchdir_np(&actions, opts.working_dir.c_str());
  // Nothing but stdin, stdout and stderr is inherited (after the dup2s
  // above, which the file actions run first).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(),
                          envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (pipe_fds[1] >= 0)
    ::close(pipe_fds[1]);
  if (rc != 0) {
    if (pipe_fds[0] >= 0)
      ::close(pipe_fds[0]);
    return os_error(fmt::format("subprocess: cannot run '{}'", opts.argv[0]),
                    rc);
  }
  subprocess result;
  result.pid_ = pid;
  result.stdout_fd_ = pipe_fds[0];
  return result;
}

subprocess::subprocess(subprocess&& other) noexcept
  : pid_(other.pid_),
    stdout_fd_(other.stdout_fd_),
    status_(other.status_),
    pending_(std::move(other.pending_)) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
}

subprocess& subprocess::operator=(subprocess&& other) noexcept {
  if (this != &other) {
    subprocess old{std::move(*this)}; // ends our current child, if any
    pid_ = std::exchange(other.pid_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    status_ = other.status_;
    pending_ = std::move(other.pending_);
  }
  return *this;
}

subprocess::~subprocess() {
  if (pid_ > 0 && !status_)
    terminate(std::chrono::seconds(2));
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

caf::expected<bool>
subprocess::read_some(std::chrono::steady_clock::time_point deadline,
                      const char* what) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(errc::unavailable,
                        fmt::format("subprocess: {} at the timeout", what));
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      return os_error("subprocess: poll", errno);
    if (n <= 0)
      continue;
    char buf[4096];
    auto got = ::read(stdout_fd_, buf, sizeof(buf));
    if (got == 0)
      return false;
    if (got < 0 && errno != EINTR)
      return os_error("subprocess: read", errno);
    if (got > 0) {
      pending_.append(buf, static_cast<size_t>(got));
      return true;
    }
  }
}

caf::expected<std::string>
subprocess::read_line(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0)
    return make_error(errc::invalid_argument, "subprocess: stdout not "
                                              "captured");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      auto line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    auto more = read_some(deadline, "no line on stdout");
    if (!more)
      return more.error();
    if (!*more)
      return make_error(errc::unavailable, "subprocess: stdout closed");
  }
}

caf::expected<std::string>
subprocess::read_all(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0)
    return make_error(errc::invalid_argument, "subprocess: stdout not "
                                              "captured");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto more = read_some(deadline, "stdout still open");
    if (!more)
      return more.error();
    if (!*more)
      return std::exchange(pending_, std::string{});
  }
}

std::optional<int> subprocess::poll() {
  if (status_ || pid_ <= 0)
    return status_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_)
    status_ = decode_wait_status(status);
  return status_;
}

int subprocess::wait() {
  if (status_ || pid_ <= 0)
    return status_.value_or(-1);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = decode_wait_status(status);
  return *status_;
}

void subprocess::kill(int signal) {
  if (pid_ > 0 && !status_)
    ::kill(-pid_, signal);
}

int subprocess::terminate(std::chrono::milliseconds grace) {
  if (poll())
    return *status_;
  kill(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (poll()) {
      ::kill(-pid_, SIGKILL); // stragglers left in the group
      return *status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(SIGKILL);
  return wait();
}

} // namespace dcos
