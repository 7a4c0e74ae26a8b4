// Metronome's pure parts: cron schedules in time zones (with daylight-saving
// changes), and job definitions read as Metronome reads them.
#include <doctest/doctest.h>

#include <set>

#include <dcos/error.hpp>

#include "cron_spec.hpp"

using namespace dcos;
using namespace dcos::metronome;
using namespace date; // its month names, not C++20's
using std::chrono::hours;
using std::chrono::minutes;

namespace {

// "2026-03-08 07:00" (UTC) from a sys time, for readable failures.
std::string utc(sys_seconds t) {
  return date::format("%F %R", date::floor<minutes>(t));
}

sys_seconds at(date::year_month_day day, int h, int m) {
  return date::sys_days{day} + hours{h} + minutes{m};
}

std::string next(std::string_view cron, sys_seconds after,
                 std::string_view zone = "UTC") {
  auto spec = cron_spec::parse(cron);
  REQUIRE_MESSAGE(spec, describe(spec.error()));
  auto tz = find_time_zone(zone);
  REQUIRE(tz);
  auto t = spec->next_after(after, **tz);
  return t ? utc(*t) : "never";
}

std::string parse_error(std::string_view cron) {
  auto spec = cron_spec::parse(cron);
  return spec ? "parsed" : describe_reason(spec.error());
}

} // namespace

TEST_CASE("cron: bad expressions are refused, naming the field") {
  CHECK(parse_error("* * * *").find("expected 5 fields") != std::string::npos);
  CHECK(parse_error("* * * * * * *").find("expected 5") != std::string::npos);
  CHECK(parse_error("61 * * * *").find("minute") != std::string::npos);
  CHECK(parse_error("* 24 * * *").find("hour") != std::string::npos);
  CHECK(parse_error("* * 0 * *").find("day of month") != std::string::npos);
  CHECK(parse_error("* * 32 * *").find("out of range 1-31")
        != std::string::npos);
  CHECK(parse_error("* * * 13 *").find("month") != std::string::npos);
  CHECK(parse_error("* * * FOO *").find("'FOO' is not a value")
        != std::string::npos);
  CHECK(parse_error("* * * * 8").find("day of week") != std::string::npos);
  CHECK(parse_error("5-1 * * * *").find("range") != std::string::npos);
  CHECK(parse_error("*/0 * * * *").find("step") != std::string::npos);
  CHECK(parse_error("1,,2 * * * *").find("empty") != std::string::npos);
  CHECK(parse_error("? * * * *").find("minute") != std::string::npos);
  CHECK(parse_error("* * * * 1#6").find("1 to 5") != std::string::npos);
  CHECK(parse_error("@every_minute") != "parsed");
  CHECK(parse_error("") != "parsed");
  CHECK(parse_error("0 0 ? * MON-FRI") == "parsed");
  CHECK(parse_error("0 0 * * 7") == "parsed");
  CHECK(parse_error("0 0 * jan-mar sun,sat") == "parsed");
}

TEST_CASE("cron: the next due minute in UTC") {
  auto friday = 2026_y / December / 4;
  CHECK(next("* * * * *", at(friday, 10, 7)) == "2026-12-04 10:08");
  CHECK(next("*/15 * * * *", at(friday, 10, 7)) == "2026-12-04 10:15");
  // Strictly after: a due minute itself is not the next one.
  CHECK(next("*/15 * * * *", at(friday, 10, 15)) == "2026-12-04 10:30");
  CHECK(next("10-20/5 * * * *", at(friday, 10, 16)) == "2026-12-04 10:20");
  CHECK(next("7/20 * * * *", at(friday, 10, 8)) == "2026-12-04 10:27");
  CHECK(next("0 9 * * MON-FRI", at(friday, 10, 0)) == "2026-12-07 09:00");
  CHECK(next("0 0 * * 7", at(friday, 10, 0)) == "2026-12-06 00:00");
  CHECK(next("0 0 1 JAN *", at(friday, 10, 0)) == "2027-01-01 00:00");
  CHECK(next("0 0 29 2 *", at(2025_y / March / 1, 0, 0))
        == "2028-02-29 00:00");
  CHECK(next("0 0 30 2 *", at(friday, 10, 0)) == "never");
  CHECK(next("0 0 31 2 *", at(friday, 10, 0)) == "never");
  CHECK(next("@hourly", at(friday, 10, 7)) == "2026-12-04 11:00");
  CHECK(next("@daily", at(friday, 10, 7)) == "2026-12-05 00:00");
  CHECK(next("@weekly", at(friday, 10, 7)) == "2026-12-06 00:00");
  CHECK(next("@monthly", at(friday, 10, 7)) == "2027-01-01 00:00");
  CHECK(next("@yearly", at(friday, 10, 7)) == "2027-01-01 00:00");
}

TEST_CASE("cron: both day fields restricted: both must match, as Metronome") {
  // The first Monday of the month, not every Monday and the 1st to 7th.
  CHECK(next("0 9 1-7 * 1", at(2026_y / December / 8, 0, 0))
        == "2027-01-04 09:00");
  CHECK(next("0 0 13 * FRI", at(2026_y / December / 4, 1, 0))
        == "2027-08-13 00:00");
}

TEST_CASE("cron: the optional year field") {
  CHECK(next("0 0 1 1 * 2030", at(2026_y / December / 4, 0, 0))
        == "2030-01-01 00:00");
  CHECK(next("0 0 1 1 * 2026", at(2026_y / December / 4, 0, 0)) == "never");
  CHECK(next("0 0 * * * 2027-2028/1", at(2026_y / December / 4, 0, 0))
        == "2027-01-01 00:00");
  CHECK(parse_error("0 0 * * * 1969").find("year") != std::string::npos);
  CHECK(parse_error("0 0 * * * 2100").find("year") != std::string::npos);
}

TEST_CASE("cron: Metronome's day extensions L, L-n, W, LW, dL and d#k") {
  CHECK(next("0 0 L * *", at(2028_y / February / 1, 0, 0))
        == "2028-02-29 00:00");
  CHECK(next("0 0 L-1 * *", at(2026_y / December / 1, 0, 0))
        == "2026-12-30 00:00");
  // 2026-08-15 is a Saturday: the nearest weekday is Friday the 14th.
  CHECK(next("0 0 15W * *", at(2026_y / August / 1, 0, 0))
        == "2026-08-14 00:00");
  // 2026-08-01 is a Saturday: 1W stays in August, Monday the 3rd.
  CHECK(next("0 0 1W * *", at(2026_y / July / 31, 0, 0))
        == "2026-08-03 00:00");
  // 2026-05-31 is a Sunday: the last weekday is Friday the 29th.
  CHECK(next("0 0 LW * *", at(2026_y / May / 1, 0, 0)) == "2026-05-29 00:00");
  CHECK(next("0 0 * * 5L", at(2026_y / December / 1, 0, 0))
        == "2026-12-25 00:00");
  CHECK(next("0 0 * * MON#2", at(2026_y / December / 1, 0, 0))
        == "2026-12-14 00:00");
}

TEST_CASE("cron: in a time zone, wall-clock times are due") {
  // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
  CHECK(next("0 9 * * *", at(2026_y / December / 4, 10, 0), "Europe/Berlin")
        == "2026-12-05 08:00");
  CHECK(next("0 9 * * *", at(2026_y / July / 4, 10, 0), "Europe/Berlin")
        == "2026-07-05 07:00");
  CHECK(next("30 17 * * *", at(2026_y / December / 4, 0, 0), "Asia/Kolkata")
        == "2026-12-04 12:00");
}

TEST_CASE("cron: a spring-forward change runs a skipped time once") {
  // New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
  auto sunday = 2026_y / March / 8;
  const char* ny = "America/New_York";
  // 02:30 does not exist that day: due once, when the clocks change.
  CHECK(next("30 2 * * *", at(sunday, 5, 0), ny) == "2026-03-08 07:00");
  CHECK(next("30 2 * * *", at(sunday, 7, 0), ny) == "2026-03-09 06:30");
  // Every 30 minutes follows the clock: 01:30 EST, then 03:00 EDT.
  CHECK(next("*/30 * * * *", at(sunday, 6, 30), ny) == "2026-03-08 07:00");
  // A time after the gap is not moved.
  CHECK(next("0 3 * * *", at(sunday, 5, 0), ny) == "2026-03-08 07:00");
  CHECK(next("0 3 * * *", at(sunday, 7, 0), ny) == "2026-03-09 07:00");
}

TEST_CASE("cron: a fall-back change runs a repeated fixed time once") {
  // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC.
  auto sunday = 2026_y / November / 1;
  const char* ny = "America/New_York";
  CHECK(next("30 1 * * *", at(sunday, 4, 0), ny) == "2026-11-01 05:30");
  // 01:30 EST (06:30 UTC) shows the same wall clock again: not due.
  CHECK(next("30 1 * * *", at(sunday, 5, 30), ny) == "2026-11-02 06:30");
  CHECK(next("30 1 * * *", at(sunday, 6, 10), ny) == "2026-11-02 06:30");
  // Every 30 minutes follows elapsed time through both passes.
  CHECK(next("*/30 * * * *", at(sunday, 5, 30), ny) == "2026-11-01 06:00");
  CHECK(next("*/30 * * * *", at(sunday, 6, 0), ny) == "2026-11-01 06:30");
  CHECK(next("*/30 * * * *", at(sunday, 6, 30), ny) == "2026-11-01 07:00");
}

TEST_CASE("cron: a year of daily ticks across both changes, once a day") {
  auto spec = cron_spec::parse("30 2 * * *");
  REQUIRE(spec);
  auto tz = find_time_zone("America/New_York");
  REQUIRE(tz);
  auto t = at(2026_y / January / 1, 0, 0);
  std::set<date::local_days> days_seen;
  int ticks = 0;
  while (true) {
    auto n = spec->next_after(t, **tz);
    REQUIRE(n);
    if (*n >= at(2027_y / January / 1, 0, 0))
      break;
    CHECK(*n > t);
    auto local = (*tz)->to_local(*n);
    days_seen.insert(date::floor<date::days>(local));
    ++ticks;
    t = *n;
  }
  CHECK(ticks == 365);
  CHECK(days_seen.size() == 365);
}

TEST_CASE("time zones: IANA names, and a clear error for others") {
  CHECK(find_time_zone("UTC"));
  CHECK(find_time_zone("Europe/Berlin"));
  auto bad = find_time_zone("Mars/Olympus");
  REQUIRE(!bad);
  CHECK(describe_reason(bad.error()) == "unknown time zone 'Mars/Olympus'");
  CHECK(!load_time_zones());
}
