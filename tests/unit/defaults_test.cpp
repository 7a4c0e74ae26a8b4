#include <cstdint>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "dcos/launch_backoff.hpp"
#include "dcos/logging.hpp"
#include "dcos/mesos_defaults.hpp"

using namespace dcos;

TEST_CASE("unset optional fields read as Mesos' defaults") {
  v1::HealthCheck hc;
  CHECK(delay_seconds(hc) == 15.0);
  CHECK(interval_seconds(hc) == 10.0);
  CHECK(timeout_seconds(hc) == 20.0);
  CHECK(consecutive_failures(hc) == 3);
  CHECK(grace_period_seconds(hc) == 10.0);
  hc.set_consecutive_failures(0); // explicitly zero is not the default
  CHECK(consecutive_failures(hc) == 0);
  v1::CommandInfo cmd;
  CHECK(uses_shell(cmd));
  cmd.set_shell(false);
  CHECK_FALSE(uses_shell(cmd));
  CHECK(extracts(v1::CommandInfo::URI{}));
  CHECK(refuse_seconds(v1::Filters{}) == 5.0);
  v1::Filters never;
  never.set_refuse_seconds(0);
  CHECK(refuse_seconds(never) == 0.0);
}

TEST_CASE("log levels parse by name and loggers are shared per component") {
  spdlog::level::level_enum level{};
  REQUIRE_FALSE(logging::parse_level("warning", level));
  CHECK(level == spdlog::level::warn);
  auto err = logging::parse_level("loud", level);
  REQUIRE(err);
  CHECK(describe_reason(err).find("'loud' is not a log level") == 0);
  CHECK(logging::get("master") == logging::get("master"));
  logging::init(spdlog::level::err);
  CHECK(logging::get("master")->level() == spdlog::level::err);
  CHECK(logging::get("agent")->level() == spdlog::level::err);
}

TEST_CASE("the launch backoff grows by its factor from its first wait, up to "
          "its cap, and never overflows") {
  backoff_policy marathon; // Marathon's defaults: 1 s x 1.15
  marathon.max_seconds = 300;
  CHECK(backoff_delay(marathon, 0) == 0);
  CHECK(backoff_delay(marathon, 1) == doctest::Approx(1));
  CHECK(backoff_delay(marathon, 2) == doctest::Approx(1.15));
  CHECK(backoff_delay(marathon, 3) == doctest::Approx(1.3225));
  CHECK(backoff_delay(marathon, 100) == 300);
  CHECK(backoff_delay(marathon, UINT32_MAX) == 300);
  backoff_policy doubling{1, 2, 3600};
  CHECK(backoff_delay(doubling, 12) == 2048);
  CHECK(backoff_delay(doubling, 13) == 3600);
  CHECK(backoff_delay(backoff_policy{0, 2, 60}, UINT32_MAX) == 0);
}
