// dcos task exec TASK_ID CMD [ARGS...]: runs a command inside a running
// task's container and prints its output, as DC/OS' `dcos task exec`: a
// debug session through the task's agent (LAUNCH_NESTED_CONTAINER_SESSION,
// its output streamed back as RecordIO ProcessIO records), then its exit
// status (WAIT_NESTED_CONTAINER), which becomes ours. Ctrl-C ends the
// session: the agent destroys a session whose client has gone.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <random>

#include <fmt/format.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"
#include "dcos/recordio.hpp"
#include "dcos/task_state.hpp"

namespace dcos::cli {

namespace {

std::string session_id() {
  std::random_device rd;
  return fmt::format("exec-{:016x}", (uint64_t{rd()} << 32) | rd());
}

// Streams the session's output to our stdout and stderr until it ends.
caf::error stream_output(const std::string& agent,
                         const v1::agent::Call& launch) {
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
  reader.head = [r](const http_reply& head) { r->status = head.status; };
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
  int first = 1;
  while (first < argc && std::string_view{argv[first]}.rfind("--", 0) == 0
         && std::string_view{argv[first]} != "--")
    ++first;
  int positional = first;
  if (positional < argc && std::string_view{argv[positional]} == "--")
    ++positional;
  std::string master = "127.0.0.1:5050";
  bool interactive = false;
  flags f{"dcos task exec [--master=HOST:PORT] TASK_ID CMD [ARGS...]",
          "Runs CMD inside TASK_ID's container (its namespaces, cgroups and "
          "sandbox) and prints its output; exits with CMD's status."};
  f.add(&master, "master", "HOST:PORT of the master");
  f.add(&interactive, "interactive",
        "attach our stdin to CMD's (not supported yet: CMD reads an empty "
        "stdin)");
  parse_or_exit(f, first, argv);
  if (interactive)
    return usage_error("task exec: --interactive is not supported yet "
                       "(stdin is not streamed to the session)");
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
  if (auto err = stream_output(located->agent, launch))
    return fail(err);
  auto status = wait_for(located->agent, id);
  if (!status)
    return fail(status.error());
  if (WIFSIGNALED(*status))
    return 128 + WTERMSIG(*status);
  return WEXITSTATUS(*status);
}

} // namespace dcos::cli
