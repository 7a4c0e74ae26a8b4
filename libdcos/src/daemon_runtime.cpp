#include "dcos/daemon_runtime.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/json_writer.hpp"
#include "dcos/logging.hpp"
#include "dcos/actor_system_setup.hpp"
#include "dcos/version.hpp"

namespace dcos {

namespace {

http_response json_ok(std::string body) {
  http_response r;
  r.body = std::move(body);
  return r;
}

} // namespace

daemon_runtime::daemon_runtime(std::string name, std::string usage_line,
                               std::string summary, uint16_t default_port)
  : name_(std::move(name)),
    flags_(std::move(usage_line), std::move(summary)) {
  common_.port = default_port;
  flags_.add(&common_.ip, "ip", "IP address to listen on");
  flags_.add(&common_.port, "port", "HTTP port; 0 picks a free one");
  flags_.add(&common_.log_level, "log_level",
             "trace, debug, info, warning or error");
  flags_.add(&common_.http_threads, "http_threads", "threads serving HTTP");
}

void daemon_runtime::parse_or_exit(int argc, char** argv) {
  dcos::parse_or_exit(flags_, argc, argv);
  spdlog::level::level_enum level{};
  if (auto err = logging::parse_level(common_.log_level, level))
    std::exit(usage_error("--log_level: " + describe_reason(err)));
  if (common_.http_threads == 0)
    std::exit(usage_error("--http_threads: must be at least 1"));
  logging::init(level);
  log_ = logging::get(name_);
}

int daemon_runtime::usage_error(std::string_view message) const {
  std::fprintf(stderr, "%s: %.*s\n", name_.c_str(),
               static_cast<int>(message.size()), message.data());
  return 2;
}

int daemon_runtime::startup_error(std::string_view what,
                                  const caf::error& reason) const {
  auto text = fmt::format("{}: {}", what, describe_reason(reason));
  if (log_)
    log_->critical("{}", text);
  else
    std::fprintf(stderr, "%s: %s\n", name_.c_str(), text.c_str());
  return 1;
}

void daemon_runtime::configure(caf::actor_system_config& cfg) const {
  configure_actor_system(cfg);
}

caf::expected<std::unique_ptr<http_server>>
daemon_runtime::serve(http_router routes,
                      std::optional<uint16_t> port) const {
  if (!routes.has("/health"))
    routes.get("/health", [](const http_request&, http_responder respond) {
      http_response r;
      r.content_type = "text/plain";
      respond(std::move(r));
    });
  if (!routes.has("/version"))
    routes.get("/version", [](const http_request&, http_responder respond) {
      json_writer w;
      w.begin_object().field("version", dcos::version).end_object();
      respond(json_ok(w.take()));
    });
  if (!routes.has("/flags")) {
    json_writer w;
    w.begin_object().key("flags").begin_object();
    for (const auto& [name, value] : flags_.values())
      w.field(name, value);
    w.end_object().end_object();
    routes.get("/flags", [body = w.take()](const http_request&,
                                           http_responder respond) {
      respond(json_ok(body));
    });
  }
  return http_server::start(common_.ip, port.value_or(common_.port),
                            std::move(routes).handler(),
                            common_.http_threads);
}

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
    return "localhost";
  return buf;
}

std::string sibling_program(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& dir : {self, self / "containers", self.parent_path()})
    if (std::filesystem::exists(dir / name, ec))
      return (dir / name).string();
  return name;
}

void daemon_runtime::announce(uint16_t port, std::string_view detail) const {
  std::printf("%s listening on http://%s:%u%s%.*s%s\n", name_.c_str(),
              common_.ip.c_str(), port, detail.empty() ? "" : " (",
              static_cast<int>(detail.size()), detail.data(),
              detail.empty() ? "" : ")");
  std::fflush(stdout);
}

} // namespace dcos
