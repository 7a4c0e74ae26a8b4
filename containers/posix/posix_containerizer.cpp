// The Mesos containerizer: containers are process trees rooted at the
// dcos-containerizer helper, in their own session. Without an isolation
// that is all (the POSIX containerizer); with one (containers/linux) the
// helper starts the container in new namespaces, and the isolation adds
// cgroups, images and networks around it (container_isolation.hpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/containerizer_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/logging.hpp"
#include "container_isolation.hpp"
#include "containerizer_impl.hpp"
#include "files.hpp"
#include "process_watcher.hpp"
#include "volume_links.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace dcos {

namespace {

using escalate_atom = caf::atom_constant<caf::atom("escalate")>;
using cleanup_atom = caf::atom_constant<caf::atom("cleanup")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;

using posix_impl = containerizer_actor::extend<
  caf::reacts_to<exited_atom, uint32_t, int>, // pid, wait status or -1
  caf::reacts_to<escalate_atom, std::string, int>,
  caf::reacts_to<cleanup_atom, std::string, int>, // id, attempt
  caf::reacts_to<settle_atom>>;

// How often an unsettled isolation is asked again (settle()).
constexpr auto settle_interval = std::chrono::milliseconds(100);

// How long the helper may take to clone the container's init and report it
// (the sync protocol); it does nothing slow before that.
constexpr int sync_timeout_ms = 10000;

struct container_record {
  uint32_t pid = 0;
  std::string sandbox;
  std::string status_file;
  bool session = false; // in another container's isolation, not its own
  bool destroying = false;
  std::optional<container_termination> ended;
  std::vector<caf::typed_response_promise<container_termination>> waiters;
  std::vector<caf::typed_response_promise<ok_atom>> destroyers;
};

struct posix_state {
  posix_state() = default;
  posix_containerizer_config cfg;
  std::map<std::string, container_record> containers;
  std::map<uint32_t, std::string> by_pid;
  std::deque<std::string> ended; // oldest first; pruned at each launch
  std::unique_ptr<posix::process_watcher> watcher;
  std::shared_ptr<container_isolation> isolation; // null: POSIX only
  bool settling = false; // a settle_atom is on its way
  std::shared_ptr<spdlog::logger> log = logging::get("containerizer");
};

using posix_self = posix_impl::stateful_pointer<posix_state>;

// A container's own records (status, environment, fetch request). Per
// container, because a command executor and its task share one sandbox.
std::string meta_dir(const std::string& sandbox,
                     const std::string& container_id) {
  return sandbox + "/.dcos/containers/" + container_id;
}

// What the helper recorded, or what waitpid saw when it left no record.
container_termination read_termination(const container_record& c,
                                        std::optional<int> wait_status) {
  container_termination t;
  t.destroyed = c.destroying;
  auto text = read_file_or_empty(c.status_file);
  google::protobuf::Struct doc;
  if (!text.empty() && !from_json(text, &doc, "status file")) {
    const auto& f = doc.fields();
    if (auto i = f.find("status"); i != f.end())
      t.status = static_cast<int>(i->second.number_value());
    if (auto i = f.find("signal"); i != f.end())
      t.signal = static_cast<int>(i->second.number_value());
    if (auto i = f.find("message"); i != f.end())
      t.message = i->second.string_value();
    if (auto i = f.find("reason"); i != f.end()) {
      const auto& reason = i->second.string_value();
      if (reason == "fetch_failed" || reason == "exec_failed")
        t.reason = v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED;
    }
    return t;
  }
  if (wait_status) {
    if (WIFEXITED(*wait_status)) {
      t.status = WEXITSTATUS(*wait_status);
    } else if (WIFSIGNALED(*wait_status)) {
      t.signal = WTERMSIG(*wait_status);
      t.status = 128 + *t.signal;
    }
  } else {
    t.status = 137; // adopted and gone without a record: it was killed
    t.signal = 9;
  }
  t.message = "the container ended without an exit record";
  return t;
}

void finish(posix_self self, const std::string& id,
            container_termination termination) {
  auto i = self->state.containers.find(id);
  if (i == self->state.containers.end())
    return;
  auto& c = i->second;
  self->state.by_pid.erase(c.pid);
  if (auto& iso = self->state.isolation; iso && !c.session) {
    std::string message;
    if (auto reason = iso->limitation(id, &message)) {
      termination.reason = reason;
      termination.message = message;
    }
    self->send(self, cleanup_atom::value, id, 0);
  }
  if (!c.ended)
    self->state.ended.push_back(id);
  c.ended = termination;
  for (auto& rp : c.waiters)
    rp.deliver(termination);
  for (auto& rp : c.destroyers)
    rp.deliver(ok_atom::value);
  c.waiters.clear();
  c.destroyers.clear();
}

// The sync protocol of linux_launch.hpp, agent side: read the init's pid,
// isolate it, and let it go on (or tell the helper why not).
caf::error sync_isolation(posix_self self, const std::string& id, int fd) {
  std::string line;
  char ch = 0;
  while (line.size() < 64) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, sync_timeout_ms) <= 0)
      return make_error(errc::unavailable,
                        "the container helper did not report its init");
    if (::read(fd, &ch, 1) != 1)
      return make_error(errc::unavailable,
                        "the container helper ended before its init ran");
    if (ch == '\n')
      break;
    line += ch;
  }
  int pid = 0;
  if (std::sscanf(line.c_str(), "pid %d", &pid) != 1 || pid <= 0)
    return make_error(errc::corrupt_payload,
                      fmt::format("the container helper said '{}'", line));
  auto err = self->state.isolation->isolate(id, static_cast<pid_t>(pid));
  std::string answer = err ? "no: " + describe_reason(err) + "\n" : "go\n";
  [[maybe_unused]] auto n = ::write(fd, answer.data(), answer.size());
  return err;
}

// Starts the helper with `argv`; `sync_fd` (if >= 0) becomes its fd 3, and
// each of `stdio` that is >= 0 its stdin, stdout or stderr.
caf::expected<pid_t> spawn_helper(const std::vector<std::string>& argv,
                                  int sync_fd,
                                  std::array<int, 3> stdio = {-1, -1, -1}) {
  std::vector<char*> cargv;
  for (auto& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigfillset(&defaults);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF);
  // Only stdin, stdout and stderr (and the sync socket) cross over:
  // inherited sockets would keep the agent's ports busy after it died.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; ++fd)
    if (stdio[fd] >= 0)
      posix_spawn_file_actions_adddup2(&actions, stdio[fd], fd);
  if (sync_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, sync_fd, 3);
  posix_spawn_file_actions_addclosefrom_np(&actions, sync_fd >= 0 ? 4 : 3);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(),
                          environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return make_error(errc::io_error,
                      fmt::format("cannot run the container helper '{}': {}",
                                  argv[0], std::strerror(rc)));
  return pid;
}

// Forgets the oldest ended containers beyond ended_containers_kept: an
// agent runs containers for months.
void forget_ended(posix_state& st) {
  while (st.ended.size() > ended_containers_kept) {
    auto i = st.containers.find(st.ended.front());
    if (i != st.containers.end() && i->second.ended)
      st.containers.erase(i);
    st.ended.pop_front();
  }
}

// PROGRAM ARGS... is the program's argv; --exec names the file to run when
// it is not argv[0] (Mesos' CommandInfo with shell=false).
void append_program(std::vector<std::string>& argv,
                    const command_line& command) {
  if (command.file() != command.argv.front())
    argv.push_back("--exec=" + command.file());
  argv.push_back("--");
  argv.insert(argv.end(), command.argv.begin(), command.argv.end());
}

// The NUL-separated KEY=VALUE entries of `base` (an env file), with those
// of `overlay` replacing entries of the same key.
std::string overlay_env(const std::string& base,
                        const std::vector<std::string>& overlay) {
  std::vector<std::string> entries;
  std::istringstream in{base};
  for (std::string entry; std::getline(in, entry, '\0');)
    if (!entry.empty())
      entries.push_back(std::move(entry));
  for (const auto& kv : overlay) {
    auto key = kv.substr(0, kv.find('=') + 1);
    auto same = [&](const std::string& e) { return e.rfind(key, 0) == 0; };
    entries.erase(std::remove_if(entries.begin(), entries.end(), same),
                  entries.end());
    entries.push_back(kv);
  }
  std::string out;
  for (const auto& e : entries) {
    out += e;
    out += '\0';
  }
  return out;
}

// Three pipes for a session's stdin, stdout and stderr; the child's ends in
// `child`, ours (close-on-exec) in the answer.
caf::expected<container_io_ptr> make_session_pipes(std::array<int, 3>& child) {
  int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  for (auto& p : fds)
    if (::pipe2(p, O_CLOEXEC) != 0) {
      auto err = make_error(errc::io_error, fmt::format("pipe: {}",
                                                        std::strerror(errno)));
      for (auto& q : fds)
        for (int fd : q)
          if (fd >= 0)
            ::close(fd);
      return err;
    }
  child = {fds[0][0], fds[1][1], fds[2][1]};
  return std::make_shared<container_io>(fds[0][1], fds[1][0], fds[2][0]);
}

// A terminal for a session's three streams, of the size `info` asks: the
// child gets the slave side three times in `child`, we get the master
// twice (stdin and stdout; close-on-exec).
caf::expected<container_io_ptr>
make_session_terminal(const v1::ContainerInfo::TTYInfo& info,
                      std::array<int, 3>& child) {
  int fds[2] = {-1, -1}; // the master, twice
  auto fail = [&](const char* what) {
    auto err = make_error(errc::io_error, fmt::format("{}: {}", what,
                                                      std::strerror(errno)));
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
    for (int& fd : child) {
      if (fd >= 0)
        ::close(fd);
      fd = -1;
    }
    return err;
  };
  fds[0] = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fds[0] < 0)
    return fail("posix_openpt");
  char name[128];
  if (::grantpt(fds[0]) != 0 || ::unlockpt(fds[0]) != 0
      || ::ptsname_r(fds[0], name, sizeof(name)) != 0)
    return fail("the terminal's slave side");
  if (info.has_window_size()) {
    winsize size{};
    size.ws_row = static_cast<unsigned short>(info.window_size().rows());
    size.ws_col = static_cast<unsigned short>(info.window_size().columns());
    if (::ioctl(fds[0], TIOCSWINSZ, &size) != 0)
      return fail("TIOCSWINSZ");
  }
  fds[1] = ::fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
  if (fds[1] < 0)
    return fail("dup");
  for (int& fd : child) {
    fd = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
      return fail(name);
  }
  return std::make_shared<container_io>(fds[1], fds[0], -1, true);
}

caf::expected<container_io_ptr> launch_session(posix_self self,
                                               const container_launch& req) {
  auto& st = self->state;
  forget_ended(st);
  if (req.join.empty() || req.command.empty() || req.command.entrypoint)
    return make_error(errc::invalid_argument,
                      req.join.empty() ? "session: no container to join"
                                       : "session: empty command");
  if (st.containers.count(req.container_id) > 0)
    return make_error(errc::conflict, fmt::format("container '{}' exists",
                                                  req.container_id));
  auto target = meta_dir(req.sandbox, req.join);
  std::error_code ec;
  if (!fs::exists(target + "/pid", ec) || fs::exists(target + "/status", ec))
    return make_error(errc::not_found,
                      fmt::format("container '{}' is not running",
                                  req.join));
  auto meta = meta_dir(req.sandbox, req.container_id);
  fs::create_directories(meta, ec);
  if (ec)
    return make_error(errc::io_error,
                      fmt::format("cannot create '{}': {}", meta,
                                  ec.message()));
  // Whatever fails from here on leaves nothing behind.
  auto undo = [&](caf::error err) {
    fs::remove_all(meta, ec);
    return err;
  };
  auto env_file = meta + "/env";
  auto status_file = meta + "/status";
  fs::remove(status_file, ec); // an earlier session's, of an id forgotten
  auto env = overlay_env(read_file_or_empty(target + "/env"), req.env);
  if (auto err = write_file(env_file, env))
    return undo(err);
  std::vector<std::string> argv{st.cfg.helper, "enter", "--target=" + target,
                                "--status_file=" + status_file,
                                "--env_file=" + env_file};
  bool tty = req.container.has_tty_info();
  if (tty)
    argv.push_back("--tty");
  append_program(argv, req.command);
  std::array<int, 3> child{-1, -1, -1};
  auto io = tty ? make_session_terminal(req.container.tty_info(), child)
                : make_session_pipes(child);
  if (!io)
    return undo(io.error());
  auto pid = spawn_helper(argv, -1, child);
  for (int fd : child)
    ::close(fd);
  if (!pid)
    return undo(pid.error());
  auto& c = st.containers[req.container_id];
  c.pid = static_cast<uint32_t>(*pid);
  c.sandbox = req.sandbox;
  c.status_file = status_file;
  c.session = true;
  st.by_pid[c.pid] = req.container_id;
  if (auto err = st.watcher->watch(*pid))
    self->send(self, exited_atom::value, c.pid, -1);
  return std::move(*io);
}

caf::expected<uint32_t> launch(posix_self self, container_launch req) {
  auto& st = self->state;
  forget_ended(st);
  if (st.containers.count(req.container_id) > 0)
    return make_error(errc::conflict, fmt::format("container '{}' exists",
                                                  req.container_id));
  std::error_code ec;
  auto meta = meta_dir(req.sandbox, req.container_id);
  fs::create_directories(meta, ec);
  if (ec)
    return make_error(errc::io_error,
                      fmt::format("cannot create sandbox '{}': {}",
                                  req.sandbox, ec.message()));
  isolated_launch plan;
  if (st.isolation) {
    auto prepared = st.isolation->prepare(req, meta);
    if (!prepared)
      return prepared.error();
    plan = std::move(*prepared);
  }
  // Whatever fails from here on leaves nothing behind.
  auto undo = [&](caf::error err) {
    if (st.isolation)
      self->send(self, cleanup_atom::value, req.container_id, 0);
    return err;
  };
  if (!plan.volumes_mounted)
    if (auto err = link_volumes(req))
      return undo(err);
  if (req.command.empty() || req.command.entrypoint)
    return undo(make_error(errc::invalid_argument,
                           req.command.entrypoint
                             ? "launch: no image, so no entrypoint to run"
                             : "launch: empty command"));
  std::string env;
  for (const auto& kv : req.env) {
    env += kv;
    env += '\0';
  }
  auto env_file = meta + "/env";
  auto status_file = meta + "/status";
  fs::remove(status_file, ec);
  fs::remove(meta + "/pid", ec); // until the helper writes its own
  if (auto err = write_file(env_file, env))
    return undo(err);
  std::vector<std::string> argv{st.cfg.helper, "launch",
                                "--sandbox=" + req.sandbox,
                                "--status_file=" + status_file,
                                "--env_file=" + env_file,
                                "--pid_file=" + meta + "/pid"};
  if (req.fetch.uris_size() > 0) {
    auto fetch_file = meta + "/fetch.json";
    if (auto err = write_file(fetch_file, to_json(req.fetch)))
      return undo(err);
    argv.push_back("--fetch=" + fetch_file);
    argv.push_back("--fetcher=" + st.cfg.fetcher);
    argv.push_back("--cache_dir=" + st.cfg.fetch_cache_dir);
  }
  argv.insert(argv.end(), plan.helper_args.begin(), plan.helper_args.end());
  int sync[2] = {-1, -1};
  if (plan.sync) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0)
      return undo(make_error(errc::io_error,
                             fmt::format("socketpair: {}",
                                         std::strerror(errno))));
    argv.push_back("--sync_fd=3");
  }
  append_program(argv, req.command);
  auto pid = spawn_helper(argv, sync[1]);
  if (sync[1] >= 0)
    ::close(sync[1]);
  if (!pid) {
    if (sync[0] >= 0)
      ::close(sync[0]);
    return undo(pid.error());
  }
  if (plan.sync) {
    auto err = sync_isolation(self, req.container_id, sync[0]);
    ::close(sync[0]);
    if (err) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0); // it ends at once: it was waiting for us
      st.isolation->kill(req.container_id);
      return undo(err);
    }
  }
  auto& c = st.containers[req.container_id];
  c.pid = static_cast<uint32_t>(*pid);
  c.sandbox = req.sandbox;
  c.status_file = status_file;
  st.by_pid[c.pid] = req.container_id;
  if (auto err = st.watcher->watch(*pid)) // it may be gone already
    self->send(self, exited_atom::value, c.pid, -1);
  return c.pid;
}

// Usage of a POSIX container: its processes as /proc shows them (there is
// no cgroup to ask).
container_usage proc_usage(pid_t root) {
  container_usage u;
  double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    auto base = fmt::format("/proc/{}", pid);
    auto stat = read_file_or_empty(base + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    // Fields after "pid (comm)": state(3) ... utime(14) stime(15) ...
    // rss(24), counted from field 3.
    std::istringstream fields{stat.substr(close + 2)};
    std::vector<std::string> f{std::istream_iterator<std::string>{fields}, {}};
    if (f.size() < 22)
      continue;
    ++u.processes;
    u.cpus_user_time_secs += std::stod(f[11]) / hz;
    u.cpus_system_time_secs += std::stod(f[12]) / hz;
    u.mem_rss_bytes += std::stoull(f[21]) * page;
    std::error_code ec;
    for (fs::directory_iterator it{base + "/task", ec}, end; !ec && it != end;
         it.increment(ec)) {
      std::ifstream children{it->path() / "children"};
      pid_t child;
      while (children >> child)
        todo.push_back(child);
    }
  }
  return u;
}

posix_impl::behavior_type posix_behavior(posix_self self,
                                posix_containerizer_config cfg,
                                std::shared_ptr<container_isolation> iso) {
  self->state.cfg = std::move(cfg);
  self->state.isolation = std::move(iso);
  // A weak address: a strong handle held by our own state would keep us
  // alive forever (and CAF waits for a detached actor's destruction).
  caf::actor_addr me = self->address();
  self->state.watcher = std::make_unique<posix::process_watcher>(
    [me](pid_t pid, std::optional<int> status) {
      if (auto hdl = caf::actor_cast<caf::actor>(me))
        caf::anon_send(hdl, exited_atom::value, static_cast<uint32_t>(pid),
                       status.value_or(-1));
    });
  return {
    [self](launch_atom, const container_launch& req)
      -> caf::result<uint32_t> {
      auto pid = launch(self, req);
      if (!pid)
        return pid.error();
      self->state.log->debug("launched container_id={} pid={}",
                             req.container_id, *pid);
      return *pid;
    },
    [self](session_atom, const container_launch& req)
      -> caf::result<container_io_ptr> {
      auto io = launch_session(self, req);
      if (!io)
        return io.error();
      self->state.log->info("session container_id={} joined {}",
                            req.container_id, req.join);
      return std::move(*io);
    },
    [self](wait_atom, const std::string& id)
      -> caf::result<container_termination> {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end())
        return make_error(errc::not_found,
                          fmt::format("no container '{}'", id));
      if (i->second.ended)
        return *i->second.ended;
      auto rp = self->make_response_promise<container_termination>();
      i->second.waiters.push_back(rp);
      return rp;
    },
    [self](destroy_atom, const std::string& id,
           caf::timespan grace) -> caf::result<ok_atom> {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end() || i->second.ended)
        return ok_atom::value;
      auto& c = i->second;
      auto rp = self->make_response_promise<ok_atom>();
      c.destroyers.push_back(rp);
      if (!c.destroying) {
        c.destroying = true;
        if (grace <= caf::timespan{0}) { // no grace: SIGKILL at once
          self->send(self, escalate_atom::value, id, 1);
        } else {
          ::kill(static_cast<pid_t>(c.pid), SIGTERM); // the helper forwards it
          self->delayed_send(self, grace, escalate_atom::value, id, 1);
        }
      }
      return rp;
    },
    [self](escalate_atom, const std::string& id, int stage) {
      auto i = self->state.containers.find(id);
      if (i == self->state.containers.end() || i->second.ended)
        return;
      auto pid = static_cast<pid_t>(i->second.pid);
      if (stage == 1) {
        ::kill(pid, SIGUSR1); // the helper kills its whole tree
        if (self->state.isolation && !i->second.session) // and the cgroups
                                                         // catch the rest
          self->state.isolation->kill(id);
        self->delayed_send(self, std::chrono::seconds(2),
                           escalate_atom::value, id, 2);
      } else {
        ::kill(-pid, SIGKILL); // the helper itself is stuck
        ::kill(pid, SIGKILL);
      }
    },
    [self](cleanup_atom, const std::string& id, int attempt) {
      auto& iso = self->state.isolation;
      if (!iso)
        return;
      if (iso->cleanup(id)) {
        if (!self->state.settling) {
          self->state.settling = true;
          self->send(self, settle_atom::value);
        }
        return;
      }
      iso->kill(id);
      if (attempt < 500) // 10 s for the kernel to finish killing
        self->delayed_send(self, std::chrono::milliseconds(20),
                           cleanup_atom::value, id, attempt + 1);
      else
        self->state.log->warn("container_id={} still has processes after "
                              "10 s of SIGKILL; giving up on its cleanup",
                              id);
    },
    [self](settle_atom) {
      auto& st = self->state;
      st.settling = st.isolation && !st.isolation->settle();
      if (st.settling)
        self->delayed_send(self, settle_interval, settle_atom::value);
    },
    [self](state_atom, const std::string& id) -> v1::ContainerStatus {
      auto& st = self->state;
      v1::ContainerStatus status;
      auto i = st.containers.find(id);
      if (st.isolation && (i == st.containers.end() || !i->second.session))
        status = st.isolation->status(id);
      status.mutable_container_id()->set_value(id);
      if (i != st.containers.end())
        status.set_executor_pid(i->second.pid);
      return status;
    },
    [self](metrics_atom,
           const std::string& id) -> caf::result<container_usage> {
      auto& st = self->state;
      auto i = st.containers.find(id);
      if (i == st.containers.end() || i->second.ended)
        return make_error(errc::not_found,
                          fmt::format("no running container '{}'", id));
      if (st.isolation && !i->second.session)
        if (auto u = st.isolation->usage(id))
          return *u;
      // No cgroups to ask: what /proc shows of its processes.
      return proc_usage(static_cast<pid_t>(i->second.pid));
    },
    [self](volume_atom, const std::string& dir, bool exists) {
      std::error_code ec;
      if (exists)
        fs::create_directories(dir, ec);
      else
        fs::remove_all(dir, ec);
      if (ec)
        self->state.log->error("persistent volume '{}': {}", dir,
                               ec.message());
    },
    [self](exited_atom, uint32_t pid, int wait_status) {
      auto i = self->state.by_pid.find(pid);
      if (i == self->state.by_pid.end())
        return;
      auto id = i->second;
      auto& c = self->state.containers[id];
      auto t = read_termination(c, wait_status >= 0
                                     ? std::optional<int>{wait_status}
                                     : std::nullopt);
      self->state.log->debug("container ended container_id={} status={}", id,
                             t.status);
      finish(self, id, std::move(t));
    },
    [self](recover_atom, const std::vector<known_container>& known) {
      std::vector<std::string> alive;
      auto& st = self->state;
      for (const auto& k : known) {
        auto& c = st.containers[k.container_id];
        c.pid = k.pid;
        c.sandbox = k.sandbox;
        c.status_file = meta_dir(k.sandbox, k.container_id) + "/status";
        bool ours = k.pid > 0
                    && posix::runs_program(static_cast<pid_t>(k.pid),
                                           st.cfg.helper);
        if (ours && !st.watcher->watch(static_cast<pid_t>(k.pid))) {
          st.by_pid[k.pid] = k.container_id;
          alive.push_back(k.container_id);
        } else {
          c.ended = read_termination(c, std::nullopt);
          st.ended.push_back(k.container_id);
        }
      }
      if (st.isolation)
        for (const auto& orphan : st.isolation->recover(alive)) {
          st.log->info("destroying orphan container_id={}", orphan);
          st.isolation->kill(orphan);
          self->send(self, cleanup_atom::value, orphan, 0);
        }
      return alive;
    },
  };
}

} // namespace

container_io::~container_io() {
  close_in();
  for (int fd : {out_, err_})
    if (fd >= 0)
      ::close(fd);
}

void container_io::close_in() noexcept {
  if (in_ >= 0)
    ::close(in_);
  in_ = -1;
}

bool container_io::resize(uint16_t rows, uint16_t columns) noexcept {
  if (!tty_ || out_ < 0) {
    errno = ENOTTY;
    return false;
  }
  winsize size{};
  size.ws_row = rows;
  size.ws_col = columns;
  return ::ioctl(out_, TIOCSWINSZ, &size) == 0;
}

containerizer_actor spawn_posix_containerizer(caf::actor_system& sys,
                                              posix_containerizer_config cfg) {
  return spawn_containerizer(sys, std::move(cfg), nullptr);
}

containerizer_actor
spawn_containerizer(caf::actor_system& sys, posix_containerizer_config cfg,
                    std::shared_ptr<container_isolation> isolation) {
  // Detached: it spawns processes and writes small files, which may block.
  return caf::actor_cast<containerizer_actor>(
    sys.spawn<caf::detached>(posix_behavior, std::move(cfg),
                             std::move(isolation)));
}

} // namespace dcos
