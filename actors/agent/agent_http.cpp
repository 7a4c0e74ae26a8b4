#include "agent_http.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "master/master_http.hpp"

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

caf::expected<std::unique_ptr<http_server>>
start_agent_http(caf::actor_system& sys, agent_edge_actor agent,
                 const std::string& ip, uint16_t port,
                 const std::string& work_dir) {
  auto handler = [&sys, agent, work_dir](http_request req,
                                         http_responder respond) {
    if (req.method != "GET" && req.method != "HEAD") {
      auto r = json_error(405, "use GET");
      r.headers.emplace_back("Allow", "GET");
      respond(std::move(r));
      return;
    }
    const auto& path = req.path;
    auto on_error = [respond](const caf::error& err) {
      respond(error_response(err));
    };
    // The agent's answers that are JSON already (/state, /monitor/...).
    auto respond_json = [respond](const std::string& json) {
      http_response r;
      r.body = json;
      respond(std::move(r));
    };
    if (path == "/health") {
      http_response r;
      r.content_type = "text/plain";
      respond(std::move(r));
    } else if (path == "/state" || path == "/state.json"
               || path == "/slave(1)/state") {
      ask(sys, agent, agent_timeout, respond_json, on_error,
          state_atom::value);
    } else if (path == "/metrics/snapshot" || path == "/metrics") {
      bool prometheus = path == "/metrics";
      ask(
        sys, agent, agent_timeout,
        [respond, prometheus](const v1::master::Response& m) {
          http_response r;
          if (prometheus) {
            r.content_type = "text/plain; version=0.0.4";
            r.body = prometheus_text(m.get_metrics().metrics());
          } else {
            json_writer w;
            w.begin_object();
            for (const auto& metric : m.get_metrics().metrics())
              w.field(metric.name(), metric.value());
            w.end_object();
            r.body = w.take();
          }
          respond(std::move(r));
        },
        on_error, metrics_atom::value);
    } else if (path == "/monitor/statistics"
               || path == "/monitor/statistics.json") {
      ask(sys, agent, agent_timeout, respond_json, on_error,
          monitor_atom::value);
    } else if (path == "/files/browse" || path == "/files/browse.json") {
      respond(browse(work_dir, req));
    } else if (path == "/files/read" || path == "/files/read.json") {
      respond(read(work_dir, req));
    } else {
      respond(json_error(404, fmt::format("no endpoint {}", path)));
    }
  };
  return http_server::start(ip, port, std::move(handler), 2);
}

} // namespace dcos::kernel
