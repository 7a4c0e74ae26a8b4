// dcos-metronome against a real master and agent, driven with curl as its
// users drive Metronome: a job run now succeeds and its history says so, a
// failing job is retried with ON_FAILURE until its deadline, a `* * * * *`
// schedule runs on the minute and, with Metronome killed with -9 right
// after the tick, exactly once; bad input gets Metronome's 4xx and changes
// nothing; several Metronomes over a real ZooKeeper elect one leader, the
// standby forwards to it and takes over after kill -9 of the leader; v0's
// scheduled-jobs documents.
#include <signal.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"
#include "support/zookeeper.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// A master, one agent and a Metronome with its state in the scratch dir,
// or in ZooKeeper if `state_flags` say so.
struct cluster {
  scratch_dir dir;
  master_process master;
  agent_process agent{master.address(), dir / "agent",
                      {"--resources=cpus:4;mem:2048;disk:1000"}};
  uint16_t port = free_port();
  std::vector<std::string> state_flags;
  std::optional<subprocess> metronome;

  explicit cluster(std::vector<std::string> state = {})
    : state_flags(std::move(state)) {
    if (state_flags.empty())
      state_flags = {"--work_dir=" + (dir / "metronome")};
    start_metronome();
  }

  ~cluster() {
    metronome.reset();
    agent.process.kill(SIGUSR1); // it takes its tasks with it
    exit_status_within(agent.process, 20s);
  }

  void start_metronome() { metronome.emplace(start_instance(port, "")); }

  // One more Metronome on `at`, logging to metronome{name}.log.
  subprocess start_instance(uint16_t at, const std::string& name) {
    std::vector<std::string> argv{binary("DCOS_METRONOME_BIN"),
                                  "--master=" + master.address(),
                                  "--ip=127.0.0.1", "--hostname=127.0.0.1",
                                  fmt::format("--http_port={}", at),
                                  "--log_level=info"};
    argv.insert(argv.end(), state_flags.begin(), state_flags.end());
    return start_serving(argv, dir / ("metronome" + name + ".log"));
  }

  std::string url(const std::string& path) const {
    return url_at(port, path);
  }

  static std::string url_at(uint16_t at, const std::string& path) {
    return fmt::format("http://127.0.0.1:{}{}", at, path);
  }

  http_result get(const std::string& path) { return curl({url(path)}); }

  http_result send(const std::string& method, const std::string& path,
                   const std::string& body = {}) {
    std::vector<std::string> args{"-X", method, url(path)};
    if (!body.empty())
      args.insert(args.end(), {"-H", "Content-Type: application/json",
                               "--data-binary", body});
    return curl(args);
  }

  google::protobuf::Struct job(const std::string& id,
                               const std::string& embed = "history") {
    auto r = get("/v1/jobs/" + id + "?embed=" + embed);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return parse_json_object(r.body);
  }

  google::protobuf::Struct history(const std::string& id) {
    return job(id).fields().at("history").struct_value();
  }
};

double number(const google::protobuf::Struct& s, const std::string& field) {
  return s.fields().at(field).number_value();
}

const google::protobuf::ListValue& list(const google::protobuf::Struct& s,
                                        const std::string& field) {
  return s.fields().at(field).list_value();
}

// The id of the first active run of `job`, once there is one (within the
// minute a `* * * * *` schedule takes to tick).
std::string first_run_of(cluster& c, const std::string& job) {
  std::string run_id;
  REQUIRE(eventually(
    [&] {
      auto runs = c.get("/v1/jobs/" + job + "/runs");
      auto doc = parse_json_object("{\"runs\":" + runs.body + "}");
      if (list(doc, "runs").values_size() == 0)
        return false;
      run_id = list(doc, "runs")
                 .values(0)
                 .struct_value()
                 .fields()
                 .at("id")
                 .string_value();
      return true;
    },
    70s));
  return run_id;
}

// `history` has one successful run per minute at most, the first of them
// `first_run`, and no failure.
void check_ran_once_per_minute(const google::protobuf::Struct& history,
                               const std::string& first_run) {
  auto runs = list(history, "successfulFinishedRuns");
  std::set<std::string> minutes;
  for (const auto& v : runs.values()) {
    auto id = v.struct_value().fields().at("id").string_value();
    CHECK(minutes.insert(id.substr(0, 12)).second); // one per minute
  }
  CHECK(runs.values(runs.values_size() - 1)
          .struct_value()
          .fields()
          .at("id")
          .string_value()
        == first_run);
  CHECK(number(history, "failureCount") == 0);
}

std::string job_json(const std::string& id, const std::string& cmd,
                     const std::string& extra = {}) {
  return fmt::format(R"({{"id":"{}","run":{{"cmd":"{}","cpus":0.1,"mem":32,)"
                     R"("disk":0{}}}}})",
                     id, cmd, extra);
}

} // namespace

TEST_CASE("a job run now succeeds and its history says so") {
  cluster c;
  auto created = c.send("POST", "/v1/jobs",
                        job_json("backup", "echo backing up > out"));
  REQUIRE_MESSAGE(created.status == 201, created.body);
  auto r = c.send("POST", "/v1/jobs/backup/runs");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto run = parse_json_object(r.body);
  CHECK(run.fields().at("status").string_value() == "INITIAL");
  CHECK(run.fields().at("jobId").string_value() == "backup");
  CHECK(run.fields().at("completedAt").kind_case()
        == google::protobuf::Value::kNullValue);
  auto run_id = run.fields().at("id").string_value();
  CHECK(run_id.size() == 19); // yyyyMMddHHmmss and five characters
  REQUIRE(eventually([&] { return number(c.history("backup"),
                                         "successCount") == 1; }));
  auto h = c.history("backup");
  CHECK(number(h, "failureCount") == 0);
  CHECK(h.fields().at("lastSuccessAt").has_string_value());
  const auto& done = list(h, "successfulFinishedRuns");
  REQUIRE(done.values_size() == 1);
  const auto& info = done.values(0).struct_value();
  CHECK(info.fields().at("id").string_value() == run_id);
  const auto& tasks = list(info, "tasks");
  REQUIRE(tasks.values_size() == 1);
  // Metronome's task ids: the job's id, the run's, a UUID.
  CHECK(tasks.values(0).string_value().rfind("backup_" + run_id + ".", 0)
        == 0);
  // A finished run is history, no longer a run.
  CHECK(list(c.job("backup", "activeRuns"), "activeRuns").values_size() == 0);
  auto gone = c.get("/v1/jobs/backup/runs/" + run_id);
  CHECK(gone.status == 404);
  CHECK(gone.body.find("Job Run not found") != std::string::npos);
  auto summary = c.job("backup", "historySummary")
                   .fields()
                   .at("historySummary")
                   .struct_value();
  CHECK(number(summary, "successCount") == 1);
  CHECK(!summary.fields().count("successfulFinishedRuns"));
  auto metrics = c.get("/metrics");
  CHECK(metrics.body.find("metronome_runs_total{status=\"success\"} 1")
        != std::string::npos);
  // A run no agent can take waits in the launch queue until stopped.
  auto huge = job_json("huge", "true");
  huge.replace(huge.find("\"cpus\":0.1"), 10, "\"cpus\":64");
  REQUIRE(c.send("POST", "/v1/jobs", huge).status == 201);
  auto waiting = c.send("POST", "/v1/jobs/huge/runs");
  REQUIRE(waiting.status == 201);
  auto waiting_id
    = parse_json_object(waiting.body).fields().at("id").string_value();
  auto queued = R"([{"jobId":"huge","runs":[{"runId":")" + waiting_id
                + R"("}]}])";
  REQUIRE(eventually([&] { return c.get("/v1/queue").body == queued; }));
  REQUIRE(c.send("POST", "/v1/jobs/huge/runs/" + waiting_id + "/actions/stop")
            .status
          == 200);
  REQUIRE(eventually([&] { return c.get("/v1/queue").body == "[]"; }));
  // Metronome's own /v1/metrics: Dropwizard's JSON registry.
  auto registry = parse_json_object(c.get("/v1/metrics").body);
  auto counter = [&](const std::string& name) {
    return number(registry.fields().at("counters").struct_value()
                    .fields().at(name).struct_value(), "count");
  };
  CHECK(counter("metronome.jobs.succeeded.counter") == 1);
  CHECK(counter("metronome.jobs.started.counter") >= 1);
  CHECK(number(registry.fields().at("gauges").struct_value()
                 .fields().at("metronome.leader.gauge").struct_value(),
               "value") == 1);
}

TEST_CASE("a job with dependencies runs once each job it depends on has "
          "succeeded since it last started") {
  cluster c;
  auto with_top = [](std::string job, const std::string& field) {
    job.pop_back();
    return job + "," + field + "}";
  };
  for (const auto& id : {"extract", "load"})
    REQUIRE(c.send("POST", "/v1/jobs", job_json(id, "true")).status == 201);
  auto report = with_top(job_json("report", "true"),
                         R"("dependencies":[{"id":"extract"},{"id":"load"}])");
  auto created = c.send("POST", "/v1/jobs", report);
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(c.get("/v1/jobs/report").body.find(
          R"("dependencies":[{"id":"extract"},{"id":"load"}])")
        != std::string::npos);

  // One parent is not enough.
  REQUIRE(c.send("POST", "/v1/jobs/extract/runs").status == 201);
  REQUIRE(eventually(
    [&] { return number(c.history("extract"), "successCount") == 1; }));
  std::this_thread::sleep_for(1s);
  CHECK(number(c.history("report"), "successCount") == 0);
  CHECK(list(c.job("report", "activeRuns"), "activeRuns").values_size() == 0);
  // Both: it runs, once.
  REQUIRE(c.send("POST", "/v1/jobs/load/runs").status == 201);
  REQUIRE(eventually(
    [&] { return number(c.history("report"), "successCount") == 1; }));
  std::this_thread::sleep_for(2s);
  CHECK(number(c.history("report"), "successCount") == 1);
  CHECK(list(c.job("report", "activeRuns"), "activeRuns").values_size() == 0);
  // Another success of one parent alone: the other has not succeeded
  // since the report last started.
  REQUIRE(c.send("POST", "/v1/jobs/load/runs").status == 201);
  REQUIRE(eventually(
    [&] { return number(c.history("load"), "successCount") == 2; }));
  std::this_thread::sleep_for(1s);
  CHECK(number(c.history("report"), "successCount") == 1);

  // Refused, changing nothing, as Metronome refuses them.
  auto unknown = c.send("POST", "/v1/jobs",
                        with_top(job_json("orphan", "true"),
                                 R"("dependencies":[{"id":"nope"}])"));
  CHECK(unknown.status == 422);
  CHECK(unknown.body.find("Dependencies contain unknown jobs. unknown=[nope]")
        != std::string::npos);
  CHECK(c.get("/v1/jobs/orphan").status == 404);
  auto both = c.send(
    "POST", "/v1/jobs",
    with_top(job_json("both", "true"),
             R"("dependencies":[{"id":"load"}],)"
             R"("schedules":[{"id":"nightly","cron":"0 2 * * *"}])"));
  CHECK(both.status == 422);
  CHECK(both.body.find("Jobs may not have both dependencies and schedules "
                       "specified")
        != std::string::npos);
  auto scheduled = c.send("POST", "/v1/jobs/report/schedules",
                          R"({"id":"nightly","cron":"0 2 * * *"})");
  CHECK(scheduled.status == 422);
  CHECK_MESSAGE(scheduled.body.find("both dependencies and schedules")
                  != std::string::npos,
                scheduled.body);
  auto cycle = c.send("PUT", "/v1/jobs/extract",
                      with_top(job_json("extract", "true"),
                               R"("dependencies":[{"id":"report"}])"));
  CHECK(cycle.status == 422);
  CHECK(cycle.body.find("Dependencies have a cycle.") != std::string::npos);
  CHECK(c.get("/v1/jobs/extract").body.find(R"("dependencies":[])")
        != std::string::npos);
  auto parent_gone = c.send("DELETE", "/v1/jobs/extract");
  CHECK(parent_gone.status == 409);
  CHECK(parent_gone.body.find("There are jobs with a dependency on extract. "
                              "children=[report]")
        != std::string::npos);
  CHECK(c.get("/v1/jobs/extract").status == 200);
  // Without its dependencies the report is an ordinary job; then its
  // parents may go.
  REQUIRE(c.send("PUT", "/v1/jobs/report", job_json("report", "true")).status
          == 200);
  CHECK(c.send("DELETE", "/v1/jobs/extract").status == 200);
}

TEST_CASE("a failing job is retried with ON_FAILURE until its deadline") {
  cluster c;
  REQUIRE(c.send("POST", "/v1/jobs",
                 job_json("flaky", "exit 3",
                          R"(,"restart":{"policy":"ON_FAILURE",)"
                          R"("activeDeadlineSeconds":2})"))
            .status
          == 201);
  REQUIRE(c.send("POST", "/v1/jobs",
                 job_json("once", "exit 3"))
            .status
          == 201);
  REQUIRE(c.send("POST", "/v1/jobs/flaky/runs").status == 201);
  REQUIRE(c.send("POST", "/v1/jobs/once/runs").status == 201);
  REQUIRE(eventually([&] {
    return number(c.history("flaky"), "failureCount") == 1
           && number(c.history("once"), "failureCount") == 1;
  }));
  auto flaky = list(c.history("flaky"), "failedFinishedRuns");
  REQUIRE(flaky.values_size() == 1);
  // Started again after each failure while the deadline had not passed.
  auto attempts = list(flaky.values(0).struct_value(), "tasks").values_size();
  CHECK(attempts >= 2);
  // The deadline ended it: no task is started after it.
  std::this_thread::sleep_for(1s);
  CHECK(list(list(c.history("flaky"), "failedFinishedRuns")
               .values(0)
               .struct_value(),
             "tasks")
          .values_size()
        == attempts);
  CHECK(number(c.history("flaky"), "successCount") == 0);
  // Restart policy NEVER: one task, and the run failed.
  auto once = list(c.history("once"), "failedFinishedRuns");
  REQUIRE(once.values_size() == 1);
  CHECK(list(once.values(0).struct_value(), "tasks").values_size() == 1);
}

TEST_CASE("a schedule runs on the minute, once, across kill -9 of Metronome") {
  cluster c;
  auto body = job_json("tick", "sleep 2");
  body.pop_back();
  body += R"(,"schedules":[{"id":"every-minute","cron":"* * * * *"}]})";
  auto r = c.send("POST", "/v1/jobs", body);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto schedule = parse_json_object(r.body);
  auto next = list(schedule, "schedules")
                .values(0)
                .struct_value()
                .fields()
                .at("nextRunAt")
                .string_value();
  CHECK(next.find(":00.000+0000") != std::string::npos);
  // The tick comes within a minute; Metronome dies as soon as its run is
  // there, before the run's task can have ended.
  auto run_id = first_run_of(c, "tick");
  c.metronome->kill(SIGKILL);
  exit_status_within(*c.metronome, 10s);
  c.start_metronome();
  // The restarted Metronome finds the tick's run, and starts no other.
  REQUIRE(eventually([&] { return number(c.history("tick"),
                                         "successCount") >= 1; },
                     30s));
  auto h = c.history("tick");
  check_ran_once_per_minute(h, run_id);
  // Nor is a second run of that tick active. (The job is kept in a
  // variable: a range-for does not keep a temporary inside its range
  // expression alive.)
  auto active = c.job("tick", "activeRuns");
  for (const auto& v : list(active, "activeRuns").values())
    CHECK(v.struct_value().fields().at("id").string_value().substr(0, 12)
          != run_id.substr(0, 12));
}

TEST_CASE("bad input gets Metronome's answers and changes nothing") {
  cluster c;
  REQUIRE(c.send("POST", "/v1/jobs", job_json("kept", "true")).status == 201);
  auto before = c.get("/v1/jobs?embed=history");
  auto refused = [&](const std::string& body, const std::string& part,
                     unsigned status = 422) {
    auto r = c.send("POST", "/v1/jobs", body);
    CHECK_MESSAGE(r.status == status, r.body);
    CHECK_MESSAGE(r.body.find(part) != std::string::npos, r.body);
  };
  auto with_schedule = [](const std::string& schedule) {
    auto j = job_json("nightly", "true");
    j.pop_back();
    return j + R"(,"schedules":[)" + schedule + "]}";
  };
  refused(with_schedule(R"({"id":"s","cron":"61 * * * *"})"),
          R"("path":"/schedules(0)/cron")");
  refused(with_schedule(R"({"id":"s","cron":"0 2 * * *",)"
                        R"("timezone":"Mars/Olympus"})"),
          R"(No time zone found with this id: \"Mars/Olympus\")");
  refused(job_json("nightly", "true").replace(
            job_json("nightly", "true").find("\"cpus\":0.1"), 10,
            "\"cpus\":-1"),
          R"({"path":"/run/cpus","errors":["-1 is smaller than required )");
  refused(job_json("Bad_Id", "true"), R"("path":"/id")");
  refused("{not json", "Invalid JSON", 400);
  refused(job_json("kept", "false"), "Job with this id already exists", 409);
  auto unknown = c.get("/v1/jobs/nope");
  CHECK(unknown.status == 404);
  CHECK(unknown.body == R"({"id":"nope","message":"Job not found"})");
  CHECK(c.send("POST", "/v1/jobs/nope/runs").status == 404);
  CHECK(c.get("/v1/jobs?embed=everything").status == 400);
  // Nothing changed.
  CHECK(c.get("/v1/jobs?embed=history").body == before.body);
  CHECK(c.get("/ping").body == "pong");
}

TEST_CASE("schedules: one per job, replaced and removed") {
  cluster c;
  REQUIRE(c.send("POST", "/v1/jobs", job_json("report", "true")).status
          == 201);
  auto added = c.send("POST", "/v1/jobs/report/schedules",
                      R"({"id":"nightly","cron":"30 2 * * *",)"
                      R"("timezone":"America/New_York"})");
  REQUIRE_MESSAGE(added.status == 201, added.body);
  CHECK(added.body.find(R"("startingDeadlineSeconds":900)")
        != std::string::npos);
  auto second = c.send("POST", "/v1/jobs/report/schedules",
                       R"({"id":"hourly","cron":"0 * * * *"})");
  CHECK(second.status == 409);
  CHECK(second.body.find("Only one schedule supported at the moment")
        != std::string::npos);
  auto replaced = c.send("PUT", "/v1/jobs/report/schedules/nightly",
                         R"({"cron":"45 3 * * *","concurrencyPolicy":"FORBID"})");
  REQUIRE_MESSAGE(replaced.status == 200, replaced.body);
  auto got = c.get("/v1/jobs/report/schedules/nightly");
  CHECK(got.body.find(R"("cron":"45 3 * * *")") != std::string::npos);
  CHECK(got.body.find(R"("concurrencyPolicy":"FORBID")") != std::string::npos);
  auto removed = c.send("DELETE", "/v1/jobs/report/schedules/nightly");
  CHECK(removed.status == 200);
  CHECK(removed.body.empty());
  auto gone = c.get("/v1/jobs/report/schedules/nightly");
  CHECK(gone.status == 404);
  CHECK(gone.body == R"({"id":"nightly","message":"Schedule not found"})");
  // A job with active runs is removed only when they are stopped too.
  REQUIRE(c.send("POST", "/v1/jobs", job_json("long", "sleep 60")).status
          == 201);
  auto run = parse_json_object(c.send("POST", "/v1/jobs/long/runs").body);
  auto run_id = run.fields().at("id").string_value();
  auto conflict = c.send("DELETE", "/v1/jobs/long");
  CHECK(conflict.status == 409);
  CHECK(conflict.body.find("stopCurrentJobRuns=true") != std::string::npos);
  auto stopped = c.send("POST", "/v1/jobs/long/runs/" + run_id
                                  + "/actions/stop");
  CHECK_MESSAGE(stopped.status == 200, stopped.body);
  CHECK(stopped.body.find(R"("status":"FAILED")") != std::string::npos);
  CHECK(number(c.history("long"), "failureCount") == 1);
  CHECK(c.send("DELETE", "/v1/jobs/long").status == 200);
  CHECK(c.get("/v1/jobs/long").status == 404);
}

TEST_CASE("v0: a job and its schedules in one document, created and "
          "replaced together") {
  cluster c;
  auto with_cron = [](const std::string& cron) {
    auto j = job_json("backup", "true");
    j.pop_back();
    return j + R"(,"schedules":[{"id":"nightly","cron":")" + cron + "\"}]}";
  };
  auto created = c.send("POST", "/v0/scheduled-jobs", with_cron("30 2 * * *"));
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(created.body.find(R"("cron":"30 2 * * *")") != std::string::npos);
  CHECK(c.send("POST", "/v0/scheduled-jobs", with_cron("30 2 * * *")).status
        == 409);
  // PUT replaces the schedules too (v1's PUT keeps them); the path names
  // the job.
  auto replaced = c.send("PUT", "/v0/scheduled-jobs/backup",
                         with_cron("0 4 * * *"));
  REQUIRE_MESSAGE(replaced.status == 200, replaced.body);
  CHECK(c.get("/v1/jobs/backup/schedules/nightly").body.find(
          R"("cron":"0 4 * * *")")
        != std::string::npos);
  // Bad input changes nothing; an unknown job is 404.
  auto before = c.get("/v1/jobs/backup?embed=schedules");
  auto bad = c.send("PUT", "/v0/scheduled-jobs/backup", with_cron("0 25 * * *"));
  CHECK(bad.status == 422);
  CHECK(bad.body.find(R"("path":"/schedules(0)/cron")") != std::string::npos);
  CHECK(c.get("/v1/jobs/backup?embed=schedules").body == before.body);
  auto unknown = c.send("PUT", "/v0/scheduled-jobs/nope", with_cron("0 4 * * *"));
  CHECK(unknown.status == 404);
  CHECK(unknown.body == R"({"id":"nope","message":"Job not found"})");
  // Without schedules, the job has none left.
  auto bare = c.send("PUT", "/v0/scheduled-jobs/backup",
                     job_json("backup", "true"));
  REQUIRE_MESSAGE(bare.status == 200, bare.body);
  CHECK(c.get("/v1/jobs/backup/schedules/nightly").status == 404);
}

TEST_CASE("the dcos job commands, as the DC/OS CLI spells them") {
  cluster c;
  auto where = fmt::format("--metronome=127.0.0.1:{}", c.port);
  auto file = c.dir / "job.json";
  {
    std::ofstream out{file};
    out << job_json("cleanup", "echo cleaning");
  }
  auto dcos = [&](std::vector<std::string> args) {
    args.insert(args.begin(), binary("DCOS_CLI"));
    args.push_back(where);
    return run_to_end(std::move(args));
  };
  auto added = dcos({"job", "add", file});
  CHECK_MESSAGE(added.status == 0, added.out);
  auto again = dcos({"job", "add", file});
  CHECK(again.status == 1);
  CHECK(again.out.find("Job with this id already exists") != std::string::npos);
  auto run = dcos({"job", "run", "cleanup"});
  CHECK_MESSAGE(run.status == 0, run.out);
  CHECK(run.out.rfind("Run ID: ", 0) == 0);
  REQUIRE(eventually([&] {
    return number(c.history("cleanup"), "successCount") == 1;
  }));
  auto listed = dcos({"job", "list"});
  CHECK(listed.status == 0);
  CHECK(listed.out.find("cleanup") != std::string::npos);
  CHECK(listed.out.find("Success") != std::string::npos);
  auto history = dcos({"job", "history", "cleanup"});
  CHECK(history.status == 0);
  CHECK(history.out.find(run.out.substr(8, 19)) != std::string::npos);
  auto shown = dcos({"job", "show", "cleanup"});
  CHECK(shown.out.find("\"cmd\": \"echo cleaning\"") != std::string::npos);
  CHECK(dcos({"job", "remove", "cleanup"}).status == 0);
  auto missing = dcos({"job", "show", "cleanup"});
  CHECK(missing.status == 1);
  CHECK(missing.out.find("Job not found") != std::string::npos);
  CHECK(dcos({"job", "frobnicate"}).status == 2);
}

// The leader the instance on `at` names, "" while it answers otherwise (503
// while none is known, or while the elected one loads its state).
std::string leader_named_at(uint16_t at) {
  auto r = curl({cluster::url_at(at, "/leader")});
  return r.status == 200 ? parse_json_object(r.body)
                             .fields()
                             .at("leader")
                             .string_value()
                         : "";
}

TEST_CASE("several Metronomes over ZooKeeper: the standby forwards to the "
          "leader, and after kill -9 of the leader right after a tick takes "
          "over with the same framework and runs that tick once") {
  test_zookeeper zk;
  cluster c{{"--zk=" + zk.url("/metronome"), "--zk_session_timeout=2000"}};
  auto a_address = fmt::format("127.0.0.1:{}", c.port);
  REQUIRE(eventually([&] { return leader_named_at(c.port) == a_address; },
                     30s));
  uint16_t b_port = free_port();
  auto b_address = fmt::format("127.0.0.1:{}", b_port);
  auto b = c.start_instance(b_port, "-b");
  REQUIRE(eventually([&] { return leader_named_at(b_port) == a_address; },
                     30s));
  auto on_b = [&](std::vector<std::string> args) {
    args.push_back(cluster::url_at(b_port, args.back()));
    args.erase(args.end() - 2);
    return curl(args);
  };

  // The standby forwards, and says through whom and to whom.
  auto listed = on_b({"-i", "/v1/jobs"});
  CHECK(listed.status == 200);
  CHECK(listed.body.find("X-LEADER: " + a_address) != std::string::npos);
  CHECK(listed.body.find("X-VIA: " + b_address) != std::string::npos);
  // /ping is the asked instance's own; a request that came through the
  // standby already is a loop.
  auto ping = on_b({"-i", "/ping"});
  CHECK(ping.status == 200);
  CHECK(ping.body.find("X-VIA") == std::string::npos);
  auto own_metrics = on_b({"-i", "/v1/metrics"});
  CHECK(own_metrics.status == 200);
  CHECK(own_metrics.body.find("X-VIA") == std::string::npos);
  CHECK(own_metrics.body.find(R"("metronome.leader.gauge":{"value":0})")
        != std::string::npos);
  auto loop = on_b({"-H", "X-VIA: " + b_address, "/v1/jobs"});
  CHECK(loop.status == 400);
  CHECK(loop.body == "Prevent proxying already proxied request");
  // Bad input forwarded gets the leader's refusal unchanged, and changes
  // nothing.
  auto bad = on_b({"-X", "POST", "-H", "Content-Type: application/json",
                   "--data-binary", job_json("Bad_Id", "true"), "/v1/jobs"});
  CHECK(bad.status == 422);
  CHECK(bad.body.find(R"("path":"/id")") != std::string::npos);
  auto body = job_json("tick", "sleep 2");
  body.pop_back();
  body += R"(,"schedules":[{"id":"every-minute","cron":"* * * * *"}]})";
  auto posted = on_b({"-X", "POST", "-H", "Content-Type: application/json",
                      "--data-binary", body, "/v1/jobs"});
  REQUIRE_MESSAGE(posted.status == 201, posted.body);
  auto framework_of = [](const http_result& r) {
    return parse_json_object(r.body)
      .fields()
      .at("config")
      .struct_value()
      .fields()
      .at("framework_id")
      .string_value();
  };
  auto framework = c.get("/info");
  REQUIRE(framework.status == 200);
  auto jobs = c.get("/v1/jobs");
  CHECK(jobs.body.find("Bad_Id") == std::string::npos);

  // The tick comes within a minute; the leader dies as soon as its run is
  // there.
  auto run_id = first_run_of(c, "tick");
  c.metronome->kill(SIGKILL);
  exit_status_within(*c.metronome, 10s);
  c.metronome.reset();
  REQUIRE(eventually([&] { return leader_named_at(b_port) == b_address; },
                     30s));
  CHECK(framework_of(on_b({"/info"})) == framework_of(framework));
  // The new leader finds the tick's run in ZooKeeper, and starts no other.
  auto history = [&] {
    auto r = on_b({"/v1/jobs/tick?embed=history"});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return parse_json_object(r.body).fields().at("history").struct_value();
  };
  REQUIRE(eventually([&] { return number(history(), "successCount") >= 1; },
                     30s));
  auto h = history();
  check_ran_once_per_minute(h, run_id);
  b.kill(SIGTERM);
  CHECK(exit_status_within(b, 10s).value_or(-1) == 0);

  // A bad flag: the state lives in one place.
  auto both = run_to_end({binary("DCOS_METRONOME_BIN"),
                          "--zk=" + zk.url("/metronome"), "--work_dir=/tmp"});
  CHECK(both.status != 0);
  CHECK(both.out.find("--work_dir") != std::string::npos);
}
