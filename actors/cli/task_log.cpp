// dcos task log TASK_ID: a task's stdout (or stderr) through its agent's
// /files/read, optionally following it as it grows.
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"
#include "dcos/task_state.hpp"

namespace dcos::cli {

namespace {

std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
        || c == '/')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// The task's sandbox, from its agent's /state.
caf::expected<std::string> sandbox_of(const std::string& agent,
                                      const std::string& framework_id,
                                      const std::string& task_id) {
  auto body = get(agent, "/state");
  if (!body)
    return body.error();
  google::protobuf::Struct state;
  if (auto err = from_json(*body, &state, "agent state"))
    return err;
  // A missing list reads as empty: an older or newer agent may lack some.
  auto list = [](const google::protobuf::Struct& object, const char* name)
    -> const google::protobuf::RepeatedPtrField<google::protobuf::Value>& {
    static const google::protobuf::RepeatedPtrField<google::protobuf::Value>
      none;
    auto i = object.fields().find(name);
    return i == object.fields().end() ? none : i->second.list_value().values();
  };
  auto text = [](const google::protobuf::Struct& object, const char* name) {
    auto i = object.fields().find(name);
    return i == object.fields().end() ? std::string{}
                                      : i->second.string_value();
  };
  for (const char* group : {"frameworks", "completed_frameworks"}) {
    for (const auto& fw : list(state, group)) {
      if (text(fw.struct_value(), "id") != framework_id)
        continue;
      for (const char* kind : {"executors", "completed_executors"})
        for (const auto& e : list(fw.struct_value(), kind))
          for (const char* tasks : {"tasks", "completed_tasks"})
            for (const auto& t : list(e.struct_value(), tasks))
              if (text(t.struct_value(), "id") == task_id)
                return text(t.struct_value(), "sandbox");
    }
  }
  return make_error(errc::not_found,
                    fmt::format("agent {} no longer has task '{}' (its "
                                "sandbox may have been removed)",
                                agent, task_id));
}

} // namespace

int task_log(int argc, char** argv) {
  std::string master = "127.0.0.1:5050";
  bool follow = false;
  bool stderr_file = false;
  flags f{"dcos task log TASK_ID [--follow] [--stderr] [--master=HOST:PORT]",
          "Prints a task's output."};
  f.add(&master, "master", "HOST:PORT of the master");
  f.add(&follow, "follow", "keep printing what the task writes");
  f.add(&stderr_file, "stderr", "print stderr instead of stdout");
  parse_or_exit(f, argc, argv);
  if (f.positional().size() != 1)
    return usage_error("task log: give exactly one TASK_ID");
  const auto& task_id = f.positional()[0];
  auto fail = [](const caf::error& err) {
    std::fprintf(stderr, "dcos task log: %s\n", describe_reason(err).c_str());
    return 1;
  };
  auto located = locate_task(master, task_id);
  if (!located)
    return fail(located.error());
  const auto& agent = located->agent;
  auto sandbox = sandbox_of(agent, located->task.framework_id().value(),
                            task_id);
  if (!sandbox)
    return fail(sandbox.error());
  auto path = *sandbox + (stderr_file ? "/stderr" : "/stdout");
  int64_t offset = 0;
  while (true) {
    auto body = get(agent, fmt::format("/files/read?path={}&offset={}",
                                       url_encode(path), offset));
    if (!body)
      return fail(body.error());
    google::protobuf::Struct chunk;
    if (auto err = from_json(*body, &chunk, "file chunk"))
      return fail(err);
    auto field = chunk.fields().find("data");
    if (field == chunk.fields().end())
      return fail(make_error(errc::parse_error,
                             "the agent's file chunk has no 'data'"));
    const auto& data = field->second.string_value();
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    offset += static_cast<int64_t>(data.size());
    // The agent answers in chunks: read on to the end, then stop (or wait
    // for more when following).
    if (data.empty() && !follow)
      return 0;
    if (data.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

} // namespace dcos::cli
