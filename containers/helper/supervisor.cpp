#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "process_tree.hpp"

extern char** environ;

namespace dcos::helper {

namespace {

constexpr int served_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};

// Passes on what is in `fd` now. False once the writers closed it.
bool drain(int fd, const std::function<void(const char*, size_t)>& sink) {
  char buf[4096];
  while (true) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      if (sink)
        sink(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 && errno == EAGAIN;
  }
}

} // namespace

int supervisor::start() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : served_signals)
    sigaddset(&set, sig);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    return errno;
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : served_signals)
    ::sigaction(sig, &dfl, nullptr);
  // A sandbox file that cannot be written must not kill the helper.
  ::signal(SIGPIPE, SIG_IGN);
  sfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  return sfd_ < 0 ? errno : 0;
}

pid_t supervisor::spawn(const std::string& file,
                        const std::vector<std::string>& argv,
                        char* const* envp, int stderr_fd, int* error) {
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // The child reports a failed exec through this pipe; a successful exec
  // closes it (CLOEXEC), so the parent reads either an errno or EOF.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *error = errno;
    return -1;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      ::sigaction(sig, &dfl, nullptr); // fails harmlessly for KILL and STOP
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (stderr_fd >= 0 && stderr_fd != STDERR_FILENO)
      ::dup2(stderr_fd, STDERR_FILENO);
    // execvp searches the PATH of `environ`, so the PATH of the program's
    // own environment applies, as with env(1).
    environ = const_cast<char**>(envp);
    ::execvp(file.c_str(), args.data());
    int code = errno;
    [[maybe_unused]] auto ignored = ::write(report[1], &code, sizeof(code));
    ::_exit(127);
  }
  int fork_error = errno;
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    *error = fork_error;
    return -1;
  }
  int code = 0;
  ssize_t n;
  while ((n = ::read(report[0], &code, sizeof(code))) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(code))) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *error = code;
    return -1;
  }
  return pid;
}

int supervisor::wait_for(
  pid_t child, int output_fd,
  const std::function<void(const char*, size_t)>& on_output) {
  awaited_ = child;
  awaited_status_.reset();
  reap(); // it may have ended already
  while (!awaited_status_) {
    pollfd fds[2] = {{sfd_, POLLIN, 0}, {output_fd, POLLIN, 0}};
    int rc = ::poll(fds, output_fd >= 0 ? 2 : 1, -1);
    if (rc < 0)
      continue; // EINTR; nothing else is possible with valid descriptors
    if (output_fd >= 0 && fds[1].revents != 0 && !drain(output_fd, on_output))
      output_fd = -1; // closed by every writer
    if (fds[0].revents != 0)
      serve_pending();
  }
  if (output_fd >= 0)
    drain(output_fd, on_output);
  awaited_ = -1;
  return *awaited_status_;
}

void supervisor::serve_pending() {
  signalfd_siginfo infos[8];
  while (true) {
    auto n = ::read(sfd_, infos, sizeof(infos));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(infos[0]); ++i)
      serve(infos[i]);
  }
}

bool supervisor::from_inside(const signalfd_siginfo& info) const {
  auto code = info.ssi_code;
  if (code != SI_USER && code != SI_QUEUE && code != SI_TKILL)
    return false; // sent by the kernel (e.g. a terminal's SIGINT)
  auto sender = static_cast<pid_t>(info.ssi_pid);
  return sender == ::getpid() || ::getpgid(sender) == ::getpgrp();
}

void supervisor::serve(const signalfd_siginfo& info) {
  int sig = static_cast<int>(info.ssi_signo);
  if (sig == SIGCHLD) {
    reap();
    return;
  }
  if (from_inside(info))
    return;
  if (sig == SIGUSR1) {
    termination_ = SIGKILL;
    kill_descendants();
  } else { // SIGTERM, SIGINT, SIGHUP
    if (termination_ == 0)
      termination_ = SIGTERM;
    terminate_descendants(::getpgrp());
  }
}

bool supervisor::reap() {
  while (true) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid <= 0)
      return pid == 0; // 0: children left, none ended; -1: ECHILD
    if (pid == awaited_)
      awaited_status_ = status;
  }
}

bool supervisor::clean_up(int limit_ms) {
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds(limit_ms);
  while (reap()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    kill_descendants();
    // Wait for a SIGCHLD, but not forever: a process forked during the walk
    // may have escaped it and needs another round.
    pollfd pfd{sfd_, POLLIN, 0};
    ::poll(&pfd, 1, 100);
    serve_pending();
  }
  return true;
}

} // namespace dcos::helper
