// dcos-containerizer: the root process of every container.
//
//   dcos-containerizer launch --sandbox=DIR --status_file=FILE
//       [--fetch=FILE --fetcher=PATH --cache_dir=DIR] [--env_file=FILE]
//       [--isolation=FILE [--sync_fd=N]] [--pid_file=FILE] -- PROGRAM [ARGS...]
//   dcos-containerizer enter --target=DIR --status_file=FILE
//       [--env_file=FILE] -- PROGRAM [ARGS...]
//
// launch, in order: leads its own session (or at least its own process
// group, see below) as a child subreaper; sends its stdout/stderr to
// DIR/stdout and DIR/stderr and changes into DIR; runs the fetcher if asked;
// runs PROGRAM; passes termination requests on to every descendant
// (supervisor.hpp); when PROGRAM ends, kills whatever PROGRAM left behind,
// writes the exit record (status_file.hpp) and exits with PROGRAM's status:
// its exit code, or 128 + the signal that killed it. With --isolation,
// PROGRAM runs inside new namespaces under a small init (linux_launch.hpp);
// the fetcher still runs here, on the host, once the agent has isolated the
// container. A failure before PROGRAM runs exits 127 with reason
// "exec_failed" or "fetch_failed"; only a command line without a usable
// --status_file exits 2 without a record.
//
// enter does the same for a PROGRAM that joins a running container
// (linux_enter.hpp), with the helper's own stdin, stdout and stderr, and
// ends when the process that started it does (a debug session lives as
// long as the agent streaming it).
//
// It links libc and libstdc++ only (no libdcos, no CAF), because it is exec'd
// for every task and must start fast.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "isolation_spec.hpp"
#include "linux_enter.hpp"
#include "linux_launch.hpp"
#include "process_tree.hpp"
#include "status_file.hpp"
#include "supervisor.hpp"

extern char** environ;

using namespace dcos::helper;

namespace {

// How long leftover descendants get to die after SIGKILL before the exit
// record is written anyway (a process in uninterruptible sleep can take long).
constexpr int cleanup_limit_ms = 10000;

// The fetcher's failure is the last line it printed on stderr; longer lines
// are cut.
constexpr size_t max_line = 4096;

supervisor sup;

std::string errno_text(int code) {
  return std::strerror(code);
}

int finish(const launch_args& args, const exit_record& record) {
  if (int err = write_status_file(args.status_file, record); err != 0)
    std::fprintf(stderr, "dcos-containerizer: cannot write '%s': %s\n",
                 args.status_file.c_str(), std::strerror(err));
  return record.status;
}

// PROGRAM did not run: says why on stderr and in the exit record.
int fail(const launch_args& args, const char* reason,
         const std::string& message) {
  sup.clean_up(cleanup_limit_ms);
  std::fprintf(stderr, "dcos-containerizer: %s\n", message.c_str());
  return finish(args, {127, reason, 0, message});
}

bool open_sandbox(const std::string& dir, std::string* error) {
  struct target {
    int fd;
    std::string path;
    int flags;
  };
  target targets[] = {
    {STDIN_FILENO, "/dev/null", O_RDONLY},
    {STDOUT_FILENO, dir + "/stdout", O_WRONLY | O_CREAT | O_APPEND},
    {STDERR_FILENO, dir + "/stderr", O_WRONLY | O_CREAT | O_APPEND},
  };
  for (const auto& t : targets) {
    int fd = ::open(t.path.c_str(), t.flags | O_CLOEXEC, 0644);
    if (fd < 0) {
      *error = "--sandbox: cannot open '" + t.path + "': " + errno_text(errno);
      return false;
    }
    ::dup2(fd, t.fd); // the copy is not close-on-exec
    ::close(fd);
  }
  if (::chdir(dir.c_str()) != 0) {
    *error = "--sandbox: cannot enter '" + dir + "': " + errno_text(errno);
    return false;
  }
  return true;
}

// Loads NUL-separated KEY=VALUE entries; `envp` points into `storage`.
bool read_env_file(const std::string& path, std::string* storage,
                   std::vector<char*>* envp, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "--env_file: cannot open '" + path + "': " + errno_text(errno);
    return false;
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      storage->append(buf, static_cast<size_t>(n));
  int read_error = errno;
  ::close(fd);
  if (n < 0) {
    *error = "--env_file: cannot read '" + path + "': "
             + errno_text(read_error);
    return false;
  }
  storage->push_back('\0'); // the last entry need not be terminated
  size_t index = 0;
  for (size_t at = 0; at < storage->size();) {
    std::string_view entry{storage->c_str() + at};
    if (!entry.empty()) {
      auto eq = entry.find('=');
      if (eq == 0 || eq == std::string_view::npos) {
        *error = "--env_file: entry " + std::to_string(index) + " '"
                 + std::string{entry.substr(0, 64)} + "' is not KEY=VALUE";
        return false;
      }
      envp->push_back(storage->data() + at);
      ++index;
    }
    at += entry.size() + 1;
  }
  envp->push_back(nullptr);
  return true;
}

// Runs the fetcher; on failure sets `*message` to its last line on stderr.
bool run_fetcher(const launch_args& args, char* const* envp,
                 std::string* message) {
  std::vector<std::string> argv = {args.fetcher, "--request=" + args.fetch,
                                   "--sandbox=" + args.sandbox,
                                   "--cache_dir=" + args.cache_dir};
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *message = "cannot run fetcher: pipe: " + errno_text(errno);
    return false;
  }
  // Only our end is non-blocking: the fetcher's stderr must block when full.
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  int exec_error = 0;
  pid_t pid = sup.spawn(argv[0], argv, envp, pipe_fds[1], &exec_error);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    *message = "cannot run fetcher '" + args.fetcher
               + "': " + errno_text(exec_error);
    return false;
  }
  // The fetcher's stderr goes on to the sandbox's stderr; its last line is
  // kept for the exit record.
  std::string line, last_line;
  auto on_output = [&](const char* data, size_t size) {
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, data, size);
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        if (!line.empty())
          last_line.swap(line);
        line.clear();
      } else if (line.size() < max_line) {
        line += data[i];
      }
    }
  };
  int status = sup.wait_for(pid, pipe_fds[0], on_output);
  ::close(pipe_fds[0]);
  sup.clean_up(cleanup_limit_ms); // e.g. a tar the fetcher left behind
  if (!line.empty())
    last_line = line;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  if (WIFSIGNALED(status))
    *message = "fetcher was killed by signal "
               + std::to_string(WTERMSIG(status));
  else if (!last_line.empty())
    *message = last_line;
  else
    *message = "fetcher exited with " + std::to_string(WEXITSTATUS(status));
  return false;
}

// A termination request that came before PROGRAM started: the record says
// so, and PROGRAM never runs.
bool stopped_before_start(const launch_args& args, int* status) {
  sup.serve_pending();
  int sig = sup.termination_signal();
  if (sig == 0)
    return false;
  std::string message = "'" + args.executable
                        + "' was not started: termination was requested";
  std::fprintf(stderr, "dcos-containerizer: %s\n", message.c_str());
  *status = finish(args, {128 + sig, "signaled", sig, message});
  return true;
}

// Records the process whose namespaces and cgroups are the container's, for
// `enter`.
bool write_pid(const launch_args& args, pid_t pid, std::string* error) {
  if (args.pid_file.empty())
    return true;
  if (int err = write_pid_file(args.pid_file, pid); err != 0) {
    *error = "--pid_file: cannot write '" + args.pid_file
             + "': " + errno_text(err);
    return false;
  }
  return true;
}

// PROGRAM inside a running container: a debug session. Its stdin, stdout
// and stderr are the helper's own (the agent's pipes).
int run_entered(const launch_args& args, char* const* envp) {
  std::string error;
  if (int status = 0; stopped_before_start(args, &status))
    return status;
  pid_t child = enter_container(args.target, args.executable, args.program,
                                envp, args.tty, &error);
  if (child < 0)
    return fail(args, "exec_failed", error);
  // The streams are PROGRAM's alone now, so the agent sees them end with
  // it (/dev/null keeps 0-2 from being reused by our own files).
  if (int null = ::open("/dev/null", O_RDWR | O_CLOEXEC); null >= 0) {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
      ::dup2(null, fd);
    ::close(null);
  }
  exit_record record = record_of(sup.wait_for(child, -1, {}),
                                 args.executable);
  // What PROGRAM left running inside was adopted by the container's init,
  // out of our sight: its process group (PROGRAM's own) still names it;
  // at a terminal, where a shell gives its jobs groups of their own, its
  // session does (they would keep the terminal, and so the session's
  // output, open).
  ::kill(-child, SIGKILL);
  if (args.tty)
    kill_session(child);
  if (!sup.clean_up(cleanup_limit_ms))
    record.message += "; some descendants survived SIGKILL for 10s";
  return finish(args, record);
}

// PROGRAM in new namespaces: clone the init, let the agent isolate it, fetch,
// then let the init start PROGRAM.
int run_isolated(const launch_args& args, char* const* envp) {
  isolation_spec spec;
  std::string error;
  if (!read_isolation_spec(args.isolation, &spec, &error))
    return fail(args, "exec_failed", error);
  isolated_child child;
  bool cloned = clone_init(spec, args.sync_fd, args.executable, args.program,
                           envp, &child,
                           &error);
  if (args.sync_fd >= 0)
    ::close(args.sync_fd);
  if (!cloned)
    return fail(args, "exec_failed", error);
  if (!write_pid(args, child.init, &error))
    return fail(args, "exec_failed", error); // fail() kills the init
  if (!args.fetch.empty() && !run_fetcher(args, envp, &error))
    return fail(args, "fetch_failed", error); // fail() kills the init
  int status = 0;
  if (stopped_before_start(args, &status)) {
    sup.clean_up(cleanup_limit_ms);
    return status;
  }
  if (!release_init(child, &error))
    return fail(args, "exec_failed", error);
  int init_status = sup.wait_for(child.init, -1, {});
  // The init's pid is free now and may be reused: nothing may enter it.
  if (!args.pid_file.empty())
    ::unlink(args.pid_file.c_str());
  exit_record record = record_of(program_status(child, init_status),
                                 args.executable);
  if (!sup.clean_up(cleanup_limit_ms))
    record.message += "; some descendants survived SIGKILL for 10s";
  return finish(args, record);
}

} // namespace

int main(int argc, char** argv) {
  // Before anything else: a termination request that arrives now is queued,
  // neither lost nor fatal to a helper that has not written its record yet.
  int start_error = sup.start();

  if (argc == 2 && (std::string_view{argv[1]} == "--help"
                    || std::string_view{argv[1]} == "help")) {
    std::fputs(usage_text, stdout);
    return 0;
  }
  launch_args args;
  std::string error;
  if (!parse_launch_args(argc, argv, &args, &error)) {
    if (!args.status_file.empty()) {
      std::fputs(usage_text, stderr);
      return fail(args, "exec_failed", error);
    }
    std::fprintf(stderr, "dcos-containerizer: %s\n%s", error.c_str(),
                 usage_text);
    return 2;
  }
  if (start_error != 0)
    return fail(args, "exec_failed", "signalfd: " + errno_text(start_error));

  // setsid() fails with EPERM if the caller already made the helper a process
  // group leader (posix_spawn with POSIX_SPAWN_SETPGROUP, as dcos::subprocess
  // does). The helper then keeps that group, which it alone leads, so
  // kill(-pgid) still reaches exactly the container; it just stays in the
  // caller's session.
  ::setsid();
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // Descriptors the agent leaked to us must not reach the task (a listening
  // socket held by a task would outlive the agent).
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

  bool enter = args.command == "enter";
  if (enter) {
    // The session ends with the agent that streams it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  } else if (!open_sandbox(args.sandbox, &error)) {
    return fail(args, "exec_failed", error);
  }

  std::string env_storage;
  std::vector<char*> env;
  char* const* envp = environ;
  if (!args.env_file.empty()) {
    if (!read_env_file(args.env_file, &env_storage, &env, &error))
      return fail(args, "exec_failed", error);
    envp = env.data();
  }

  if (enter)
    return run_entered(args, envp);
  if (!args.isolation.empty())
    return run_isolated(args, envp);

  if (!args.fetch.empty() && !run_fetcher(args, envp, &error))
    return fail(args, "fetch_failed", error);

  const std::string& program = args.executable;
  if (int status = 0; stopped_before_start(args, &status))
    return status;
  if (!write_pid(args, ::getpid(), &error))
    return fail(args, "exec_failed", error);
  int exec_error = 0;
  pid_t child = sup.spawn(program, args.program, envp, -1, &exec_error);
  if (child < 0)
    return fail(args, "exec_failed",
                "cannot run '" + program + "': " + errno_text(exec_error));

  exit_record record = record_of(sup.wait_for(child, -1, {}), program);
  if (!sup.clean_up(cleanup_limit_ms))
    record.message += "; some descendants survived SIGKILL for 10s";
  return finish(args, record);
}
