// Mesos-DNS in the deterministic simulation: its real zone builder, fed by
// libdcos' cluster view, follows the master's operator event stream across
// a simulated link (lost messages break the connection, as over TCP; the
// master crashes and restarts; agents crash, partition and come back)
// beside the real master, agents and executors and two workload frameworks
// whose tasks start, fail and end throughout.
//
// The check, for every seed: once the faults are over (tasks still coming
// and going) and again at the end, the zone it serves equals the records
// Mesos-DNS' rules make of the master's own GET_STATE, at most an event
// behind (the simulation asks every 100 ms of virtual time and reports how
// long agreement took; see simulation::add_state_check).
//
// DCOS_SIM_SEEDS: how many seeds (default 10; CI runs 40); a failing seed
// is named and reproduces alone with DCOS_SIM_SEED.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/cluster_view_actor.hpp"
#include "dcos/sim.hpp"
#include "support/seed.hpp"
#include "support/service_sim.hpp"
#include "dns_config.hpp"
#include "record_set.hpp"
#include "zone_builder_actor.hpp"

using namespace dcos;
using namespace dcos::mesos_dns;
using namespace std::chrono_literals;

namespace {

struct dns_run {
  sim::report report;
  size_t largest_zone = 0; // records, of the zones found to agree
};

dns_run run(uint64_t seed) {
  auto settings = make_settings(default_config());
  REQUIRE(settings);
  auto zone = std::make_shared<zone_holder>();
  dns_run out;
  sim::simulation s{test::service_fault_scenario(seed, "mesos_dns_faults"),
                    seed};
  s.add_framework([zone, settings = *settings](caf::actor_system& sys,
                                               detector_actor detector) {
    zone_builder_config cfg;
    cfg.settings = settings;
    cfg.zone = zone;
    auto builder = spawn_zone_builder(sys, cfg);
    auto view = spawn_cluster_view(sys, detector, builder);
    // The view is the node the simulation knows; the builder ends with it.
    caf::actor_cast<caf::abstract_actor*>(view)->attach_functor(
      [builder](const caf::error&) {
        caf::anon_send_exit(builder, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(view);
  });
  s.add_state_check([zone, settings = *settings, &out](
                      const v1::master::Response::GetState& state,
                      const v1::MasterInfo& leader) -> std::string {
    auto served = zone->current();
    if (!served)
      return "no zone yet";
    auto expected = record_set::build(state, leader, settings).lines();
    auto diff = test::line_differences("the zone", served->records.lines(),
                                       expected);
    if (diff.empty())
      out.largest_zone = std::max(out.largest_zone, expected.size());
    return diff;
  });
  out.report = s.run();
  return out;
}

} // namespace

TEST_CASE("Mesos-DNS' zone follows the master's state through faults, every "
          "seed") {
  caf::timespan slowest{0};
  size_t records = 0;
  auto seeds = test::sim_seeds(10);
  for (auto seed : seeds) {
    auto r = run(seed);
    test::require_passed(r.report, seed, "test_sim_mesos_dns");
    // Tasks were running when the faults ended: their names were compared.
    CHECK(r.largest_zone > 40);
    slowest = std::max(slowest, r.report.stats.services_agreed);
    records = std::max(records, r.largest_zone);
  }
  MESSAGE(fmt::format("{} seeds; zone agreed with the master within {} ms of "
                      "virtual time at worst; largest zone compared: {} "
                      "records",
                      seeds.size(),
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                        slowest)
                        .count(),
                      records));
}
