// dcos job: Metronome's jobs from the command line, spelled as the DC/OS
// CLI spells them, over Metronome's v1 REST API:
//
//   dcos job add [FILE|-]                POST /v1/jobs (stdin without FILE)
//   dcos job list [--json]
//   dcos job show ID
//   dcos job run ID                      prints the run's id
//   dcos job remove ID [--stop_current_job_runs]
//   dcos job history ID [--json] [--show_failures]
//
// Every command takes --metronome=HOST:PORT (127.0.0.1:9000). Metronome's
// own error message is printed on failure (exit 1); bad usage exits 2.
#include <cstdio>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "rest_call.hpp"

namespace dcos::cli {

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

int fail(const std::string& what, const caf::error& err) {
  std::fprintf(stderr, "dcos job %s: %s\n", what.c_str(),
               describe_reason(err).c_str());
  return 1;
}

// A JSON array answered by Metronome, as a list.
caf::expected<ListValue> parse_list(const rest_service& metronome,
                                    const std::string& body) {
  auto wrapped = parse_answer(metronome, "{\"list\":" + body + "}");
  if (!wrapped)
    return wrapped.error();
  return field(*wrapped, "list").list_value();
}

std::string text_of(const Value& v) {
  return v.has_string_value() ? v.string_value() : "---";
}

} // namespace

int job(int argc, char** argv) {
  if (argc < 2)
    return usage_error("job: which command? (add, list, show, run, remove, "
                       "history)");
  std::string sub = argv[1];
  std::string address = "127.0.0.1:9000";
  bool json = false;
  bool stop_runs = false;
  bool show_failures = false;
  flags f{"dcos job add|list|show|run|remove|history ...",
          "Manages Metronome's jobs."};
  f.add(&address, "metronome", "HOST:PORT of Metronome");
  f.add(&json, "json", "print Metronome's JSON (list, history)");
  f.add(&stop_runs, "stop_current_job_runs",
        "stop the job's active runs first (remove)");
  f.add(&show_failures, "show_failures", "list the failed runs (history)");
  parse_or_exit(f, argc - 1, argv + 1);
  rest_service metronome{"Metronome", address, 9000};
  const auto& args = f.positional();
  if (sub == "add") {
    auto body = read_input(args.empty() ? "" : args[0]);
    if (body.empty())
      return usage_error("job add: no job definition (give a file, or JSON "
                         "on stdin)");
    auto r = rest_call(metronome, "POST", "/v1/jobs", body);
    if (!r)
      return fail("add", r.error());
    return 0;
  }
  if (sub == "list") {
    auto r = rest_call(metronome, "GET", "/v1/jobs?embed=historySummary");
    if (!r)
      return fail("list", r.error());
    auto jobs = parse_list(metronome, *r);
    if (!jobs)
      return fail("list", jobs.error());
    if (json) {
      std::puts(pretty(*jobs).c_str());
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "STATUS", "LAST RUN"}};
    for (const auto& v : jobs->values()) {
      const auto& j = v.struct_value();
      bool scheduled = field(j, "schedules").list_value().values_size() > 0;
      const auto& h = field(j, "historySummary").struct_value();
      auto success = text_of(field(h, "lastSuccessAt"));
      auto failure = text_of(field(h, "lastFailureAt"));
      std::string last = "N/A";
      if (success != "---" || failure != "---")
        last = success != "---" && (failure == "---" || success > failure)
                 ? "Success"
                 : "Failed";
      rows.push_back({field(j, "id").string_value(),
                      scheduled ? "Scheduled" : "Unscheduled", last});
    }
    print_table(rows);
    return 0;
  }
  if (args.empty())
    return usage_error("job " + sub + ": which job? (give its id)");
  const auto& id = args[0];
  if (sub == "show") {
    auto r = rest_call(metronome, "GET", "/v1/jobs/" + id);
    if (!r)
      return fail("show", r.error());
    auto answer = parse_answer(metronome, *r);
    if (!answer)
      return fail("show", answer.error());
    std::puts(pretty(*answer).c_str());
    return 0;
  }
  if (sub == "run") {
    auto r = rest_call(metronome, "POST", "/v1/jobs/" + id + "/runs");
    if (!r)
      return fail("run", r.error());
    auto run = parse_answer(metronome, *r);
    if (!run)
      return fail("run", run.error());
    std::printf("Run ID: %s\n", field(*run, "id").string_value().c_str());
    return 0;
  }
  if (sub == "remove") {
    auto r = rest_call(metronome, "DELETE",
                       "/v1/jobs/" + id
                         + (stop_runs ? "?stopCurrentJobRuns=true" : ""));
    if (!r)
      return fail("remove", r.error());
    return 0;
  }
  if (sub == "history") {
    auto r = rest_call(metronome, "GET", "/v1/jobs/" + id + "?embed=history");
    if (!r)
      return fail("history", r.error());
    auto answer = parse_answer(metronome, *r);
    if (!answer)
      return fail("history", answer.error());
    const auto& h = field(*answer, "history").struct_value();
    if (json) {
      std::puts(pretty(h).c_str());
      return 0;
    }
    std::printf("'%s'  Successful runs: %s  Last Successful Run: %s\n",
                id.c_str(), number(field(h, "successCount")).c_str(),
                text_of(field(h, "lastSuccessAt")).c_str());
    std::vector<std::vector<std::string>> rows{{"ID", "STARTED", "FINISHED"}};
    for (const auto& v : field(h, "successfulFinishedRuns").list_value()
                           .values()) {
      const auto& run = v.struct_value();
      rows.push_back({field(run, "id").string_value(),
                      field(run, "createdAt").string_value(),
                      field(run, "finishedAt").string_value()});
    }
    print_table(rows);
    if (show_failures) {
      std::printf("\n'%s'  Failure runs: %s  Last Failure Run: %s\n",
                  id.c_str(), number(field(h, "failureCount")).c_str(),
                  text_of(field(h, "lastFailureAt")).c_str());
      std::vector<std::vector<std::string>> failed{
        {"ID", "STARTED", "FINISHED"}};
      for (const auto& v : field(h, "failedFinishedRuns").list_value()
                             .values()) {
        const auto& run = v.struct_value();
        failed.push_back({field(run, "id").string_value(),
                          field(run, "createdAt").string_value(),
                          field(run, "finishedAt").string_value()});
      }
      print_table(failed);
    }
    return 0;
  }
  return usage_error("unknown command 'job " + sub
                     + "' (add, list, show, run, remove, history)");
}

} // namespace dcos::cli
