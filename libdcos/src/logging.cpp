#include "dcos/logging.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "dcos/error.hpp"

namespace dcos::logging {

namespace {

constexpr const char* pattern = "%Y-%m-%dT%H:%M:%S.%fZ %L %n] %v";

struct state {
  state() {
    if (const char* env = std::getenv("DCOS_LOG_LEVEL"))
      parse_level(env, level); // an unknown name leaves info
    base = level;
  }
  std::mutex mtx;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  spdlog::level::level_enum base = spdlog::level::info; // init()'s
};

state& global() {
  static state instance;
  return instance;
}

spdlog::sink_ptr sink_locked(state& st) {
  if (!st.sink) {
    st.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    st.sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      pattern, spdlog::pattern_time_type::utc));
  }
  return st.sink;
}

} // namespace

caf::error parse_level(std::string_view text, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum>
    levels[] = {{"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
                {"info", spdlog::level::info},   {"warning", spdlog::level::warn},
                {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  for (auto& [name, level] : levels) {
    if (text == name) {
      out = level;
      return {};
    }
  }
  return make_error(errc::invalid_argument,
                    fmt::format("'{}' is not a log level (trace, debug, info, "
                                "warning, error, off)",
                                text));
}

void init(spdlog::level::level_enum min_level) {
  auto& st = global();
  std::lock_guard guard{st.mtx};
  st.level = min_level;
  st.base = min_level;
  sink_locked(st);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->set_level(min_level);
  });
}

void set_verbosity(uint32_t verbosity) {
  auto& st = global();
  std::lock_guard guard{st.mtx};
  auto wanted = verbosity == 0   ? st.base
                : verbosity == 1 ? spdlog::level::debug
                                 : spdlog::level::trace;
  st.level = std::min(st.base, wanted);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->set_level(st.level);
  });
}

uint64_t verbosity_lease::set(uint32_t level) {
  level_ = level;
  set_verbosity(level);
  return ++generation_;
}

bool verbosity_lease::expire(uint64_t generation) {
  if (generation != generation_ || level_ == 0)
    return false;
  level_ = 0;
  set_verbosity(0);
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& st = global();
  std::lock_guard guard{st.mtx};
  if (auto existing = spdlog::get(component))
    return existing;
  auto logger = std::make_shared<spdlog::logger>(component, sink_locked(st));
  logger->set_level(st.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

} // namespace dcos::logging
