// Metronome's pure parts: cron schedules in time zones (with daylight-saving
// changes), job definitions read as Metronome reads them, and its timestamps.
#include <doctest/doctest.h>

#include <set>

#include <dcos/error.hpp>
#include <dcos/json.hpp>

#include "cron_spec.hpp"
#include "job_definition.hpp"
#include "metronome_state.hpp"

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

namespace {

const sys_seconds now = date::sys_days{2026_y / December / 4} + hours{10};

// The answer to reading `body` as a job: "" if it is read.
std::string job_error(std::string_view body, Job* job = nullptr) {
  Job ignored;
  auto refused = read_job(body, "", now, job != nullptr ? job : &ignored);
  return refused ? std::to_string(refused->status) + " " + refused->body : "";
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("jobs: the job of Metronome's documentation is read whole") {
  Job job;
  auto body = R"({"id":"prod.example","description":"Example Application",
    "labels":{"location":"olympus","owner":"zeus"},
    "run":{"artifacts":[{"uri":"http://foo.test.com/application.zip",
      "extract":true,"executable":true,"cache":false}],
      "cmd":"nuke --dry --master local","cpus":1.5,"mem":32,"disk":128,
      "docker":{"image":"foo/bla:test"},"env":{"MON":"test"},
      "maxLaunchDelay":3600,
      "placement":{"constraints":[{"attribute":"rack","operator":"EQ",
        "value":"rack-2"}]},
      "restart":{"activeDeadlineSeconds":120,"policy":"NEVER"},
      "user":"root","volumes":[{"containerPath":"/mnt/test",
        "hostPath":"/etc/guest","mode":"RW"}]},
    "schedules":[{"id":"every-minute","cron":"* * * * *",
      "timezone":"Europe/Berlin","startingDeadlineSeconds":60,
      "concurrencyPolicy":"FORBID","enabled":true}]})";
  REQUIRE(job_error(body, &job) == "");
  CHECK(job.id() == "prod.example");
  CHECK(job.run().cpus() == 1.5);
  CHECK(job.run().placement().constraints(0).operator_() == "IS");
  CHECK(job.schedules(0).concurrency_policy() == FORBID);
  CHECK(job.schedules(0).timezone() == "Europe/Berlin");
  REQUIRE(constraints_of(job).size() == 1);
  CHECK(constraints_of(job)[0].to_string() == R"(["rack", "IS", "rack-2"])");
}

TEST_CASE("jobs: what a job leaves out gets Metronome's defaults, printed") {
  Job job;
  REQUIRE(job_error(R"({"id":"backup","run":{"cmd":"tar cf /tmp/b.tar /etc",
    "cpus":0.1,"mem":32,"disk":0},"schedules":[{"id":"nightly",
    "cron":"0 2 * * *"}]})", &job) == "");
  auto json = to_json(job, json_style::marathon);
  INFO(json);
  for (auto part : {R"("gpus":0)", R"("maxLaunchDelay":3600)",
                    R"("restart":{"policy":"NEVER"})",
                    R"("placement":{"constraints":[]})", R"("env":{})",
                    R"("artifacts":[])", R"("volumes":[])", R"("labels":{})",
                    R"("dependencies":[])", R"("disk":0)",
                    R"("timezone":"UTC")", R"("startingDeadlineSeconds":900)",
                    R"("concurrencyPolicy":"ALLOW")", R"("enabled":true)"})
    CHECK_MESSAGE(contains(json, part), part);
  CHECK(!contains(json, "description"));
  CHECK(!contains(json, "user"));
  CHECK(!contains(json, "docker"));
  CHECK(!contains(json, "activeDeadlineSeconds"));
  // What is printed reads back as the same job.
  Job again;
  REQUIRE(job_error(json, &again) == "");
  CHECK(to_json(again, json_style::marathon) == json);
}

TEST_CASE("jobs: bad input is refused with the path of each error") {
  CHECK(contains(job_error("not json"), "400 "));
  CHECK(contains(job_error("[1]"), "400 "));
  auto no_run = job_error(R"({"id":"a"})");
  CHECK(contains(no_run, "422 "));
  CHECK(contains(no_run, R"({"path":"/","errors":["Property run missing."]})"));
  auto no_cpus = job_error(R"({"id":"a","run":{"cmd":"x","mem":32}})");
  CHECK(contains(no_cpus, R"("Property cpus missing.")"));
  CHECK(contains(no_cpus, R"("Property disk missing.")"));
  CHECK(contains(job_error(R"({"id":"Foo_Bar","run":{"cmd":"x","cpus":1,
    "mem":32,"disk":0}})"), R"({"path":"/id","errors":["'Foo_Bar' does not)"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":-1,"mem":32,
    "disk":0}})"), R"({"path":"/run/cpus","errors":["-1 is smaller than )"
                   R"(required minimum value of 0.01."]})"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":8,
    "disk":0}})"), R"("path":"/run/mem")"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":"1","mem":32,
    "disk":0}})"), R"({"path":"/run/cpus","errors":["must be a number, not )"
                   R"(a string"]})"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,
    "disk":0,"colour":"red"}})"), R"({"path":"/run/colour","errors":)"
                                  R"(["unknown field"]})"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cpus":1,"mem":32,"disk":0}})"),
                 "Cmd, Docker or UCR image must be specified"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,
    "disk":0,"env":{"PASSWORD":{"secret":"pw"}}}})"),
                 R"("path":"/run/env/PASSWORD")"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,
    "disk":0,"secrets":{"pw":{"source":"/pw"}}}})"),
                 R"("path":"/run/secrets")"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,
    "disk":0,"restart":{"policy":"ALWAYS"}}})"),
                 R"({"path":"/run/restart/policy","errors":["'ALWAYS' is )"
                 R"(not one of NEVER, ON_FAILURE"]})"));
  CHECK(contains(job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,
    "disk":0,"placement":{"constraints":[{"attribute":"rack",
    "operator":"UNIQUE"}]}}})"),
                 R"("path":"/run/placement/constraints(0)/operator")"));
  auto run = std::string{R"("run":{"cmd":"x","cpus":1,"mem":32,"disk":0})"};
  CHECK(contains(job_error(R"({"id":"a","dependencies":[{"id":"b"},)"
                           R"({"id":"b"}],)" + run + "}"),
                 R"({"path":"/dependencies","errors":["has double )"
                 R"(entries"]})"));
  CHECK(contains(job_error(R"({"id":"a","dependencies":[{"id":"B_"}],)" + run
                           + "}"),
                 R"("path":"/dependencies(0)/id")"));
}

TEST_CASE("jobs: bad schedules are refused with the path of each error") {
  auto with = [](std::string schedules) {
    return job_error(R"({"id":"a","run":{"cmd":"x","cpus":1,"mem":32,)"
                     R"("disk":0},"schedules":)" + schedules + "}");
  };
  CHECK(contains(with(R"([{"id":"s","cron":"61 * * * *"}])"),
                 R"({"path":"/schedules(0)/cron","errors":["Can not read )"
                 R"(cron expression \"61 * * * *\": cron minute)"));
  CHECK(contains(with(R"([{"id":"s","cron":"0 0 31 2 *"}])"),
                 "never comes due"));
  CHECK(contains(with(R"([{"id":"s","cron":"* * * * *",
    "timezone":"Mars/Base"}])"),
                 R"({"path":"/schedules(0)/timezone","errors":["No time )"
                 R"(zone found with this id: \"Mars/Base\""]})"));
  CHECK(contains(with(R"([{"id":"s","cron":"* * * * *"},
    {"id":"t","cron":"* * * * *"}])"),
                 R"({"path":"/schedules","errors":["has size 2, expected 1 )"
                 R"(or less"]})"));
  CHECK(contains(with(R"([{"id":"s","cron":"* * * * *",
    "startingDeadlineSeconds":30}])"),
                 "got 30 seconds, expected 1 minute or more"));
  CHECK(contains(with(R"([{"id":"s","cron":"* * * * *",
    "concurrencyPolicy":"REPLACE"}])"),
                 R"("path":"/schedules(0)/concurrencyPolicy")"));
  CHECK(contains(with(R"([{"cron":"* * * * *"}])"),
                 R"x({"path":"/schedules(0)","errors":["Property id )x"
                 R"(missing."]})"));
}

TEST_CASE("schedules: read alone, with the id from the URL") {
  Schedule s;
  auto refused = read_schedule(R"({"id":"nightly","cron":"0 2 * * *",
    "timezone":"America/New_York","nextRunAt":"2026-12-05T07:00:00.000+0000"})",
                               "", now, &s);
  REQUIRE(!refused);
  CHECK(s.id() == "nightly");
  CHECK(!s.has_next_run_at());
  CHECK(s.starting_deadline_seconds() == 900);
  CHECK(s.enabled());
  refused = read_schedule(R"({"id":"x","cron":"0 2 * * *"})", "", now, &s);
  REQUIRE(refused);
  CHECK(refused->status == 422);
  CHECK(contains(refused->body, R"("path":"/id")"));
  refused = read_schedule(R"({"cron":"0 3 * * *"})", "daily", now, &s);
  REQUIRE(!refused);
  CHECK(s.id() == "daily");
}

TEST_CASE("timestamps: Metronome's format, to the millisecond, in UTC") {
  CHECK(metronome_state::format_time(1'800'000'000'123)
        == "2027-01-15T08:00:00.123+0000");
  CHECK(metronome_state::format_time(0) == "1970-01-01T00:00:00.000+0000");
  CHECK(metronome_state::format_time(951'782'400'007)
        == "2000-02-29T00:00:00.007+0000");
  CHECK(metronome_state::format_time(-1) == "1969-12-31T23:59:59.999+0000");
  CHECK(metronome_state::format_time(253'402'300'800'000)
        == "10000-01-01T00:00:00.000+0000");
}
