// A master (real), the scheduler SDK (real) and scripted agents on the
// deterministic scheduler, with helpers to build tasks and updates.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "dcos/detector_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/store_actor.hpp"
#include "support/deterministic.hpp"
#include "support/protocol_peers.hpp"

namespace dcos::test {

using namespace std::chrono_literals;

inline master_config test_master_config() {
  master_config cfg;
  cfg.agent_ping_timeout = 1s;
  cfg.max_agent_ping_timeouts = 3;
  cfg.allocation_interval = 1s;
  cfg.framework_heartbeat_interval = 5s;
  cfg.start_time = 1.7e9;
  return cfg;
}

inline v1::FrameworkInfo framework_info(std::string name,
                                        bool partition_aware = true) {
  v1::FrameworkInfo info;
  info.set_user("root");
  info.set_name(std::move(name));
  info.set_failover_timeout(60);
  if (partition_aware)
    info.add_capabilities()->set_type(
      v1::FrameworkInfo::Capability::PARTITION_AWARE);
  return info;
}

inline v1::TaskInfo make_task(const std::string& id, const v1::Offer& offer,
                              std::string_view amount = "cpus:1;mem:128") {
  v1::TaskInfo task;
  task.set_name(id);
  task.mutable_task_id()->set_value(id);
  *task.mutable_agent_id() = offer.agent_id();
  task.mutable_command()->set_value("sleep 1000");
  resources::parse(amount)->to_proto(task.mutable_resources());
  return task;
}

inline v1::internal::StatusUpdate make_update(const std::string& framework_id,
                                              const std::string& agent_id,
                                              const std::string& task_id,
                                              v1::TaskState state,
                                              const std::string& uuid) {
  v1::internal::StatusUpdate update;
  update.mutable_framework_id()->set_value(framework_id);
  auto* status = update.mutable_status();
  status->mutable_task_id()->set_value(task_id);
  status->mutable_agent_id()->set_value(agent_id);
  status->set_state(state);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status->set_uuid(uuid);
  return update;
}

struct cluster {
  deterministic_system ds;
  master_config cfg;
  master_actor master;
  detector_actor detector;

  struct agent {
    scripted_agent_actor actor;
    std::shared_ptr<agent_log> log;
    const std::string& id() const { return log->agent_id; }
  };

  struct framework {
    framework_actor actor;
    scheduler_driver_actor driver;
    std::shared_ptr<framework_log> log;
    std::string id() const {
      return log->subscribed.empty()
               ? std::string{}
               : log->subscribed.back().framework_id().value();
    }
  };

  explicit cluster(master_config config = test_master_config())
    : cfg(std::move(config)) {
    start_master();
  }

  void start_master() {
    master = ds.track(spawn_master(ds.sys(), cfg));
    detector = ds.track(spawn_fixed_detector(ds.sys(), master));
    ds.run();
  }

  /// Starts the master again on a durable store (in memory), which every
  /// master this cluster starts from now on shares, as a registry on disk.
  void use_durable_store() {
    caf::anon_send_exit(master, caf::exit_reason::user_shutdown);
    cfg.store = ds.track(spawn_memory_store(ds.sys()));
    start_master();
  }

  agent add_agent(std::string_view amount
                  = "cpus:4;mem:4096;disk:10000;ports:[31000-31100]",
                  std::string hostname = "node") {
    v1::AgentInfo info;
    info.set_hostname(std::move(hostname));
    resources::parse(amount)->to_proto(info.mutable_resources());
    auto log = std::make_shared<agent_log>();
    auto actor = ds.track(spawn_scripted_agent(ds.sys(), master, info, log));
    ds.run();
    REQUIRE_MESSAGE(!log->agent_id.empty(), log->register_error);
    return {actor, log};
  }

  framework add_framework(v1::FrameworkInfo info = framework_info("test"),
                          scheduler_options opts = {}) {
    auto log = std::make_shared<framework_log>();
    auto actor = ds.track(spawn_recording_framework(ds.sys(), log));
    auto driver = ds.track(
      spawn_scheduler_driver(ds.sys(), actor, std::move(info), detector, opts));
    ds.run();
    return {actor, driver, log};
  }

  void launch(const framework& fw, const v1::Offer& offer,
              std::vector<v1::TaskInfo> tasks, v1::Filters filters = {}) {
    call::Call::Accept accept;
    *accept.add_offer_ids() = offer.id();
    auto* op = accept.add_operations();
    op->set_type(v1::Offer::Operation::LAUNCH);
    for (auto& t : tasks)
      *op->mutable_launch()->add_task_infos() = std::move(t);
    *accept.mutable_filters() = std::move(filters);
    caf::anon_send(fw.driver, std::move(accept));
    ds.run();
  }

  void update(const agent& a, const framework& fw, const std::string& task_id,
              v1::TaskState state, const std::string& uuid) {
    caf::anon_send(a.actor, make_update(fw.id(), a.id(), task_id, state, uuid));
    ds.run();
  }

  /// An agent that re-registers with `report`; its log once the master has
  /// answered (agent_id set, or register_error saying why not).
  std::shared_ptr<agent_log> reregister(v1::internal::ReregisterAgent report) {
    auto log = std::make_shared<agent_log>();
    ds.track(spawn_reregistering_agent(ds.sys(), master, std::move(report),
                                       log));
    ds.run();
    return log;
  }

  /// A request to `dest`, answered synchronously (the system is drained).
  template <class Reply, class Handle, class... Ts>
  caf::expected<Reply> request(const Handle& dest, Ts... xs) {
    auto result = std::make_shared<caf::expected<Reply>>(
      caf::sec::runtime_error);
    ds.sys().spawn([dest, result, xs...](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([result](Reply& r) { *result = std::move(r); },
              [result](caf::error& e) { *result = std::move(e); });
    });
    ds.run();
    return *result;
  }

  /// An operator call, answered synchronously.
  caf::expected<v1::master::Response> call(v1::master::Call call) {
    return request<v1::master::Response>(master, std::move(call));
  }

  v1::master::Response::GetTasks tasks() {
    v1::master::Call c;
    c.set_type(v1::master::Call::GET_TASKS);
    auto r = call(c);
    REQUIRE(r);
    return r->get_tasks();
  }

  double metric(const std::string& name) {
    v1::master::Call c;
    c.set_type(v1::master::Call::GET_METRICS);
    auto r = call(c);
    REQUIRE(r);
    for (const auto& m : r->get_metrics().metrics())
      if (m.name() == name)
        return m.value();
    FAIL("no metric " << name);
    return -1;
  }
};

} // namespace dcos::test
