#include "metronome_http.hpp"

#include <chrono>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/http_ask.hpp>
#include <dcos/json.hpp>
#include <dcos/json_request.hpp>

#include "job_definition.hpp"

namespace dcos::metronome {

namespace {

using namespace std::chrono_literals;

constexpr caf::timespan api_timeout = 30s;

// {"id": ..., "message": ...}: Metronome's answer naming what is missing.
http_response not_found(const std::string& id, std::string_view message,
                        const std::string& job = {}) {
  std::string body = "{";
  if (!job.empty()) {
    body += "\"jobSpec\":";
    append_json_string(body, job);
    body += ',';
  }
  body += "\"id\":";
  append_json_string(body, id);
  body += ",\"message\":";
  append_json_string(body, message);
  body += '}';
  return json_response(404, std::move(body));
}

// Metronome's answer to a failed call about `id` (of job `job`).
auto failure_for(std::string id, std::string job = {}) {
  return [id = std::move(id), job = std::move(job)](const caf::error& err) {
    switch (code_of(err)) {
      case errc::not_found:
        return not_found(id, describe_reason(err), job);
      case errc::conflict:
        return message_response(409, describe_reason(err));
      case errc::unavailable:
        return message_response(503, describe_reason(err));
      case errc::invalid_argument: // Metronome's ValidationError
        return message_response(422, describe_reason(err));
      default:
        return message_response(500, describe(err));
    }
  };
}

std::string json_of(const google::protobuf::Message& m) {
  return to_json(m, json_style::marathon);
}

template <class List>
std::string json_array(const List& items) {
  std::string out = "[";
  for (const auto& x : items) {
    if (out.size() > 1)
      out += ',';
    out += json_of(x);
  }
  out += ']';
  return out;
}

// The embed options of a request; nullopt (and the 400 in `*refused`) if
// one is unknown.
std::optional<std::set<std::string>>
embeds_of(const http_request& req, std::optional<http_response>* refused) {
  static const std::set<std::string> known{"activeRuns", "schedules",
                                           "history", "historySummary"};
  std::set<std::string> out;
  auto at = req.query.find("embed");
  if (at == req.query.end())
    return out;
  size_t start = 0;
  const auto& text = at->second;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos
                                     ? std::string::npos
                                     : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty())
      continue;
    if (!known.count(item)) {
      *refused = message_response(400, "Unknown embed options. Valid "
                                       "options are: activeRuns, schedules, "
                                       "history, historySummary");
      return std::nullopt;
    }
    out.insert(item);
  }
  return out;
}

// A job as GET answers it, with what `embed` asks for.
std::string job_json(const JobStatus& status,
                     const std::set<std::string>& embed) {
  auto out = json_of(status.job());
  out.pop_back(); // '}'
  if (embed.count("activeRuns"))
    out += ",\"activeRuns\":" + json_array(status.active_runs());
  const auto& h = status.history();
  if (embed.count("history"))
    out += ",\"history\":" + json_of(h);
  if (embed.count("historySummary")) {
    JobHistory summary;
    summary.set_success_count(h.success_count());
    summary.set_failure_count(h.failure_count());
    *summary.mutable_last_success_at() = h.last_success_at();
    *summary.mutable_last_failure_at() = h.last_failure_at();
    summary.set_missed_count(h.missed_count());
    auto text = json_of(summary);
    // The lists are not part of a summary.
    for (auto list : {",\"successfulFinishedRuns\":[]",
                      ",\"failedFinishedRuns\":[]", ",\"missedTicks\":[]"})
      if (auto at = text.find(list); at != std::string::npos)
        text.erase(at, std::string_view{list}.size());
    out += ",\"historySummary\":" + text;
  }
  out += '}';
  return out;
}

bool flag(const http_request& req, const std::string& name) {
  auto at = req.query.find(name);
  return at != req.query.end() && (at->second == "true" || at->second == "1");
}

sys_seconds wall_now() {
  // The HTTP edge is not an actor: the wall clock is its clock.
  return date::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

// What the metrics count, over every job.
struct job_totals {
  size_t jobs = 0;
  int64_t active = 0, success = 0, failure = 0, missed = 0;
};

job_totals totals_of(const std::vector<JobStatus>& jobs) {
  job_totals t;
  t.jobs = jobs.size();
  for (const auto& j : jobs) {
    t.active += j.active_runs_size();
    t.success += j.history().success_count();
    t.failure += j.history().failure_count();
    t.missed += j.history().missed_count();
  }
  return t;
}

http_response prometheus_response(const std::vector<JobStatus>& jobs) {
  auto t = totals_of(jobs);
  http_response out;
  out.content_type = "text/plain; version=0.0.4";
  out.body = fmt::format(
    "# TYPE metronome_jobs gauge\nmetronome_jobs {}\n"
    "# TYPE metronome_runs_active gauge\nmetronome_runs_active {}\n"
    "# TYPE metronome_runs_total counter\n"
    "metronome_runs_total{{status=\"success\"}} {}\n"
    "metronome_runs_total{{status=\"failure\"}} {}\n"
    "# TYPE metronome_ticks_missed_total counter\n"
    "metronome_ticks_missed_total {}\n",
    t.jobs, t.active, t.success, t.failure, t.missed);
  return out;
}

// GET /v1/metrics: Dropwizard's JSON registry, as Metronome serves it
// (Marathon's metrics module): gauges {"value"}, counters {"count"}.
// `jobs` is null on a standby.
http_response dropwizard_response(const std::vector<JobStatus>* jobs) {
  auto t = jobs != nullptr ? totals_of(*jobs) : job_totals{};
  return json_response(
    200,
    fmt::format(
      "{{\"version\":\"4.0.0\",\"gauges\":{{"
      "\"metronome.leader.gauge\":{{\"value\":{}}},"
      "\"metronome.jobs.gauge\":{{\"value\":{}}},"
      "\"metronome.jobs.active.gauge\":{{\"value\":{}}}}},"
      "\"counters\":{{"
      "\"metronome.jobs.started.counter\":{{\"count\":{}}},"
      "\"metronome.jobs.succeeded.counter\":{{\"count\":{}}},"
      "\"metronome.jobs.failed.counter\":{{\"count\":{}}},"
      "\"metronome.ticks.missed.counter\":{{\"count\":{}}}}},"
      "\"histograms\":{{}},\"meters\":{{}},\"timers\":{{}}}}",
      jobs != nullptr ? 1 : 0, t.jobs, t.active,
      t.active + t.success + t.failure, t.success, t.failure, t.missed));
}

// GET /v1/queue: the runs waiting for a task to be launched (no task yet),
// by job, as Metronome's launch queue lists them.
http_response launch_queue(const std::vector<JobStatus>& jobs) {
  std::string body = "[";
  for (const auto& j : jobs) {
    std::string runs;
    for (const auto& run : j.active_runs()) {
      if (run.tasks_size() > 0)
        continue;
      runs += runs.empty() ? "{\"runId\":" : ",{\"runId\":";
      append_json_string(runs, run.id());
      runs += "}";
    }
    if (runs.empty())
      continue;
    body += body.size() > 1 ? ",{\"jobId\":" : "{\"jobId\":";
    append_json_string(body, j.job().id());
    body += ",\"runs\":[" + runs + "]}";
  }
  body += "]";
  return json_response(200, std::move(body));
}

void answer_ping(const http_request&, http_responder respond) {
  http_response pong;
  pong.content_type = "text/plain";
  pong.body = "pong";
  respond(std::move(pong));
}

class routes {
public:
  routes(caf::actor_system& sys, metronome_actor metronome)
    : sys_(sys), metronome_(std::move(metronome)) {
  }

  template <class OnReply, class OnFailure, class... Ts>
  void call(const http_responder& respond, OnReply on_reply,
            OnFailure on_failure, Ts... msg) const {
    ask_for_response(sys_, metronome_, api_timeout, respond,
                     std::move(on_reply), std::move(on_failure),
                     std::move(msg)...);
  }

  void list_jobs(const http_request& req, const http_responder& respond) {
    std::optional<http_response> refused;
    auto embed = embeds_of(req, &refused);
    if (!embed)
      return respond(std::move(*refused));
    call(
      respond,
      [embed = *embed](const std::vector<JobStatus>& jobs) {
        std::string body = "[";
        for (const auto& j : jobs) {
          if (body.size() > 1)
            body += ',';
          body += job_json(j, embed);
        }
        body += ']';
        return json_response(200, std::move(body));
      },
      failure_for(""), get_atom::value, jobs_atom::value,
      embed->count("history") > 0);
  }

  void create_job(const http_request& req, const http_responder& respond) {
    Job job;
    if (auto refused = read_job(req.body, "", wall_now(), &job))
      return respond(std::move(*refused));
    auto id = job.id();
    call(
      respond,
      [](const Job& created) { return json_response(201, json_of(created)); },
      failure_for(id), put_atom::value, std::move(job), true);
  }

  // PUT /v0/scheduled-jobs/{id}: the job replaced with its schedules.
  void put_scheduled_job(const http_request& req,
                         const http_responder& respond) {
    auto parts = path_segments(std::string_view{req.path}.substr(19));
    if (parts.size() != 1)
      return respond(message_response(404, "Unknown route."));
    put_job(req, parts[0], respond, true);
  }

  // /v1/jobs/{id}[/...], any method.
  void job_resource(const http_request& req, const http_responder& respond) {
    auto parts = path_segments(std::string_view{req.path}.substr(9));
    if (parts.empty())
      return respond(message_response(404, "Unknown route."));
    const auto& id = parts[0];
    const auto& m = req.method;
    if (parts.size() == 1) {
      if (m == "GET" || m == "HEAD")
        return get_job(req, id, respond);
      if (m == "PUT")
        return put_job(req, id, respond, false);
      if (m == "DELETE")
        return call(
          respond,
          [](const Job& job) { return json_response(200, json_of(job)); },
          failure_for(id), erase_atom::value, id,
          flag(req, "stopCurrentJobRuns"));
      return respond(method_not_allowed({"GET", "PUT", "DELETE"}));
    }
    if (parts[1] == "runs")
      return runs(req, parts, respond);
    if (parts[1] == "schedules")
      return schedules(req, parts, respond);
    respond(message_response(404, "Unknown route."));
  }

private:
  void get_job(const http_request& req, const std::string& id,
               const http_responder& respond) {
    std::optional<http_response> refused;
    auto embed = embeds_of(req, &refused);
    if (!embed)
      return respond(std::move(*refused));
    call(
      respond,
      [embed = *embed](const JobStatus& status) {
        return json_response(200, job_json(status, embed));
      },
      failure_for(id), get_atom::value, jobs_atom::value, id);
  }

  // Replaces job `id`: with the schedules in the body (v0), or keeping
  // its own (v1).
  void put_job(const http_request& req, const std::string& id,
               const http_responder& respond, bool with_schedules) {
    if (!valid_job_id(id))
      return respond(message_response(400, "Not a valid id: " + id));
    Job job;
    if (auto refused = read_job(req.body, id, wall_now(), &job))
      return respond(std::move(*refused));
    auto replaced = [](const Job& x) { return json_response(200, json_of(x)); };
    if (with_schedules)
      call(respond, replaced, failure_for(id), put_atom::value,
           schedule_atom::value, std::move(job));
    else
      call(respond, replaced, failure_for(id), put_atom::value,
           std::move(job), false);
  }

  // /v1/jobs/{id}/runs[/{runId}[/actions/stop]]
  void runs(const http_request& req, const std::vector<std::string>& parts,
            const http_responder& respond) {
    const auto& id = parts[0];
    const auto& m = req.method;
    if (parts.size() == 2) {
      if (m == "POST")
        return call(
          respond,
          [](const JobRun& run) { return json_response(201, json_of(run)); },
          failure_for(id), put_atom::value, runs_atom::value, id);
      if (m == "GET" || m == "HEAD")
        return call(
          respond,
          [](const JobStatus& status) {
            return json_response(200, json_array(status.active_runs()));
          },
          failure_for(id), get_atom::value, jobs_atom::value, id);
      return respond(method_not_allowed({"GET", "POST"}));
    }
    const auto& run_id = parts[2];
    if (parts.size() == 3) {
      if (m != "GET" && m != "HEAD")
        return respond(method_not_allowed({"GET"}));
      return call(
        respond,
        [id, run_id](const JobStatus& status) {
          for (const auto& run : status.active_runs())
            if (run.id() == run_id)
              return json_response(200, json_of(run));
          return not_found(run_id, "Job Run not found", id);
        },
        failure_for(id), get_atom::value, jobs_atom::value, id);
    }
    if (parts.size() == 5 && parts[3] == "actions" && parts[4] == "stop") {
      if (m != "POST")
        return respond(method_not_allowed({"POST"}));
      return call(
        respond,
        [](const JobRun& run) { return json_response(200, json_of(run)); },
        [id, run_id](const caf::error& err) {
          if (code_of(err) == errc::not_found
              && describe_reason(err) == "Job Run not found")
            return not_found(run_id, "Job Run not found", id);
          return failure_for(id)(err);
        },
        stop_atom::value, id, run_id);
    }
    respond(message_response(404, "Unknown route."));
  }

  // /v1/jobs/{id}/schedules[/{scheduleId}]
  void schedules(const http_request& req,
                 const std::vector<std::string>& parts,
                 const http_responder& respond) {
    const auto& id = parts[0];
    const auto& m = req.method;
    if (parts.size() == 2) {
      if (m == "GET" || m == "HEAD")
        return call(
          respond,
          [](const JobStatus& status) {
            return json_response(200,
                                 json_array(status.job().schedules()));
          },
          failure_for(id), get_atom::value, jobs_atom::value, id);
      if (m == "POST") {
        Schedule s;
        if (auto refused = read_schedule(req.body, "", wall_now(), &s))
          return respond(std::move(*refused));
        return call(
          respond,
          [](const Schedule& x) { return json_response(201, json_of(x)); },
          failure_for(id), put_atom::value, schedule_atom::value, id,
          std::move(s), true);
      }
      return respond(method_not_allowed({"GET", "POST"}));
    }
    if (parts.size() != 3)
      return respond(message_response(404, "Unknown route."));
    const auto& sid = parts[2];
    // A missing schedule is answered with its own id, a missing job with
    // the job's.
    auto failure = [id, sid](const caf::error& err) {
      if (describe_reason(err) == "Schedule not found")
        return not_found(sid, "Schedule not found");
      return failure_for(id)(err);
    };
    if (m == "GET" || m == "HEAD")
      return call(
        respond,
        [sid](const JobStatus& status) {
          for (const auto& s : status.job().schedules())
            if (s.id() == sid)
              return json_response(200, json_of(s));
          return not_found(sid, "Schedule not found");
        },
        failure, get_atom::value, jobs_atom::value, id);
    if (m == "PUT") {
      Schedule s;
      if (auto refused = read_schedule(req.body, sid, wall_now(), &s))
        return respond(std::move(*refused));
      return call(
        respond,
        [](const Schedule& x) { return json_response(200, json_of(x)); },
        failure, put_atom::value, schedule_atom::value, id, std::move(s),
        false);
    }
    if (m == "DELETE")
      return call(
        respond,
        [](ok_atom) {
          http_response r;
          r.content_type.clear();
          return r;
        },
        failure, erase_atom::value, schedule_atom::value, id, sid);
    respond(method_not_allowed({"GET", "PUT", "DELETE"}));
  }

  caf::actor_system& sys_;
  metronome_actor metronome_;
};

} // namespace

http_handler metronome_standby_handler() {
  http_router local;
  local.get("/ping", answer_ping);
  local.get("/v1/metrics", [](const http_request&, http_responder respond) {
    respond(dropwizard_response(nullptr));
  });
  return std::move(local).handler();
}

leader_proxy_dialect metronome_proxy_dialect() {
  leader_proxy_dialect d;
  d.service = "metronome";
  d.leader_header = "X-LEADER";
  d.via_header = "X-VIA";
  d.loop_status = 400;
  d.loop_message = "Prevent proxying already proxied request";
  d.no_leader_message = "No consistent leadership";
  d.json_refusals = false;
  d.local_paths = {"/ping", "/v1/metrics"};
  return d;
}

http_router metronome_routes(caf::actor_system& sys, metronome_actor metronome,
                             metronome_http_info info) {
  auto r = std::make_shared<routes>(sys, metronome);
  http_router router;
  router.get("/ping", answer_ping);
  router.get("/leader", [leader = info.leader](const http_request&,
                                               http_responder respond) {
    std::string body = "{\"leader\":";
    append_json_string(body, leader);
    body += "}";
    respond(json_response(200, std::move(body)));
  });
  router.get("/info", [&sys, metronome, info](const http_request&,
                                               http_responder respond) {
    ask_for_response(
      sys, metronome, api_timeout, respond,
      [info](const std::string& framework_id) {
        std::string body = "{\"version\":";
        append_json_string(body, info.version);
        body += ",\"libVersion\":";
        append_json_string(body, info.version);
        body += ",\"config\":{\"framework_name\":";
        append_json_string(body, info.name);
        body += ",\"master\":";
        append_json_string(body, info.master);
        body += fmt::format(",\"history_count\":{}", info.history_count);
        body += ",\"framework_id\":";
        append_json_string(body, framework_id);
        body += "}}";
        return json_response(200, std::move(body));
      },
      failure_for(""), get_atom::value, info_atom::value);
  });
  // Answers rendered from every job's status.
  auto from_jobs = [&sys, metronome](
                     http_response (*render)(const std::vector<JobStatus>&)) {
    return [&sys, metronome, render](const http_request&,
                                     http_responder respond) {
      ask_for_response(
        sys, metronome, api_timeout, respond,
        [render](const std::vector<JobStatus>& jobs) { return render(jobs); },
        failure_for(""), get_atom::value, jobs_atom::value, false);
    };
  };
  router.get("/metrics", from_jobs(prometheus_response));
  router.get("/v1/metrics", from_jobs([](const std::vector<JobStatus>& jobs) {
               return dropwizard_response(&jobs);
             }));
  router.get("/v1/queue", from_jobs(launch_queue));
  router.get("/v1/jobs", [r](const http_request& req, http_responder respond) {
    r->list_jobs(req, std::move(respond));
  });
  router.post("/v1/jobs", [r](const http_request& req, http_responder respond) {
    r->create_job(req, std::move(respond));
  });
  // Metronome's v0: a job and its schedules in one document.
  router.post("/v0/scheduled-jobs",
              [r](const http_request& req, http_responder respond) {
                r->create_job(req, std::move(respond));
              });
  router.add_prefix("PUT", "/v0/scheduled-jobs/",
                    [r](const http_request& req, http_responder respond) {
                      r->put_scheduled_job(req, std::move(respond));
                    });
  for (auto method : {"GET", "PUT", "POST", "DELETE"})
    router.add_prefix(method, "/v1/jobs/",
                      [r](const http_request& req, http_responder respond) {
                        r->job_resource(req, std::move(respond));
                      });
  return router;
}

} // namespace dcos::metronome
