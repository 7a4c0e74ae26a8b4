// Metronome's v1 REST API on the libdcos HTTP edge: the routes, their
// answers in Metronome's JSON (camelCase, its status codes and error
// bodies), and the requests they make of the metronome actor.
//
// Served: /ping, /info, /metrics (Prometheus), /v1/jobs (GET with embed=
// activeRuns, schedules, history, historySummary; POST), /v1/jobs/{id} (GET,
// PUT, DELETE with stopCurrentJobRuns), /v1/jobs/{id}/runs (GET; POST: run
// now), /v1/jobs/{id}/runs/{runId} (GET), .../runs/{runId}/actions/stop
// (POST), /v1/jobs/{id}/schedules (GET, POST) and
// /v1/jobs/{id}/schedules/{scheduleId} (GET, PUT, DELETE).
//
// Thread-safety: metronome_routes() is called once, on the main thread; the
// handlers it returns run on the HTTP threads and only send messages.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include <dcos/http_router.hpp>

#include "metronome_actor.hpp"

namespace dcos::metronome {

/// What /info shows.
struct metronome_http_info {
  std::string name = "metronome"; // the framework's name
  std::string master;             // the --master flag
  std::string version;
  size_t history_count = 0;
};

/// REQUIRES: `sys` and `metronome` outlive the server that serves the
/// routes.
http_router metronome_routes(caf::actor_system& sys, metronome_actor metronome,
                             metronome_http_info info);

} // namespace dcos::metronome
