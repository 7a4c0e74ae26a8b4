#include "agent_http.hpp"

#include "attach_input.hpp"
#include "container_names.hpp"
#include "session_pump.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/api_encoding.hpp"
#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"
#include "dcos/version.hpp"

namespace fs = std::filesystem;

namespace dcos::kernel {

namespace {

constexpr auto agent_timeout = std::chrono::seconds(30);
// WAIT_NESTED_CONTAINER answers when the session ends, however late (Mesos
// long-polls without a limit): a year is as good as forever here.
constexpr auto wait_timeout = std::chrono::hours(24 * 365);
constexpr int64_t max_read = 8 * 1024 * 1024;
constexpr std::string_view recordio_media_type = "application/recordio";

// Resolves `path` and checks that it lies inside `root`.
caf::expected<fs::path> confined(const std::string& root,
                                 const std::string& path) {
  if (path.empty())
    return make_error(errc::invalid_argument, "path: missing");
  std::error_code ec;
  auto real = fs::canonical(path, ec);
  if (ec)
    return make_error(errc::not_found, fmt::format("path: '{}' does not "
                                                   "exist",
                                                   path));
  auto base = fs::canonical(root, ec);
  auto rel = real.lexically_relative(base);
  if (ec || rel.empty() || rel.native().rfind("..", 0) == 0)
    return make_error(errc::invalid_argument,
                      fmt::format("path: '{}' is outside the agent's work "
                                  "directory",
                                  path));
  return real;
}

// `ls -l`'s mode column for a st_mode.
std::string mode_string(uint32_t mode) {
  std::string s = S_ISDIR(mode) ? "d" : "-";
  const char* letters = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    s += (mode & (1u << (8 - i))) != 0 ? letters[i] : '-';
  return s;
}

// The entries of the directory `path` (or the file itself), as Mesos'
// FileInfo.
caf::expected<std::vector<v1::FileInfo>>
list_files(const std::string& root, const std::string& path) {
  auto dir = confined(root, path);
  if (!dir)
    return dir.error();
  auto info_of = [](const fs::path& p) -> std::optional<v1::FileInfo> {
    struct stat st{};
    if (::lstat(p.c_str(), &st) != 0)
      return std::nullopt;
    v1::FileInfo info;
    info.set_path(p.string());
    info.set_nlink(static_cast<int32_t>(st.st_nlink));
    info.set_size(static_cast<uint64_t>(st.st_size));
    info.mutable_mtime()->set_nanoseconds(static_cast<int64_t>(st.st_mtime)
                                          * 1'000'000'000);
    info.set_mode(st.st_mode);
    info.set_uid(std::to_string(st.st_uid));
    info.set_gid(std::to_string(st.st_gid));
    return info;
  };
  std::vector<v1::FileInfo> out;
  std::error_code ec;
  if (!fs::is_directory(*dir, ec)) {
    if (auto info = info_of(*dir))
      out.push_back(std::move(*info));
    return out;
  }
  for (const auto& entry : fs::directory_iterator(*dir, ec))
    if (auto info = info_of(entry.path()))
      out.push_back(std::move(*info));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.path() < b.path();
  });
  return out;
}

struct file_chunk {
  int64_t size = 0;   // of the whole file
  int64_t offset = 0; // where `data` starts
  std::string data;
};

// Up to `length` bytes (at most max_read) of the file `path` from `offset`
// (nothing past its end).
caf::expected<file_chunk> read_file(const std::string& root,
                                    const std::string& path, int64_t offset,
                                    int64_t length) {
  auto file = confined(root, path);
  if (!file)
    return file.error();
  std::error_code ec;
  if (fs::is_directory(*file, ec))
    return make_error(errc::invalid_argument,
                      fmt::format("path: '{}' is a directory", path));
  file_chunk out;
  out.size = static_cast<int64_t>(fs::file_size(*file, ec));
  if (ec)
    return make_error(errc::invalid_argument,
                      fmt::format("path: '{}' is not a regular file", path));
  out.offset = std::min(offset, out.size);
  auto n = std::max<int64_t>(0, std::min({length, max_read,
                                          out.size - out.offset}));
  out.data.resize(static_cast<size_t>(n));
  std::ifstream in{*file, std::ios::binary};
  in.seekg(out.offset);
  in.read(out.data.data(), static_cast<std::streamsize>(out.data.size()));
  out.data.resize(static_cast<size_t>(in.gcount()));
  return out;
}

const std::string& query(const http_request& req, const std::string& key) {
  static const std::string none;
  auto i = req.query.find(key);
  return i == req.query.end() ? none : i->second;
}

// Mesos' /files/browse.
http_response browse(const std::string& root, const http_request& req) {
  auto files = list_files(root, query(req, "path"));
  if (!files)
    return error_response(files.error());
  json_writer w;
  w.begin_array();
  for (const auto& f : *files) {
    w.begin_object();
    w.field("path", f.path());
    w.field("nlink", static_cast<int64_t>(f.nlink()));
    w.field("size", static_cast<int64_t>(f.size()));
    w.field("mtime", f.mtime().nanoseconds() / 1'000'000'000);
    w.field("mode", mode_string(f.mode()));
    w.field("uid", f.uid());
    w.field("gid", f.gid());
    w.end_object();
  }
  w.end_array();
  http_response r;
  r.body = w.take();
  return r;
}

// Mesos' /files/read: offset -1 asks for the size only.
http_response read(const std::string& root, const http_request& req) {
  int64_t offset = 0;
  int64_t length = max_read;
  try {
    if (req.query.count("offset"))
      offset = std::stoll(req.query.at("offset"));
    if (req.query.count("length"))
      length = std::stoll(req.query.at("length"));
  } catch (...) {
    return json_error(400, "offset and length must be integers");
  }
  if (length < 0 || offset < -1)
    return json_error(400, "offset must be >= -1 and length >= 0");
  auto chunk = read_file(root, query(req, "path"), std::max<int64_t>(offset, 0),
                         offset == -1 ? 0 : length);
  if (!chunk)
    return error_response(chunk.error());
  json_writer w;
  w.begin_object();
  if (offset == -1)
    w.field("data", "").field("offset", chunk->size);
  else
    w.field("data", chunk->data).field("offset", chunk->offset);
  w.end_object();
  http_response r;
  r.body = w.take();
  return r;
}

http_response encoded(const v1::agent::Response& response, bool protobuf) {
  http_response r;
  r.content_type = protobuf ? protobuf_media_type : json_media_type;
  r.body = encode_answer(response, protobuf);
  return r;
}

// Whether a call that answers with a RecordIO stream of ProcessIO records
// (Accept: application/recordio) wants them in protobuf (Message-Accept);
// nothing once `respond` has been given the refusal.
std::optional<bool> output_encoding(const http_request& req,
                                    std::string_view call,
                                    const http_responder& respond) {
  if (!req.accepts(recordio_media_type)) {
    respond(json_error(406, fmt::format("Accept: {} answers with "
                                        "application/recordio",
                                        call)));
    return std::nullopt;
  }
  // Message-Accept chooses the records' encoding, as Accept does a call's.
  http_request records;
  if (auto accept = req.header("message-accept"); !accept.empty())
    records.headers["accept"] = accept;
  auto protobuf = answer_in_protobuf(records);
  if (!protobuf)
    respond(json_error(406, "Message-Accept: admits neither "
                            "application/json nor application/x-protobuf"));
  return protobuf;
}

http_response recordio_stream(bool protobuf) {
  http_response r;
  r.content_type = std::string{recordio_media_type};
  r.headers.emplace_back("Message-Content-Type",
                         protobuf ? protobuf_media_type : json_media_type);
  return r;
}

// LAUNCH_NESTED_CONTAINER_SESSION: 200 and a RecordIO stream of the
// session's output once it runs (Content-Type application/recordio, its
// records JSON or protobuf as Message-Accept asks). The session is ended if
// the client leaves before it does. Its stdin stays open for
// ATTACH_CONTAINER_INPUT.
void launch_session(caf::actor_system& sys, const agent_edge_actor& agent,
                    const std::shared_ptr<session_pump>& pump,
                    const http_request& req,
                    v1::agent::Call call, const http_responder& respond) {
  using v1::agent::Call;
  auto protobuf = output_encoding(req, "LAUNCH_NESTED_CONTAINER_SESSION",
                                  respond);
  if (!protobuf)
    return;
  // The client's leaving ends the session.
  Call kill;
  kill.set_type(Call::KILL_NESTED_CONTAINER);
  *kill.mutable_kill_nested_container()->mutable_container_id()
    = call.launch_nested_container_session().container_id();
  ask(
    sys, agent, agent_timeout,
    [pump, agent, kill, respond, protobuf = *protobuf](container_io_ptr io) {
      // Known to ATTACH_CONTAINER_INPUT before the client learns that the
      // session runs.
      auto key = pump->add(flat_id(kill.kill_nested_container().container_id()),
                           std::move(io));
      auto r = recordio_stream(protobuf);
      r.stream = [pump, agent, kill, key, protobuf](
                   std::shared_ptr<http_stream> out) {
        pump->serve(key, std::move(out), protobuf,
                    [agent, kill] { caf::anon_send(agent, kill); });
      };
      respond(std::move(r));
    },
    [respond, agent, kill](const caf::error& err) {
      // Had it started after all (an answer too late), it has no client.
      caf::anon_send(agent, kill);
      respond(error_response(err));
    },
    session_atom::value, std::move(call));
}

// ATTACH_CONTAINER_OUTPUT: 200 and a RecordIO stream of a debug session's
// output from now on, as its launching client gets it.
void attach_output(const std::shared_ptr<session_pump>& pump,
                   const http_request& req, const v1::agent::Call& call,
                   const http_responder& respond) {
  auto protobuf = output_encoding(req, "ATTACH_CONTAINER_OUTPUT", respond);
  if (!protobuf)
    return;
  const auto& container = call.attach_container_output().container_id();
  auto id = flat_id(container);
  if (container.value().empty()) {
    respond(json_error(400, "attach_container_output.container_id: "
                            "missing"));
    return;
  }
  if (auto err = pump->find(id)) {
    respond(error_response(err));
    return;
  }
  auto r = recordio_stream(*protobuf);
  r.stream = [pump, id, protobuf = *protobuf](std::shared_ptr<http_stream> out) {
    pump->attach_output(id, std::move(out), protobuf);
  };
  respond(std::move(r));
}

// POST /api/v1: Mesos' v1 agent operator API.
void agent_api(caf::actor_system& sys, const agent_edge_actor& agent,
               const std::shared_ptr<session_pump>& pump,
               const std::string& root,
               const std::vector<std::pair<std::string, std::string>>& flags,
               const http_request& req, http_responder respond) {
  using v1::agent::Call;
  using v1::agent::Response;
  if (req.body_stream) { // Content-Type application/recordio
    attach_container_input(pump, req, std::move(respond));
    return;
  }
  Call call;
  if (auto refusal = parse_call(req, &call)) {
    respond(std::move(*refusal));
    return;
  }
  if (call.type() == Call::LAUNCH_NESTED_CONTAINER_SESSION) {
    launch_session(sys, agent, pump, req, std::move(call), respond);
    return;
  }
  if (call.type() == Call::ATTACH_CONTAINER_OUTPUT) {
    attach_output(pump, req, call, respond);
    return;
  }
  if (call.type() == Call::ATTACH_CONTAINER_INPUT) {
    respond(json_error(415, "Content-Type: ATTACH_CONTAINER_INPUT streams "
                            "its records as application/recordio"));
    return;
  }
  auto answer_protobuf = answer_in_protobuf(req);
  if (!answer_protobuf) {
    respond(not_acceptable());
    return;
  }
  bool protobuf = *answer_protobuf;
  Response out;
  switch (call.type()) {
    case Call::UNKNOWN:
      respond(json_error(400, "type: missing or unknown call type"));
      return;
    case Call::GET_HEALTH:
      out.set_type(Response::GET_HEALTH);
      out.mutable_get_health()->set_healthy(true);
      respond(encoded(out, protobuf));
      return;
    case Call::GET_FLAGS:
      out.set_type(Response::GET_FLAGS);
      for (const auto& [name, value] : flags) {
        auto& flag = *out.mutable_get_flags()->add_flags();
        flag.set_name(name);
        flag.set_value(value);
      }
      respond(encoded(out, protobuf));
      return;
    case Call::GET_VERSION: {
      out.set_type(Response::GET_VERSION);
      auto& v = *out.mutable_get_version()->mutable_version_info();
      v.set_version(dcos::version);
      respond(encoded(out, protobuf));
      return;
    }
    case Call::LIST_FILES: {
      auto files = list_files(root, call.list_files().path());
      if (!files) {
        respond(error_response(files.error()));
        return;
      }
      out.set_type(Response::LIST_FILES);
      for (auto& f : *files)
        *out.mutable_list_files()->add_file_infos() = std::move(f);
      respond(encoded(out, protobuf));
      return;
    }
    case Call::READ_FILE: {
      const auto& rf = call.read_file();
      auto offset = rf.offset() > static_cast<uint64_t>(INT64_MAX)
                      ? INT64_MAX
                      : static_cast<int64_t>(rf.offset());
      auto length = !rf.has_length() || rf.length() > uint64_t{max_read}
                      ? max_read
                      : static_cast<int64_t>(rf.length());
      auto chunk = read_file(root, rf.path(), offset, length);
      if (!chunk) {
        respond(error_response(chunk.error()));
        return;
      }
      out.set_type(Response::READ_FILE);
      out.mutable_read_file()->set_size(static_cast<uint64_t>(chunk->size));
      out.mutable_read_file()->set_data(std::move(chunk->data));
      respond(encoded(out, protobuf));
      return;
    }
    case Call::GET_METRICS:
      ask(
        sys, agent, agent_timeout,
        [respond, protobuf](const v1::master::Response& r) {
          Response out;
          out.set_type(Response::GET_METRICS);
          *out.mutable_get_metrics()->mutable_metrics()
            = r.get_metrics().metrics();
          respond(encoded(out, protobuf));
        },
        [respond](const caf::error& err) { respond(error_response(err)); },
        metrics_atom::value);
      return;
    default:
      // About the agent's frameworks, executors, tasks, containers, itself.
      ask(
        sys, agent,
        call.type() == Call::WAIT_NESTED_CONTAINER
          ? caf::timespan{wait_timeout}
          : caf::timespan{agent_timeout},
        [respond, protobuf](const Response& r) {
          if (r.type() == Response::UNKNOWN) { // applied; Mesos' empty 200
            http_response ok;
            ok.content_type = "text/plain";
            respond(std::move(ok));
            return;
          }
          respond(encoded(r, protobuf));
        },
        [respond](const caf::error& err) { respond(error_response(err)); },
        std::move(call));
      return;
  }
}

} // namespace

http_router
agent_routes(caf::actor_system& sys, agent_edge_actor agent,
             const std::string& work_dir,
             std::vector<std::pair<std::string, std::string>> flags,
             std::shared_ptr<session_pump> pump) {
  http_router routes;
  // The agent's answers that are JSON already (/state, /monitor/...).
  auto json_from_agent = [&sys, agent](auto atom) {
    return [&sys, agent, atom](const http_request&, http_responder respond) {
      ask(
        sys, agent, agent_timeout,
        [respond](const std::string& json) {
          http_response r;
          r.body = json;
          respond(std::move(r));
        },
        [respond](const caf::error& err) { respond(error_response(err)); },
        atom);
    };
  };
  for (const char* path : {"/state", "/state.json", "/slave(1)/state"})
    routes.get(path, json_from_agent(state_atom::value));
  for (const char* path : {"/monitor/statistics", "/monitor/statistics.json"})
    routes.get(path, json_from_agent(monitor_atom::value));
  route_metrics(routes, [&sys, agent](auto done) {
    ask(
      sys, agent, agent_timeout,
      [done](const v1::master::Response& r) { done(r.get_metrics()); },
      [done](const caf::error& err) { done(err); }, metrics_atom::value);
  });
  auto files = [work_dir](http_response (*serve)(const std::string&,
                                                 const http_request&)) {
    return [work_dir, serve](const http_request& req, http_responder respond) {
      respond(serve(work_dir, req));
    };
  };
  for (const char* path : {"/files/browse", "/files/browse.json"})
    routes.get(path, files(browse));
  for (const char* path : {"/files/read", "/files/read.json"})
    routes.get(path, files(read));
  routes.post("/api/v1", [&sys, pump, agent, work_dir,
                          flags = std::move(flags)](const http_request& req,
                                                    http_responder respond) {
    agent_api(sys, agent, pump, work_dir, flags, req, std::move(respond));
  });
  return routes;
}

} // namespace dcos::kernel
