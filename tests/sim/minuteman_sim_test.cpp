// Minuteman in the deterministic simulation: its real VIP table actor, fed
// by libdcos' cluster view, follows the master's operator event stream
// across a simulated link (lost messages break the connection; the master
// crashes and restarts; agents crash, partition and come back) beside the
// real master, agents and executors and two workload frameworks whose tasks
// declare VIPs (one named, one an address) and start, fail and end
// throughout.
//
// The check, for every seed: once the faults are over and again at the end,
// the backends Minuteman balances over equal, per VIP, the running and
// healthy tasks of the master's own GET_STATE (unreachable ones only as a
// last resort), at most an event behind (see simulation::add_state_check).
//
// DCOS_SIM_SEEDS: how many seeds (default 10; CI runs 40); a failing seed
// is named and reproduces alone with DCOS_SIM_SEED.
#include <algorithm>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/cluster_view_actor.hpp"
#include "dcos/sim.hpp"
#include "dcos/vip_table.hpp"
#include "support/seed.hpp"
#include "support/service_sim.hpp"
#include "vip_table_actor.hpp"

using namespace dcos;
using namespace dcos::minuteman;
using namespace std::chrono_literals;

namespace {

// The services' scenario; every task of web0 declares a named VIP, every
// task of web1 an address VIP.
sim::scenario scenario(uint64_t seed) {
  auto sc = test::service_fault_scenario(seed, "minuteman_faults");
  sc.frameworks[0].vip = "/web:80";
  sc.frameworks[1].vip = "10.10.0.1:8080";
  return sc;
}

// One line per VIP and backend, sorted: what is compared.
std::vector<std::string> lines(const vip_table& t) {
  std::vector<std::string> out;
  for (const auto& v : t.vips) {
    out.push_back(fmt::format("{} {}", v.key(), v.dns_name));
    for (const auto& b : v.backends)
      out.push_back(fmt::format("{} -> {}:{} {} {}", v.key(), b.ip, b.port,
                                b.task_id,
                                b.status == vip_backend::state::up
                                  ? "up"
                                  : "unreachable"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct vip_run {
  sim::report report;
  size_t most_backends = 0; // of the tables found to agree
};

vip_run run(uint64_t seed) {
  auto holder = std::make_shared<vip_holder>();
  vip_run out;
  sim::simulation s{scenario(seed), seed};
  s.add_framework([holder](caf::actor_system& sys, detector_actor detector) {
    vip_table_config cfg;
    cfg.holder = holder;
    auto table = spawn_vip_table_actor(sys, cfg);
    auto view = spawn_cluster_view(sys, detector, table);
    caf::actor_cast<caf::abstract_actor*>(view)->attach_functor(
      [table](const caf::error&) {
        caf::anon_send_exit(table, caf::exit_reason::kill);
      });
    return caf::actor_cast<caf::actor>(view);
  });
  s.add_state_check([holder, &out](const v1::master::Response::GetState& state,
                                   const v1::MasterInfo&) -> std::string {
    auto served = holder->current();
    if (!served)
      return "no VIP table yet";
    auto expected = build_vip_table(state);
    auto diff = test::line_differences("Minuteman's VIP table",
                                       lines(*served), lines(expected));
    if (diff.empty()) {
      size_t backends = 0;
      for (const auto& v : expected.vips)
        backends += v.backends.size();
      out.most_backends = std::max(out.most_backends, backends);
    }
    return diff;
  });
  out.report = s.run();
  return out;
}

} // namespace

TEST_CASE("Minuteman's backends follow the master's running, healthy tasks "
          "through faults, every seed") {
  caf::timespan slowest{0};
  size_t backends = 0;
  auto seeds = test::sim_seeds(10);
  for (auto seed : seeds) {
    auto r = run(seed);
    test::require_passed(r.report, seed, "test_sim_minuteman");
    // Tasks were running on both VIPs when the tables were compared.
    CHECK(r.most_backends > 20);
    slowest = std::max(slowest, r.report.stats.services_agreed);
    backends = std::max(backends, r.most_backends);
  }
  MESSAGE(fmt::format("{} seeds; the VIP table agreed with the master within "
                      "{} ms of virtual time at worst; most backends "
                      "compared: {}",
                      seeds.size(),
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                        slowest)
                        .count(),
                      backends));
}
