// dcos task exec [--interactive] [--tty] TASK_ID CMD [ARGS...]: runs a command
// inside a running task's container and prints its output, as DC/OS'
// `dcos task exec`: a debug session through the task's agent
// (LAUNCH_NESTED_CONTAINER_SESSION, its output streamed back as RecordIO
// ProcessIO records), then its exit status (WAIT_NESTED_CONTAINER), which
// becomes ours. The session's stdin is ours with --interactive, else empty
// (ATTACH_CONTAINER_INPUT either way: the agent keeps a session's stdin open
// until a client closes it). With --tty the session's streams are a
// terminal of its own, sized as ours and resized with it; ours is raw
// meanwhile, so that every key (Ctrl-C too) goes to the session. Else
// Ctrl-C ends the session: the agent destroys a session whose client has
// gone.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/http_upload.hpp"
#include "dcos/json.hpp"
#include "dcos/recordio.hpp"
#include "dcos/task_state.hpp"

namespace dcos::cli {

namespace {

std::string session_id() {
  std::random_device rd;
  return fmt::format("exec-{:016x}", (uint64_t{rd()} << 32) | rd());
}

// How often an idle input stream says it is alive, as DC/OS' CLI does.
constexpr int heartbeat_ms = 30'000;

// Our terminal's size, if stdin or stdout is a terminal.
std::optional<v1::ContainerInfo::TTYInfo> terminal_size() {
  winsize size{};
  if ((::ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0)
      && (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0))
    return std::nullopt;
  v1::ContainerInfo::TTYInfo info;
  info.mutable_window_size()->set_rows(size.ws_row);
  info.mutable_window_size()->set_columns(size.ws_col);
  return info;
}

// Our terminal's settings before raw mode, for a signal that ends us
// meanwhile.
termios cooked{};
std::atomic<bool> raw_now{false};
constexpr int ending_signals[] = {SIGTERM, SIGHUP, SIGQUIT};

extern "C" void restore_and_die(int sig) {
  if (raw_now.load())
    ::tcsetattr(STDIN_FILENO, TCSANOW, &cooked);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Our terminal in raw mode for as long as it lives (every key goes to the
// session's terminal, which echoes and edits lines itself), restored also
// if a signal ends us. One at a time.
class raw_terminal {
public:
  raw_terminal() {
    if (::tcgetattr(STDIN_FILENO, &cooked) != 0)
      return;
    struct sigaction sa{};
    sa.sa_handler = restore_and_die;
    for (size_t i = 0; i < std::size(ending_signals); ++i)
      ::sigaction(ending_signals[i], &sa, &before_[i]);
    installed_ = true;
    termios raw = cooked;
    ::cfmakeraw(&raw);
    // TCSANOW: this runs on the HTTP client's thread, which must not wait
    // for our output to drain.
    raw_now = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~raw_terminal() {
    if (raw_now.exchange(false))
      ::tcsetattr(STDIN_FILENO, TCSANOW, &cooked);
    for (size_t i = 0; installed_ && i < std::size(ending_signals); ++i)
      ::sigaction(ending_signals[i], &before_[i], nullptr);
  }
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;

private:
  struct sigaction before_[std::size(ending_signals)] {};
  bool installed_ = false;
};

// SIGWINCH's self-pipe: our terminal has a new size. Made once and never
// closed, so that a handler running on any thread never writes to a
// descriptor reused meanwhile.
std::atomic<int> resized_in{-1};

extern "C" void on_resize(int) {
  int saved = errno;
  if (int fd = resized_in.load(); fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, "w", 1);
  }
  errno = saved;
}

// The read end of the self-pipe, with SIGWINCH caught; -1 if it cannot be.
int watch_resizes() {
  static const int out = [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
      return -1;
    resized_in = fds[1];
    struct sigaction sa{};
    sa.sa_handler = on_resize;
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &sa, nullptr);
    return fds[0];
  }();
  return out;
}

// One ATTACH_CONTAINER_INPUT record: the session's id, a piece of stdin
// (empty: EOF), a heartbeat, or a terminal size.
std::string input_record(const v1::ContainerID* id, const std::string* data,
                         bool heartbeat = false,
                         const v1::ContainerInfo::TTYInfo* size = nullptr) {
  using v1::agent::Call;
  using v1::agent::ProcessIO;
  Call call;
  call.set_type(Call::ATTACH_CONTAINER_INPUT);
  auto& attach = *call.mutable_attach_container_input();
  if (id != nullptr) {
    attach.set_type(Call::AttachContainerInput::CONTAINER_ID);
    *attach.mutable_container_id() = *id;
  } else if (size != nullptr) {
    attach.set_type(Call::AttachContainerInput::PROCESS_IO);
    auto& io = *attach.mutable_process_io();
    io.set_type(ProcessIO::CONTROL);
    io.mutable_control()->set_type(ProcessIO::Control::TTY_INFO);
    *io.mutable_control()->mutable_tty_info() = *size;
  } else if (heartbeat) {
    attach.set_type(Call::AttachContainerInput::PROCESS_IO);
    auto& io = *attach.mutable_process_io();
    io.set_type(ProcessIO::CONTROL);
    io.mutable_control()->set_type(ProcessIO::Control::HEARTBEAT);
    io.mutable_control()->mutable_heartbeat()->mutable_interval()
      ->set_nanoseconds(int64_t{heartbeat_ms} * 1'000'000);
  } else {
    attach.set_type(Call::AttachContainerInput::PROCESS_IO);
    auto& io = *attach.mutable_process_io();
    io.set_type(ProcessIO::DATA);
    io.mutable_data()->set_type(ProcessIO::Data::STDIN);
    io.mutable_data()->set_data(*data); // empty: EOF
  }
  return recordio::encode(to_json(call));
}

// Feeds the session's stdin on a thread of its own: our stdin with
// --interactive (until it ends, or stop()), else just EOF; with a terminal,
// our terminal's size whenever it changes (SIGWINCH).
class input_feeder {
public:
  input_feeder(std::string agent, v1::ContainerID id, bool interactive,
               bool tty)
    : agent_(std::move(agent)), id_(std::move(id)), interactive_(interactive),
      tty_(tty) {}

  ~input_feeder() { stop(); }

  /// Attaches; call once the session runs. With a terminal and
  /// --interactive, ours is raw from now until stop().
  void start() {
    if (::pipe2(wake_, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "dcos task exec: pipe: %s\n", std::strerror(errno));
      return;
    }
    if (tty_) {
      resized_ = watch_resizes();
      if (interactive_ && ::isatty(STDIN_FILENO))
        raw_.emplace();
    }
    thread_ = std::thread([this] { feed(); });
  }

  /// Ends the input (the session has ended) and waits for the thread.
  void stop() {
    if (!thread_.joinable())
      return;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
      if (upload_ != nullptr)
        upload_->cancel();
    }
    [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
    raw_.reset();
  }

private:
  void feed() {
    auto req = api_request(agent_, 5051, v1::agent::Call{});
    if (!req)
      return warn(describe_reason(req.error()));
    req->content_type = "application/recordio";
    req->headers = {{"Message-Content-Type", "application/json"},
                    {"Accept", "application/json"}};
    req->body = input_record(&id_, nullptr);
    // Our size now: it may have changed since the launch.
    if (auto size = terminal_size(); tty_ && size)
      req->body += input_record(nullptr, nullptr, false, &*size);
    auto opened = http_upload::open(*req);
    if (!opened)
      return warn(describe_reason(opened.error()));
    {
      std::lock_guard<std::mutex> guard{mtx_};
      upload_ = opened->get();
      if (stopping_)
        upload_->cancel();
    }
    auto& up = **opened;
    bool reading = interactive_;
    if (!reading)
      up.write(input_record(nullptr, &empty_)); // EOF at once
    // At a terminal, EOF leaves it open: sizes may follow until the end.
    while (reading || tty_) {
      // Our stdin, the end, a new size (poll skips a descriptor of -1).
      pollfd fds[3] = {{reading ? STDIN_FILENO : -1, POLLIN, 0},
                       {wake_[0], POLLIN, 0},
                       {resized_, POLLIN, 0}};
      int n = ::poll(fds, 3, heartbeat_ms);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || fds[1].revents != 0)
        break; // the session has ended
      std::string piece;
      if (n == 0) {
        if (up.write(input_record(nullptr, nullptr, true)))
          break;
        continue;
      }
      if (fds[2].revents != 0) {
        char drained[64];
        while (::read(resized_, drained, sizeof(drained)) > 0) {
        }
        if (auto size = terminal_size();
            size && up.write(input_record(nullptr, nullptr, false, &*size)))
          break;
        if (fds[0].revents == 0)
          continue;
      }
      piece.resize(4096);
      auto got = ::read(STDIN_FILENO, piece.data(), piece.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      piece.resize(got > 0 ? static_cast<size_t>(got) : 0);
      reading = got > 0;
      if (up.write(input_record(nullptr, &piece)))
        break; // the agent stopped reading: finish() has its answer
    }
    auto answer = up.finish(std::chrono::seconds(10));
    std::lock_guard<std::mutex> guard{mtx_};
    upload_ = nullptr;
    // A session that ended before we attached is no more (404): its output
    // tells the rest.
    if (answer && answer->status != 200 && answer->status != 404)
      warn(fmt::format("the agent refused the input ({}): {}",
                       answer->status, answer->body));
  }

  static void warn(const std::string& what) {
    std::fprintf(stderr, "dcos task exec: input: %s\n", what.c_str());
  }

  const std::string agent_;
  const v1::ContainerID id_;
  const bool interactive_;
  const bool tty_;
  const std::string empty_;
  int wake_[2] = {-1, -1};
  int resized_ = -1; // SIGWINCH's self-pipe, with a terminal
  std::optional<raw_terminal> raw_;
  std::thread thread_;
  std::mutex mtx_;
  bool stopping_ = false;
  http_upload* upload_ = nullptr; // while the thread has one
};

// Streams the session's output to our stdout and stderr until it ends;
// starts `input` once the session runs.
caf::error stream_output(const std::string& agent,
                         const v1::agent::Call& launch, input_feeder& input) {
  auto req = api_request(agent, 5051, launch);
  if (!req)
    return req.error();
  req->headers = {{"Accept", "application/recordio"},
                  {"Message-Accept", "application/json"}};
  struct reading {
    unsigned status = 0;
    std::string refusal; // the body of a non-200 answer
    recordio::decoder records;
    caf::error error;
  };
  auto r = std::make_shared<reading>();
  std::promise<caf::error> ended;
  http_client client;
  http_stream_reader reader;
  reader.head = [r, &input](const http_reply& head) {
    r->status = head.status;
    if (head.status == 200)
      input.start();
  };
  reader.data = [r](std::string_view data) {
    if (r->status != 200) {
      r->refusal.append(data);
      return true;
    }
    auto records = r->records.decode(data);
    if (!records) {
      r->error = records.error();
      return false;
    }
    for (const auto& record : *records) {
      v1::agent::ProcessIO io;
      if (auto err = from_json(record, &io, "the session's output")) {
        r->error = err;
        return false;
      }
      if (io.type() != v1::agent::ProcessIO::DATA)
        continue;
      auto* to = io.data().type() == v1::agent::ProcessIO::Data::STDERR
                   ? stderr
                   : stdout;
      std::fwrite(io.data().data().data(), 1, io.data().data().size(), to);
      std::fflush(to);
    }
    return true;
  };
  reader.end = [r, &ended](const caf::error& err) {
    if (!r->error && err)
      r->error = err;
    if (!r->error && r->status != 200)
      r->error = make_error(r->status == 404 ? errc::not_found
                                             : errc::invalid_argument,
                            fmt::format("the agent answered {}: {}",
                                        r->status, r->refusal));
    ended.set_value(r->error);
  };
  auto done = ended.get_future();
  client.stream(std::move(*req), std::move(reader));
  return done.get();
}

// The session's wait(2) status, once it has ended.
caf::expected<int> wait_for(const std::string& agent,
                            const v1::ContainerID& id) {
  v1::agent::Call call;
  call.set_type(v1::agent::Call::WAIT_NESTED_CONTAINER);
  *call.mutable_wait_nested_container()->mutable_container_id() = id;
  v1::agent::Response response;
  // Its output has ended, and so has it: the answer comes at once.
  if (auto err = api_call(agent, 5051, call, &response,
                          std::chrono::minutes(1)))
    return err;
  return response.wait_nested_container().exit_status();
}

} // namespace

int task_exec(int argc, char** argv) {
  // Flags come before TASK_ID; everything after it is the command, flags
  // of its own included (`dcos task exec web ls --all`).
  // -i and -t are DC/OS' short forms of --interactive and --tty, also
  // together (-it, -ti).
  static char interactive_flag[] = "--interactive";
  static char tty_flag[] = "--tty";
  std::vector<char*> args{argv[0]};
  int first = 1;
  for (; first < argc; ++first) {
    std::string_view arg{argv[first]};
    if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-'
        && arg.find_first_not_of("it", 1) == std::string_view::npos) {
      for (char c : arg.substr(1))
        args.push_back(c == 'i' ? interactive_flag : tty_flag);
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--")
      break;
    args.push_back(argv[first]);
  }
  int flag_count = static_cast<int>(args.size());
  for (int i = first; i < argc; ++i)
    args.push_back(argv[i]);
  int positional = flag_count;
  argc = static_cast<int>(args.size());
  args.push_back(nullptr);
  argv = args.data();
  if (positional < argc && std::string_view{argv[positional]} == "--")
    ++positional;
  std::string master = "127.0.0.1:5050";
  bool interactive = false;
  bool tty = false;
  flags f{"dcos task exec [--master=HOST:PORT] [--interactive] [--tty] "
          "TASK_ID CMD [ARGS...]",
          "Runs CMD inside TASK_ID's container (its namespaces, cgroups and "
          "sandbox) and prints its output; exits with CMD's status."};
  f.add(&master, "master", "HOST:PORT of the master");
  f.add(&interactive, "interactive",
        "send our stdin to CMD's stdin (without it, CMD reads an empty one)");
  f.add(&tty, "tty",
        "give CMD a terminal (sized as ours; with --interactive and a "
        "terminal of ours, every key goes to it, Ctrl-C too)");
  parse_or_exit(f, flag_count, argv);
  if (argc - positional < 2)
    return usage_error("task exec: give TASK_ID and a command to run");
  std::string task_id = argv[positional];
  auto fail = [](const caf::error& err) {
    std::fprintf(stderr, "dcos task exec: %s\n",
                 describe_reason(err).c_str());
    return 1;
  };
  auto located = locate_task(master, task_id);
  if (!located)
    return fail(located.error());
  const auto& statuses = located->task.statuses();
  const v1::ContainerID* parent = nullptr;
  for (const auto& s : statuses)
    if (s.container_status().container_id().has_parent())
      parent = &s.container_status().container_id();
  if (parent == nullptr || is_terminal(located->task.state()))
    return fail(make_error(errc::not_found,
                           fmt::format("task '{}' has no running container "
                                       "to join (state {})",
                                       task_id,
                                       v1::TaskState_Name(
                                         located->task.state()))));
  v1::agent::Call launch;
  launch.set_type(v1::agent::Call::LAUNCH_NESTED_CONTAINER_SESSION);
  auto& session = *launch.mutable_launch_nested_container_session();
  auto& id = *session.mutable_container_id();
  id.set_value(session_id());
  *id.mutable_parent() = *parent;
  auto& command = *session.mutable_command();
  command.set_shell(false);
  command.set_value(argv[positional + 1]);
  for (int i = positional + 1; i < argc; ++i)
    command.add_arguments(argv[i]);
  if (tty) {
    session.mutable_container()->set_type(v1::ContainerInfo::MESOS);
    auto& info = *session.mutable_container()->mutable_tty_info();
    if (auto size = terminal_size())
      info = *size;
  }
  input_feeder input{located->agent, id, interactive, tty};
  auto streamed = stream_output(located->agent, launch, input);
  input.stop(); // our terminal as it was, before anything more is printed
  if (streamed)
    return fail(streamed);
  auto status = wait_for(located->agent, id);
  if (!status)
    return fail(status.error());
  if (WIFSIGNALED(*status))
    return 128 + WTERMSIG(*status);
  return WEXITSTATUS(*status);
}

} // namespace dcos::cli
