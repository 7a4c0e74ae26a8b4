// Metronome's v1 REST API on the libdcos HTTP edge: the routes, their
// answers in Metronome's JSON (camelCase, its status codes and error
// bodies), and the requests they make of the metronome actor.
//
// Served: /ping, /info, /leader, /metrics (Prometheus), /v1/metrics
// (Dropwizard JSON), /v1/queue (runs waiting to launch), /v1/jobs (GET with embed=
// activeRuns, schedules, history, historySummary; POST), /v1/jobs/{id} (GET,
// PUT, DELETE with stopCurrentJobRuns), /v1/jobs/{id}/runs (GET; POST: run
// now), /v1/jobs/{id}/runs/{runId} (GET), .../runs/{runId}/actions/stop
// (POST), /v1/jobs/{id}/schedules (GET, POST) and
// /v1/jobs/{id}/schedules/{scheduleId} (GET, PUT, DELETE); v0's
// /v0/scheduled-jobs (POST) and /v0/scheduled-jobs/{id} (PUT: the job with
// its schedules replaced).
//
// Thread-safety: metronome_routes() is called once, on the main thread; the
// handlers it returns run on the HTTP threads and only send messages.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include <dcos/http_router.hpp>
#include <dcos/leader_proxy.hpp>

#include "metronome_actor.hpp"

namespace dcos::metronome {

/// What /info shows.
struct metronome_http_info {
  std::string name = "metronome"; // the framework's name
  std::string master;             // the --master flag
  std::string leader;             // this instance's HOST:PORT (/leader)
  std::string version;
  size_t history_count = 0;
};

/// REQUIRES: `sys` and `metronome` outlive the server that serves the
/// routes.
http_router metronome_routes(caf::actor_system& sys, metronome_actor metronome,
                             metronome_http_info info);

/// What a standby answers itself (never forwarded, as Metronome's
/// LeaderProxyFilter keeps them): GET /ping ("pong") and GET /v1/metrics
/// (its own figures: it leads nothing, so no jobs).
http_handler metronome_standby_handler();

/// How Metronome's leader proxy speaks: a standby's forwarded answers carry
/// `X-LEADER: HOST:PORT` and `X-VIA: HOST:PORT` (its own); a loop gets 400
/// "Prevent proxying already proxied request", no leader 503 "No consistent
/// leadership", both as text; /ping and /v1/metrics are answered by every
/// instance.
leader_proxy_dialect metronome_proxy_dialect();

} // namespace dcos::metronome
