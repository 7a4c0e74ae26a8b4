// dcos task exec [--interactive] TASK_ID CMD [ARGS...]: runs a command
// inside a running task's container and prints its output, as DC/OS'
// `dcos task exec`: a debug session through the task's agent
// (LAUNCH_NESTED_CONTAINER_SESSION, its output streamed back as RecordIO
// ProcessIO records), then its exit status (WAIT_NESTED_CONTAINER), which
// becomes ours. The session's stdin is ours with --interactive, else empty
// (ATTACH_CONTAINER_INPUT either way: the agent keeps a session's stdin open
// until a client closes it). Ctrl-C ends the session: the agent destroys a
// session whose client has gone.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>

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

// One ATTACH_CONTAINER_INPUT record.
std::string input_record(const v1::ContainerID* id, const std::string* data,
                         bool heartbeat = false) {
  using v1::agent::Call;
  using v1::agent::ProcessIO;
  Call call;
  call.set_type(Call::ATTACH_CONTAINER_INPUT);
  auto& attach = *call.mutable_attach_container_input();
  if (id != nullptr) {
    attach.set_type(Call::AttachContainerInput::CONTAINER_ID);
    *attach.mutable_container_id() = *id;
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
// --interactive (until it ends, or stop()), else just EOF.
class input_feeder {
public:
  input_feeder(std::string agent, v1::ContainerID id, bool interactive)
    : agent_(std::move(agent)), id_(std::move(id)), interactive_(interactive) {}

  ~input_feeder() { stop(); }

  /// Attaches; call once the session runs.
  void start() {
    if (::pipe2(wake_, O_CLOEXEC) != 0) {
      std::fprintf(stderr, "dcos task exec: pipe: %s\n", std::strerror(errno));
      return;
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
    bool eof = !interactive_;
    while (!eof) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      int n = ::poll(fds, 2, heartbeat_ms);
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
      piece.resize(4096);
      auto got = ::read(STDIN_FILENO, piece.data(), piece.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      piece.resize(got > 0 ? static_cast<size_t>(got) : 0);
      eof = got <= 0;
      if (up.write(input_record(nullptr, &piece)))
        break; // the agent stopped reading: finish() has its answer
    }
    if (!interactive_) // else the loop sent it
      up.write(input_record(nullptr, &empty_));
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
  const std::string empty_;
  int wake_[2] = {-1, -1};
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
  // -i is DC/OS' short form of --interactive.
  static char interactive_flag[] = "--interactive";
  int first = 1;
  for (; first < argc; ++first) {
    std::string_view arg{argv[first]};
    if (arg == "-i")
      argv[first] = interactive_flag;
    else if (arg.rfind("--", 0) != 0 || arg == "--")
      break;
  }
  int positional = first;
  if (positional < argc && std::string_view{argv[positional]} == "--")
    ++positional;
  std::string master = "127.0.0.1:5050";
  bool interactive = false;
  flags f{"dcos task exec [--master=HOST:PORT] [--interactive] TASK_ID CMD "
          "[ARGS...]",
          "Runs CMD inside TASK_ID's container (its namespaces, cgroups and "
          "sandbox) and prints its output; exits with CMD's status."};
  f.add(&master, "master", "HOST:PORT of the master");
  f.add(&interactive, "interactive",
        "send our stdin to CMD's stdin (without it, CMD reads an empty one)");
  parse_or_exit(f, first, argv);
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
  input_feeder input{located->agent, id, interactive};
  auto streamed = stream_output(located->agent, launch, input);
  input.stop();
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
