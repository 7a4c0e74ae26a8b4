// Master memory per tracked task: 1000 agents, one framework launching
// 100,000 tasks through real offers, every task RUNNING with its update
// acknowledged. The agents keep nothing per task, and the framework and its
// scheduler driver are ended before the heap is measured (the master keeps
// the tasks of a disconnected framework), so the growth of the heap is the
// master's (and allocator's) bookkeeping.
//
//   master_memory_bench [--agents=1000] [--tasks_per_agent=100]
#include <malloc.h>

#include <cstdio>

#include <fmt/format.h>

#include "dcos/flags.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler_driver_actor.hpp"
#include "support/deterministic.hpp"

using namespace dcos;
using namespace std::chrono_literals;

namespace {

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// Runs every task at once: one RUNNING update per task, nothing kept.
agent_actor::behavior_type quiet_agent(agent_actor::pointer self,
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
    [](shutdown_atom, const std::string&) {},
  };
}

// Shared with main(); the deterministic system runs everything on one
// thread.
struct launch_state {
  scheduler_driver_actor driver;
  int per_offer = 100;
  uint64_t next = 0;
  uint64_t running = 0;
};

framework_actor::behavior_type launcher(framework_actor::pointer self,
                                        std::shared_ptr<launch_state> st) {
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
        for (int i = 0; i < st->per_offer; ++i) {
          auto* t = op->mutable_launch()->add_task_infos();
          auto id = fmt::format("app.web.{:08}", st->next++);
          t->set_name("web");
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
      if (u.status().state() == v1::TASK_RUNNING)
        ++st->running;
    },
    [](const call::Event::Message&) {},
    [](const call::Event::Failure&) {},
    [](const call::Event::Error&) {},
  };
}

} // namespace

int main(int argc, char** argv) {
  int agents = 1000;
  int per_agent = 100;
  flags f{"master_memory_bench [flags]", "Master memory per tracked task."};
  f.add(&agents, "agents", "number of agents");
  f.add(&per_agent, "tasks_per_agent", "tasks launched on each agent");
  parse_or_exit(f, argc, argv);

  test::deterministic_system ds;
  master_config cfg;
  cfg.start_time = 1.7e9;
  auto master = ds.track(spawn_master(ds.sys(), cfg));
  ds.run();
  for (int i = 0; i < agents; ++i) {
    auto id = std::make_shared<std::string>();
    auto agent = ds.track(ds.sys().spawn(quiet_agent, master, id));
    v1::internal::RegisterAgent reg;
    reg.mutable_agent_info()->set_hostname(fmt::format("node-{}", i));
    resources::parse(fmt::format("cpus:{};mem:{}", per_agent, per_agent * 32))
      ->to_proto(reg.mutable_agent_info()->mutable_resources());
    ds.sys().spawn([=](caf::event_based_actor* self) {
      self->request(master, caf::infinite, agent, reg)
        .then([id](const v1::internal::AgentRegistered& r) {
          *id = r.agent_id().value();
        });
    });
  }
  ds.run();
  malloc_trim(0);
  auto before = heap_in_use();
  auto state = std::make_shared<launch_state>();
  state->per_offer = per_agent;
  auto framework = ds.track(ds.sys().spawn(launcher, state));
  v1::FrameworkInfo info;
  info.set_user("bench");
  info.set_name("memory");
  // Kept (disconnected) when its driver goes, below.
  info.set_failover_timeout(7 * 24 * 3600);
  auto driver = ds.track(spawn_scheduler_driver(
    ds.sys(), framework, info, ds.track(spawn_fixed_detector(ds.sys(), master))));
  state->driver = driver;
  ds.run();
  for (int i = 0; i < 5 && state->running < static_cast<uint64_t>(agents) * per_agent; ++i)
    ds.advance(1s);
  // The driver's heap (its own books of the framework's tasks) is not the
  // master's: end it and the launcher before measuring. The master keeps
  // every task, the framework being within its failover timeout.
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(framework, caf::exit_reason::user_shutdown);
  ds.run();
  malloc_trim(0);
  auto after = heap_in_use();
  auto tasks = state->running;
  fmt::print("{{\"bench\":\"master_memory\",\"agents\":{},\"tasks\":{},"
             "\"heap_before_mb\":{:.1f},\"heap_after_mb\":{:.1f},"
             "\"bytes_per_task\":{:.0f}}}\n",
             agents, tasks, before / 1048576.0, after / 1048576.0,
             tasks > 0 ? static_cast<double>(after - before)
                           / static_cast<double>(tasks)
                       : 0.0);
  return tasks == static_cast<uint64_t>(agents) * per_agent ? 0 : 1;
}
