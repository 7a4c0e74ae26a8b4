// A task load for master benchmarks: agents that run every task at once
// (one TASK_RUNNING each, nothing kept) and a framework that fills every
// offer with tasks of cpus:1;mem:32. Works on the deterministic system and
// on a threaded one alike.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/master_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler_driver_actor.hpp"
#include "dcos/type_bridge.hpp"

namespace dcos::bench {

// Runs every task at once: one RUNNING update per task, nothing kept.
inline agent_actor::behavior_type quiet_agent(agent_actor::pointer self,
                                              master_actor master,
                                              std::shared_ptr<std::string> id) {
  return {
    [](ping_atom) { return pong_atom::value; },
    [self, master, id](const v1::internal::RunTask& run) {
      v1::internal::StatusUpdate update;
      *update.mutable_framework_id() = run.framework().id();
      auto* s = update.mutable_status();
      *s->mutable_task_id() = run.task().task_id();
      s->mutable_agent_id()->set_value(*id);
      s->set_state(v1::TASK_RUNNING);
      s->set_uuid(run.task().task_id().value());
      self->send(master, std::move(update));
    },
    [](const v1::internal::RunTaskGroup&) {},
    [](const v1::internal::KillTask&) {},
    [](const v1::internal::ShutdownExecutor&) {},
    [](const v1::internal::ShutdownFramework&) {},
    [](const v1::internal::StatusUpdateAcknowledgement&) {},
    [](const v1::internal::FrameworkToExecutor&) {},
    [](const v1::internal::CheckpointResources&) {},
    [](const v1::internal::AcknowledgeOperationStatus&) {},
    [](const v1::internal::DrainAgent&) {},
    [](shutdown_atom, const std::string&) {},
  };
}

/// Spawns `count` quiet agents with room for `per_agent` tasks each and
/// registers them with `master` (done once the system has run). Their
/// hostnames are node-0, node-1, ..., or with `ip_hostnames` addresses
/// (10.0.0.1, ...) as service discovery needs them.
inline std::vector<caf::actor> add_quiet_agents(caf::actor_system& sys,
                                                const master_actor& master,
                                                int count, int per_agent,
                                                bool ip_hostnames = false) {
  std::vector<caf::actor> out;
  for (int i = 0; i < count; ++i) {
    auto id = std::make_shared<std::string>();
    auto agent = sys.spawn(quiet_agent, master, id);
    out.push_back(caf::actor_cast<caf::actor>(agent));
    v1::internal::RegisterAgent reg;
    reg.mutable_agent_info()->set_hostname(
      ip_hostnames ? fmt::format("10.0.{}.{}", (i + 1) / 256, (i + 1) % 256)
                   : fmt::format("node-{}", i));
    resources::parse(fmt::format("cpus:{};mem:{}", per_agent, per_agent * 32))
      ->to_proto(reg.mutable_agent_info()->mutable_resources());
    sys.spawn([=](caf::event_based_actor* self) {
      self->request(master, caf::infinite, agent, reg)
        .then([id](const v1::internal::AgentRegistered& r) {
          *id = r.agent_id().value();
        });
    });
  }
  return out;
}

/// An actor system (CAF's own log quiet) with an in-process master and
/// `agents` quiet agents (add_quiet_agents()): what the benchmarks that
/// measure the master's followers run against. Every actor it spawned, and
/// every one given to keep(), ends with it.
struct quiet_cluster {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  master_actor master;
  std::vector<caf::actor> everyone;

  quiet_cluster(int agents, int per_agent, bool ip_hostnames = false) {
    register_types(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    master_config mcfg;
    mcfg.start_time = 1.7e9;
    master = keep(spawn_master(*sys, mcfg));
    for (auto& a :
         add_quiet_agents(*sys, master, agents, per_agent, ip_hostnames))
      everyone.push_back(a);
  }

  quiet_cluster(const quiet_cluster&) = delete;
  quiet_cluster& operator=(const quiet_cluster&) = delete;

  ~quiet_cluster() {
    for (auto& a : everyone)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  Handle keep(Handle h) {
    everyone.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }
};

// Shared between the launcher and main(), which may run on other threads.
struct launch_state {
  scheduler_driver_actor driver;
  int per_offer = 100;
  uint64_t total = 0; // tasks to launch in all; 0: every offer is filled
  /// Tasks are all named "web", with ids app.web.00000000, ...; or, with
  /// `named_by_number`, t0000, t0001, ... as name and id (a name each, as
  /// service discovery needs).
  bool named_by_number = false;
  uint64_t next = 0; // the launcher's alone
  std::atomic<uint64_t> running{0};
  // When the launcher heard the latest TASK_RUNNING (steady clock).
  std::atomic<int64_t> last_running_ns{0};
};

inline framework_actor::behavior_type
launcher(framework_actor::pointer self, std::shared_ptr<launch_state> st) {
  return {
    [](const call::Event::Subscribed&) {},
    [](disconnected_atom) {},
    [self, st](const call::Event::Offers& offers) {
      for (const auto& offer : offers.offers()) {
        call::Call::Accept accept;
        *accept.add_offer_ids() = offer.id();
        auto* op = accept.add_operations();
        op->set_type(v1::Offer::Operation::LAUNCH);
        auto amount = resources::parse("cpus:1;mem:32")->allocate(
          offer.allocation_info().role());
        for (int i = 0;
             i < st->per_offer && (st->total == 0 || st->next < st->total);
             ++i) {
          auto* t = op->mutable_launch()->add_task_infos();
          auto n = st->next++;
          auto id = st->named_by_number ? fmt::format("t{:04}", n)
                                        : fmt::format("app.web.{:08}", n);
          t->set_name(st->named_by_number ? id : "web");
          t->mutable_task_id()->set_value(id);
          *t->mutable_agent_id() = offer.agent_id();
          t->mutable_command()->set_value("./serve --port=$PORT0");
          amount.to_proto(t->mutable_resources());
        }
        self->send(st->driver, std::move(accept));
      }
    },
    [](const call::Event::Rescind&) {},
    [st](const call::Event::Update& u) {
      if (u.status().state() != v1::TASK_RUNNING)
        return;
      st->last_running_ns
        = std::chrono::steady_clock::now().time_since_epoch().count();
      ++st->running;
    },
    [](const call::Event::Message&) {},
    [](const call::Event::Failure&) {},
    [](const call::Event::Error&) {},
    [](const call::Event::InverseOffers&) {},
    [](const call::Event::RescindInverseOffer&) {},
    [](const call::Event::UpdateOperationStatus&) {},
  };
}

} // namespace dcos::bench
