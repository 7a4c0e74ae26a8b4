// The built-in framework of a scenario: launches its tasks as offers allow
// (each under a command executor, or in task groups under the default
// executor), relaunches failed ones if asked, reconciles after every
// (re-)subscription and then, every 30 s, the tasks it has heard nothing of
// since their launch (a master that has not yet heard from their agent
// again leaves them unanswered, as Mesos does) and those last seen
// unreachable. A task still staging after launch_timeout is killed, as
// Marathon does (a launch can be lost without a word to the framework).
// What is left at kill_at is killed too. It is written on
// the public SDK (spawn_scheduler_driver) exactly as a user's would be; its
// memory (workload_state) survives failovers of its driver, as a real
// framework's state in ZooKeeper would.
#include "world.hpp"

#include <fmt/format.h>

#include "dcos/task_state.hpp"

namespace dcos::sim::detail {

namespace {

using kill_all_atom = caf::atom_constant<caf::atom("killall")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;

constexpr auto reconcile_period = std::chrono::seconds(30);
// Marathon's default task_launch_timeout.
constexpr auto launch_timeout = std::chrono::minutes(5);

using workload_actor =
  framework_actor::extend<caf::reacts_to<kill_all_atom>,
                          caf::reacts_to<reconcile_atom, uint64_t>,
                          caf::reacts_to<scheduler_driver_actor>>;

struct workload_self_state {
  world* w = nullptr;
  workload_state* st = nullptr;
  scheduler_driver_actor driver;
  uint64_t subscription = 0; // guards the reconciliation timer
  workload_self_state() = default;
};

using self_ptr = workload_actor::stateful_pointer<workload_self_state>;

std::string command_for(workload_state& st, world& w) {
  const auto& spec = st.spec;
  if (spec.task_oom > 0 && w.chance() < spec.task_oom)
    return "oom";
  int code = spec.task_failure > 0 && w.chance() < spec.task_failure ? 1 : 0;
  if (spec.task_duration.max.count() == 0)
    return code == 0 ? "serve" : "exit 1";
  auto d = w.pick(spec.task_duration);
  return fmt::format("sleep {:.3f} exit {}",
                     std::chrono::duration<double>(d).count(), code);
}

using wire_resources = google::protobuf::RepeatedPtrField<v1::Resource>;

v1::TaskInfo make_task(workload_state& st, world& w, const v1::Offer& offer,
                       const wire_resources& need) {
  v1::TaskInfo t;
  auto id = fmt::format("{}-{}", st.spec.name, st.next_task++);
  t.set_name(id);
  t.mutable_task_id()->set_value(id);
  *t.mutable_agent_id() = offer.agent_id();
  *t.mutable_resources() = need;
  t.mutable_command()->set_value(command_for(st, w));
  if (!st.spec.vip.empty()) {
    auto* d = t.mutable_discovery();
    d->set_visibility(v1::DiscoveryInfo::FRAMEWORK);
    d->set_name(st.spec.name);
    auto* port = d->mutable_ports()->add_ports();
    port->set_number(static_cast<uint32_t>(31000 + st.next_task % 1000));
    port->set_protocol("tcp");
    auto* label = port->mutable_labels()->add_labels();
    label->set_key("VIP_0");
    label->set_value(st.spec.vip);
  }
  st.live[id] = {v1::TASK_STAGING, offer.agent_id().value(), w.elapsed()};
  --st.to_launch;
  return t;
}

void launch_from(self_ptr self, const v1::Offer& offer) {
  auto& st = *self->state.st;
  auto& w = *self->state.w;
  auto role = offer.allocation_info().role();
  auto free = resources::from_proto(offer.resources());
  call::Call::Accept accept;
  *accept.add_offer_ids() = offer.id();
  auto need = st.spec.task_resources.allocate(role);
  wire_resources need_wire; // built once, copied into each task
  need.to_proto(&need_wire);
  if (free && st.spec.group_size == 0) {
    auto* launch = accept.add_operations();
    launch->set_type(v1::Offer::Operation::LAUNCH);
    while (st.to_launch > 0 && free->contains(need)) {
      *launch->mutable_launch()->add_task_infos() = make_task(st, w, offer,
                                                              need_wire);
      *free -= need;
    }
  } else if (free) {
    static const auto executor_share = *resources::parse("cpus:0.1;mem:32");
    auto exec = executor_share.allocate(role);
    while (st.to_launch > 0) {
      auto n = std::min(st.spec.group_size, st.to_launch);
      auto group_need = exec;
      for (size_t i = 0; i < n; ++i)
        group_need += need;
      if (!free->contains(group_need))
        break;
      *free -= group_need;
      auto* op = accept.add_operations();
      op->set_type(v1::Offer::Operation::LAUNCH_GROUP);
      auto* lg = op->mutable_launch_group();
      auto* e = lg->mutable_executor();
      e->set_type(v1::ExecutorInfo::DEFAULT);
      e->mutable_executor_id()->set_value(
        fmt::format("{}-exec-{}", st.spec.name, st.next_task));
      e->mutable_framework_id()->set_value(st.framework_id);
      exec.to_proto(e->mutable_resources());
      for (size_t i = 0; i < n; ++i)
        *lg->mutable_task_group()->add_tasks() = make_task(st, w, offer,
                                                           need_wire);
    }
  }
  bool launching = accept.operations_size() > 0
                   && (accept.operations(0).launch().task_infos_size() > 0
                       || accept.operations(0).has_launch_group());
  if (!launching) {
    call::Call::Decline decline;
    *decline.add_offer_ids() = offer.id();
    decline.mutable_filters()->set_refuse_seconds(st.to_launch > 0 ? 1 : 60);
    self->send(self->state.driver, decline);
    return;
  }
  accept.mutable_filters()->set_refuse_seconds(1);
  self->send(self->state.driver, std::move(accept));
}

void settle(self_ptr self) {
  auto& st = *self->state.st;
  if (st.to_launch == 0 && !st.suppressed) {
    st.suppressed = true;
    self->send(self->state.driver, call::Call::Suppress{});
  } else if (st.to_launch > 0 && st.suppressed) {
    st.suppressed = false;
    self->send(self->state.driver, call::Call::Revive{});
  }
  bool done = st.to_launch == 0 && st.live.empty();
  st.done = done;
}

workload_actor::behavior_type workload(self_ptr self, world* w,
                                       workload_state* st) {
  self->state.w = w;
  self->state.st = st;
  if (st->spec.kill_at.count() > 0) {
    auto at = st->spec.kill_at - w->elapsed();
    if (at.count() > 0)
      self->delayed_send(self, at, kill_all_atom::value);
  }
  return {
    [self](scheduler_driver_actor& driver) {
      self->state.driver = std::move(driver);
    },
    [self](const call::Event::Subscribed& ev) {
      auto& st = *self->state.st;
      st.framework_id = ev.framework_id().value();
      st.suppressed = false;
      // Learn what became of every task we believe is live.
      call::Call::Reconcile rec;
      for (const auto& [task, live] : st.live) {
        auto* t = rec.add_tasks();
        t->mutable_task_id()->set_value(task);
        t->mutable_agent_id()->set_value(live.agent);
      }
      if (rec.tasks_size() > 0)
        self->send(self->state.driver, std::move(rec));
      self->delayed_send(self, reconcile_period, reconcile_atom::value,
                         ++self->state.subscription);
      settle(self);
    },
    [self](reconcile_atom, uint64_t subscription) {
      if (subscription != self->state.subscription)
        return;
      auto& st = *self->state.st;
      call::Call::Reconcile rec;
      for (const auto& [task, live] : st.live) {
        // Launched and not heard of since, or cut off: a master that has
        // never heard of the task (a new one, that recovered the agent as
        // unreachable) tells nobody when the agent is back without it.
        if (live.state != v1::TASK_STAGING
            && live.state != v1::TASK_UNREACHABLE)
          continue;
        auto* t = rec.add_tasks();
        t->mutable_task_id()->set_value(task);
        t->mutable_agent_id()->set_value(live.agent);
      }
      if (rec.tasks_size() > 0)
        self->send(self->state.driver, std::move(rec));
      auto now = self->state.w->elapsed();
      for (const auto& [task, live] : st.live) {
        if (live.state != v1::TASK_STAGING
            || now - live.launched_at < launch_timeout)
          continue;
        call::Call::Kill kill;
        kill.mutable_task_id()->set_value(task);
        kill.mutable_agent_id()->set_value(live.agent);
        self->send(self->state.driver, std::move(kill));
      }
      self->delayed_send(self, reconcile_period, reconcile_atom::value,
                         subscription);
    },
    [](disconnected_atom) {},
    [self](const call::Event::Offers& ev) {
      for (const auto& offer : ev.offers())
        launch_from(self, offer);
      settle(self);
    },
    [](const call::Event::Rescind&) {},
    [self](const call::Event::Update& ev) {
      auto& st = *self->state.st;
      const auto& status = ev.status();
      const auto& id = status.task_id().value();
      auto i = st.live.find(id);
      if (i == st.live.end())
        return; // a repeat of the task's end (model.cpp fails the run on
                // any other state after it), or not ours
      if (status.has_agent_id())
        i->second.agent = status.agent_id().value();
      bool ended = is_terminal(status.state())
                   || status.state() == v1::TASK_UNKNOWN; // never launched
      if (!ended) {
        // Only a task's first TASK_RUNNING is its launch; reconciliation
        // answers and retries repeat it.
        bool launched = status.state() == v1::TASK_RUNNING
                        && i->second.state != v1::TASK_RUNNING;
        i->second.state = status.state();
        if (launched) {
          auto& model = self->state.w->invariants();
          model.last_running = self->state.w->elapsed();
          model.last_running_wall = std::chrono::steady_clock::now();
        }
        return;
      }
      st.live.erase(i);
      bool failed = status.state() != v1::TASK_FINISHED
                    && status.state() != v1::TASK_KILLED;
      if (failed && st.spec.relaunch && st.spec.kill_at.count() == 0)
        ++st.to_launch;
      settle(self);
    },
    [](const call::Event::Message&) {},
    [](const call::Event::Failure&) {},
    // Asked to leave a machine scheduled for maintenance: agreed (the
    // simulated operator never takes a machine down, so nothing follows).
    [self](const call::Event::InverseOffers& e) {
      call::Call::AcceptInverseOffers accept;
      for (const auto& offer : e.inverse_offers())
        *accept.add_inverse_offer_ids() = offer.id();
      self->send(self->state.driver, std::move(accept));
    },
    [](const call::Event::RescindInverseOffer&) {},
    // Simulated frameworks ask for no operation feedback.
    [](const call::Event::UpdateOperationStatus&) {},
    [self](const call::Event::Error&) {
      self->state.w->fail(fmt::format("framework {} got an error from the "
                                      "master",
                                      self->state.st->spec.name));
    },
    [self](kill_all_atom) {
      auto& st = *self->state.st;
      st.to_launch = 0;
      for (const auto& [task, live] : st.live) {
        call::Call::Kill kill;
        kill.mutable_task_id()->set_value(task);
        kill.mutable_agent_id()->set_value(live.agent);
        self->send(self->state.driver, std::move(kill));
      }
      // Kills sent while disconnected are lost: repeat until all ended.
      if (!st.live.empty())
        self->delayed_send(self, std::chrono::seconds(15),
                           kill_all_atom::value);
      settle(self);
    },
  };
}

} // namespace

caf::actor spawn_workload_framework(world& w, workload_state& st) {
  auto fw = w.sys().spawn(workload, &w, &st);
  v1::FrameworkInfo info;
  info.set_name(st.spec.name);
  info.set_user("sim");
  info.add_roles(st.spec.role);
  info.set_failover_timeout(7 * 24 * 3600);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (st.spec.partition_aware)
    info.add_capabilities()->set_type(
      v1::FrameworkInfo::Capability::PARTITION_AWARE);
  if (!st.framework_id.empty())
    info.mutable_id()->set_value(st.framework_id);
  scheduler_options opts;
  auto driver = spawn_scheduler_driver(
    w.sys(), caf::actor_cast<framework_actor>(fw), std::move(info),
    w.detector_for(st.node), opts);
  caf::anon_send(fw, driver);
  return caf::actor_cast<caf::actor>(fw);
}

} // namespace dcos::sim::detail
