// Metronome job definitions: reading a job or a schedule from a request as
// Metronome does (its required fields, defaults, validation rules and
// error answers), and the ids that name them.
//
// A job as read is complete: every field Metronome defaults is set, so
// that printing it (to_json, json_style::marathon) gives what Metronome
// answers. Refused requests get Metronome's answers: 400 for a body that
// is not JSON, 422 {"message": "Object is not valid", "details": [...]}
// with the path of each error ("/run/cpus", "/schedules(0)/cron").
//
// Thread-safety: plain functions. Reading a schedule looks up its time
// zone (load_time_zones() first, see cron_spec.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dcos/http_server.hpp>
#include <dcos/json_request.hpp>
#include <dcos/placement_constraint.hpp>

#include "cron_spec.hpp"
#include "metronome.pb.h"

namespace dcos::metronome {

/// True if `id` is a valid job id: dot-separated segments of lowercase
/// letters, digits and dashes, no segment starting or ending with a dash.
bool valid_job_id(std::string_view id);

/// Fills in what `job` leaves out with Metronome's defaults: gpus 0,
/// maxLaunchDelay 3600 s, restart NEVER, no constraints, artifacts that
/// extract and neither execute nor cache; and its schedules'.
/// (cpus, mem and disk have none: Metronome requires them.)
void apply_defaults(Job* job);
/// A schedule's: timezone UTC, startingDeadlineSeconds 900,
/// concurrencyPolicy ALLOW, enabled.
void apply_defaults(Schedule* schedule);

/// The violations of `job` (defaults applied), empty if it is valid. A
/// schedule must come due after `now` (the caller's clock: an actor's).
std::vector<violation> validate_job(const Job& job, sys_seconds now);

/// The violations of `schedule` (defaults applied), with paths under
/// `prefix` ("" for a schedule read alone, "/schedules(0)" in a job).
/// `embedded`: a schedule in a job takes a job-style id; one read alone
/// needs two characters at least and no dots, as Metronome's schema.
std::vector<violation> validate_schedule(const Schedule& schedule,
                                         std::string_view prefix,
                                         bool embedded, sys_seconds now);

/// Reads the job in `body` (JSON). `path_id` is the id named by the URL
/// (PUT /v1/jobs/{id}; empty for POST): it wins over the body's. On
/// success `*job` is the defaulted, valid job; otherwise the answer that
/// refuses the request, and `*job` is unspecified.
std::optional<http_response> read_job(std::string_view body,
                                      std::string_view path_id,
                                      sys_seconds now, Job* job);

/// Reads a schedule (POST /v1/jobs/{id}/schedules, and PUT
/// .../schedules/{sid} with `path_id`), as read_job() reads a job.
std::optional<http_response> read_schedule(std::string_view body,
                                           std::string_view path_id,
                                           sys_seconds now,
                                           Schedule* schedule);

/// The job's placement constraints as the launch machinery takes them.
/// REQUIRES: `job` is valid.
std::vector<placement_constraint> constraints_of(const Job& job);

} // namespace dcos::metronome
