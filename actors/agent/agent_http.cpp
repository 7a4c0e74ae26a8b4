#include "agent_http.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/metrics.hpp"

namespace fs = std::filesystem;

namespace dcos::kernel {

namespace {

constexpr auto agent_timeout = std::chrono::seconds(30);
constexpr int64_t max_read = 8 * 1024 * 1024;

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

std::string mode_string(fs::perms p, bool dir) {
  std::string s = dir ? "d" : "-";
  for (auto [bit, c] : {std::pair{fs::perms::owner_read, 'r'},
                        {fs::perms::owner_write, 'w'},
                        {fs::perms::owner_exec, 'x'},
                        {fs::perms::group_read, 'r'},
                        {fs::perms::group_write, 'w'},
                        {fs::perms::group_exec, 'x'},
                        {fs::perms::others_read, 'r'},
                        {fs::perms::others_write, 'w'},
                        {fs::perms::others_exec, 'x'}})
    s += (p & bit) != fs::perms::none ? c : '-';
  return s;
}

http_response browse(const std::string& root, const http_request& req) {
  auto dir = confined(root, req.query.count("path") ? req.query.at("path")
                                                    : std::string{});
  if (!dir)
    return error_response(dir.error());
  std::error_code ec;
  if (!fs::is_directory(*dir, ec))
    return json_error(400, "path: not a directory");
  json_writer w;
  w.begin_array();
  for (const auto& entry : fs::directory_iterator(*dir, ec)) {
    struct stat st{};
    if (::lstat(entry.path().c_str(), &st) != 0)
      continue;
    w.begin_object();
    w.field("path", entry.path().string());
    w.field("nlink", static_cast<int64_t>(st.st_nlink));
    w.field("size", static_cast<int64_t>(st.st_size));
    w.field("mtime", static_cast<int64_t>(st.st_mtime));
    w.field("mode", mode_string(entry.symlink_status().permissions(),
                                entry.is_directory()));
    w.field("uid", std::to_string(st.st_uid));
    w.field("gid", std::to_string(st.st_gid));
    w.end_object();
  }
  w.end_array();
  http_response r;
  r.body = w.take();
  return r;
}

// Mesos' /files/read: offset -1 asks for the size only.
http_response read(const std::string& root, const http_request& req) {
  auto file = confined(root, req.query.count("path") ? req.query.at("path")
                                                     : std::string{});
  if (!file)
    return error_response(file.error());
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
  std::error_code ec;
  auto size = static_cast<int64_t>(fs::file_size(*file, ec));
  if (ec)
    return json_error(400, "path: not a regular file");
  json_writer w;
  w.begin_object();
  if (offset == -1) {
    w.field("data", "").field("offset", size);
  } else {
    std::ifstream in{*file, std::ios::binary};
    in.seekg(std::min(offset, size));
    std::string data(static_cast<size_t>(
                       std::max<int64_t>(0, std::min({length, max_read,
                                                      size - offset}))),
                     '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(in.gcount()));
    w.field("data", data).field("offset", std::min(offset, size));
  }
  w.end_object();
  http_response r;
  r.body = w.take();
  return r;
}

} // namespace

http_router agent_routes(caf::actor_system& sys, agent_edge_actor agent,
                         const std::string& work_dir) {
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
  return routes;
}

} // namespace dcos::kernel
