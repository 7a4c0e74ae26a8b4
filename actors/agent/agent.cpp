// The agent actor: its behavior, identity, clock and lookups.
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/error.hpp"
#include "dcos/version.hpp"

namespace dcos::kernel {

void agent_state::init(agent_self s, agent_config config) {
  self = s;
  cfg = std::move(config);
  if (cfg.version.empty())
    cfg.version = dcos::version;
  log = logging::get("agent");
  rng.seed(cfg.seed);
  started_at = self->clock().now();
  registration_backoff = cfg.registration_backoff;
  info.set_hostname(cfg.hostname);
  info.set_port(cfg.port);
  cfg.total.to_proto(info.mutable_resources());
  for (const auto& a : cfg.attributes)
    *info.add_attributes() = a;
  if (cfg.domain.has_fault_domain())
    *info.mutable_domain() = cfg.domain;
  total = cfg.total;
}

double agent_state::now() const {
  return cfg.start_time
         + std::chrono::duration<double>(self->clock().now() - started_at)
             .count();
}

std::string agent_state::new_uuid() {
  std::string bytes(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    auto x = rng();
    std::memcpy(bytes.data() + i, &x, 8);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40); // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  return bytes;
}

std::string agent_state::new_container_id() {
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

agent_framework* agent_state::find_framework(const std::string& id) {
  auto i = frameworks.find(id);
  return i == frameworks.end() ? nullptr : &i->second;
}

executor_record* agent_state::find_executor(const std::string& framework_id,
                                            const std::string& executor_id) {
  auto* fw = find_framework(framework_id);
  if (fw == nullptr)
    return nullptr;
  auto i = fw->executors.find(executor_id);
  return i == fw->executors.end() ? nullptr : &i->second;
}

agent_task* agent_state::find_task(const std::string& framework_id,
                                    const std::string& task_id,
                                    executor_record** executor) {
  auto* fw = find_framework(framework_id);
  if (fw == nullptr)
    return nullptr;
  // A command executor is named after its task: one lookup instead of a
  // walk over every executor (a thousand on an agent running Marathon apps).
  if (auto e = fw->executors.find(task_id); e != fw->executors.end()) {
    if (auto t = e->second.tasks.find(task_id); t != e->second.tasks.end()) {
      if (executor != nullptr)
        *executor = &e->second;
      return &t->second;
    }
  }
  for (auto& [exec_id, e] : fw->executors) {
    auto t = e.tasks.find(task_id);
    if (t != e.tasks.end()) {
      if (executor != nullptr)
        *executor = &e;
      return &t->second;
    }
  }
  return nullptr;
}

std::string agent_state::sandbox_of(const std::string& framework_id,
                                    const std::string& executor_id,
                                    const std::string& container_id) const {
  // Mesos' layout, so that tools that know it find logs.
  return fmt::format("{}/slaves/{}/frameworks/{}/executors/{}/runs/{}",
                     cfg.work_dir, info.id().value(), framework_id,
                     executor_id, container_id);
}

std::string task_sandbox(const executor_record& e, const std::string& task_id) {
  return e.command_executor ? e.sandbox : e.sandbox + "/tasks/" + task_id;
}

void agent_state::shutdown(const std::string& why, bool leave) {
  log->warn("agent shutting down: {}", why);
  auto quit = [this, leave] {
    if (leave && registered)
      self->send(master, unregister_atom::value, info.id());
    self->quit(caf::exit_reason::user_shutdown);
  };
  // Executors end with the agent only when it is told to stop for good.
  std::vector<std::pair<std::string, std::string>> all;
  for (auto& [fw_id, fw] : frameworks)
    for (auto& [exec_id, e] : fw.executors)
      if (e.state != executor_record::phase::ended)
        all.emplace_back(fw_id, exec_id);
  if (all.empty()) {
    quit();
    return;
  }
  auto left = std::make_shared<size_t>(all.size());
  for (auto& [fw_id, exec_id] : all) {
    auto* e = find_executor(fw_id, exec_id);
    if (e->handle)
      self->send(e->handle, shutdown_atom::value, why);
    self
      ->request(cfg.containerizer, caf::infinite, destroy_atom::value,
                e->container_id, cfg.executor_shutdown_grace_period)
      .then(
        [left, quit](ok_atom) {
          if (--*left == 0)
            quit();
        },
        [left, quit](caf::error&) {
          if (--*left == 0)
            quit();
        });
  }
}

namespace {

agent_impl::behavior_type agent(agent_self self, agent_config cfg) {
  auto& st = self->state;
  st.init(self, std::move(cfg));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.master && msg.source == st.master.address()) {
      st.master_lost("the link to the master went down");
      return;
    }
    st.executor_down(msg);
  });
  st.recover(); // then finds the master
  st.log->info("agent starting hostname={} resources={}", st.info.hostname(),
               st.total.to_string());
  return {
    // -- from the master ---------------------------------------------------------
    [self](ping_atom) {
      self->state.last_ping = self->clock().now();
      return pong_atom::value;
    },
    [self](v1::internal::RunTask& msg) {
      self->state.run_task(std::move(msg));
    },
    [self](v1::internal::RunTaskGroup& msg) {
      self->state.run_task_group(std::move(msg));
    },
    [self](const v1::internal::KillTask& msg) { self->state.kill_task(msg); },
    [self](const v1::internal::ShutdownExecutor& msg) {
      auto* e = self->state.find_executor(msg.framework_id().value(),
                                          msg.executor_id().value());
      if (e != nullptr)
        self->state.shutdown_executor(*e, "the framework asked");
    },
    [self](const v1::internal::ShutdownFramework& msg) {
      self->state.shutdown_framework(msg.framework_id().value());
    },
    [self](const v1::internal::StatusUpdateAcknowledgement& ack) {
      self->state.acknowledge(ack);
    },
    [self](const v1::internal::AcknowledgeOperationStatus& ack) {
      self->state.acknowledge_operation(ack);
    },
    [self](retry_atom, uint64_t generation) {
      self->state.retry_operation_updates(generation);
    },
    [self](const v1::internal::FrameworkToExecutor& msg) {
      auto* e = self->state.find_executor(msg.framework_id().value(),
                                          msg.executor_id().value());
      if (e != nullptr && e->handle)
        self->send(e->handle, msg);
    },
    [self](const v1::internal::CheckpointResources& msg) {
      self->state.checkpoint_resources(msg);
    },
    [self](const v1::internal::DrainAgent& msg) { self->state.drain(msg); },
    [self](shutdown_atom, const std::string& why) {
      // From the master (a refusal) or from the daemon (an operator's
      // shutdown); only the latter leaves the cluster on purpose.
      bool from_master = self->state.master
                         && self->current_sender()
                              == caf::actor_cast<caf::strong_actor_ptr>(
                                self->state.master);
      self->state.shutdown(why, !from_master);
    },
    // -- from executors ------------------------------------------------------------
    [self](const executor_actor& handle,
           const v1::internal::RegisterExecutor& msg) {
      return self->state.register_executor(handle, msg);
    },
    [self](const executor_actor& handle,
           const v1::internal::ReregisterExecutor& msg) {
      return self->state.reregister_executor(handle, msg);
    },
    [self](v1::internal::StatusUpdate& update) {
      self->state.status_update(std::move(update), true);
    },
    [self](const v1::internal::ExecutorToFramework& msg) {
      auto& st = self->state;
      if (!st.registered)
        return; // Mesos drops these too; they are best effort
      auto copy = msg;
      *copy.mutable_agent_id() = st.info.id();
      self->send(st.master, std::move(copy));
    },
    // -- for the HTTP edge ---------------------------------------------------------
    [self](state_atom) { return self->state.state_json(); },
    [self](metrics_atom) { return self->state.metrics_with_usage(); },
    [self](monitor_atom) { return self->state.monitor_statistics(); },
    [self](const v1::agent::Call& call) { return self->state.api_call(call); },
    [self](session_atom, const v1::agent::Call& call) {
      return self->state.api_session(call);
    },
    // -- internal --------------------------------------------------------------------
    [self](flush_atom) { self->state.flush(); },
    [self](retry_atom, const std::string& framework_id,
           const std::string& task_id, uint64_t generation) {
      self->state.retry(framework_id, task_id, generation);
    },
    [self](register_atom) { self->state.try_register(); },
    [self](tick_atom) { self->state.check_master_pings(); },
    [self](timeout_atom, const std::string& framework_id,
           const std::string& executor_id, const std::string& container_id) {
      self->state.executor_timeout(framework_id, executor_id, container_id);
    },
    [self](logging_atom, uint64_t generation) {
      if (self->state.verbosity.expire(generation))
        self->state.log->info("logging verbosity reverted to 0");
    },
  };
}

} // namespace

} // namespace dcos::kernel

namespace dcos {

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg) {
  return caf::actor_cast<agent_actor>(sys.spawn(kernel::agent, std::move(cfg)));
}

} // namespace dcos
