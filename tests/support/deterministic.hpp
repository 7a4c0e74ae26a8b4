// Runs actors on CAF's deterministic test coordinator under doctest: no
// threads, virtual time. `run()` processes messages until none is left;
// `advance(d)` moves virtual time forward in small steps so that periodic
// timers fire as often as they would in real time.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "dcos/type_bridge.hpp"

namespace dcos::test {

class deterministic_system {
public:
  deterministic_system() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    register_types(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(
      sys_->scheduler());
  }

  ~deterministic_system() {
    for (auto& a : tracked_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  caf::actor_system& sys() { return *sys_; }

  /// Ends `a` when the system is torn down.
  template <class Handle>
  Handle track(Handle a) {
    tracked_.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  void run() {
    while (sched_->has_job())
      sched_->run();
  }

  void advance(caf::timespan total,
               caf::timespan step = std::chrono::milliseconds(100)) {
    run();
    for (caf::timespan done{0}; done < total; done += step) {
      sched_->advance_time(std::min(step, total - done));
      run();
    }
  }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_;
  std::vector<caf::actor> tracked_;
};

} // namespace dcos::test
