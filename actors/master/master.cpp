// The master actor: its behavior, identity and clock.
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/version.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

void master_state::init(master_self s, master_config config) {
  self = s;
  cfg = std::move(config);
  if (cfg.version.empty())
    cfg.version = dcos::version;
  log = logging::get("master");
  rng.seed(cfg.seed);
  started_at = self->clock().now();
  master_id = draw_master_id(rng); // initial_master_id(cfg.seed)
  for (auto& [role, weight] : cfg.weights)
    weights[role] = weight;
}

std::string draw_master_id(std::mt19937_64& rng) {
  // The order of the draws is the compiler's; every id comes from here, so
  // the same seed still gives the same id.
  return fmt::format("{:08x}-{:04x}-{:04x}", rng() & 0xffffffffu,
                     rng() & 0xffffu, rng() & 0xffffu);
}

double master_state::now() const {
  auto elapsed = std::chrono::duration<double>(self->clock().now()
                                               - started_at);
  return cfg.start_time + elapsed.count();
}

v1::MasterInfo master_state::master_info() const {
  v1::MasterInfo info;
  info.set_id(master_id);
  info.set_port(cfg.port);
  info.set_hostname(cfg.hostname);
  info.set_version(cfg.version);
  info.set_pid(fmt::format("master@{}:{}", cfg.ip, cfg.port));
  auto* address = info.mutable_address();
  address->set_hostname(cfg.hostname);
  address->set_ip(cfg.ip);
  address->set_port(cfg.port);
  return info;
}

std::string master_state::new_id(std::string_view prefix, uint64_t& counter) {
  return fmt::format("{}-{}{:04}", master_id, prefix, counter++);
}

void master_state::send_update(framework_record& fw, v1::TaskStatus status) {
  if (!fw.connected)
    return; // the agent retries until the framework is back and acknowledges
  call::Event::Update update;
  *update.mutable_status() = std::move(status);
  self->send(fw.handle, std::move(update));
}

void master_state::send_error(const std::string& framework_id,
                              const std::string& message) {
  log->warn("framework error framework_id={} message=\"{}\"", framework_id,
            message);
  auto i = frameworks.find(framework_id);
  if (i == frameworks.end() || !i->second.connected)
    return;
  call::Event::Error error;
  error.set_message(message);
  self->send(i->second.handle, std::move(error));
}

void master_state::on_down(const caf::down_msg& msg) {
  if (auto s = find_subscriber(msg.source); s != subscribers.end()) {
    subscribers.erase(s);
    log->info("operator event subscriber gone ({} left)", subscribers.size());
  }
  if (auto i = framework_by_addr.find(msg.source);
      i != framework_by_addr.end()) {
    auto id = i->second;
    framework_by_addr.erase(i);
    disconnect_framework(id);
  }
  if (auto i = agent_by_addr.find(msg.source); i != agent_by_addr.end()) {
    auto id = i->second;
    agent_by_addr.erase(i);
    agent_disconnected(id);
  }
}

namespace {

master_impl::behavior_type master(master_self self, master_config cfg) {
  auto& st = self->state;
  st.init(self, std::move(cfg));
  st.allocator = spawn_allocator(
    self->system(), caf::actor_cast<allocator_client>(self),
    allocator_config{st.cfg.allocation_interval, st.cfg.seed});
  self->link_to(st.allocator);
  if (!st.weights.empty()) {
    alloc::set_weights w;
    w.weights.assign(st.weights.begin(), st.weights.end());
    self->send(st.allocator, std::move(w));
  }
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.on_down(msg); });
  self->delayed_send(self, st.cfg.framework_heartbeat_interval,
                     tick_atom::value);
  st.load_registry();
  st.log->info("master started id={} version={}", st.master_id,
               st.cfg.version);
  using v1::FrameworkID;
  return {
    // -- scheduler API --------------------------------------------------------
    [self](subscribe_atom, const scheduler_actor& handle,
           const call::Call::Subscribe& call) {
      return self->state.subscribe(handle, call);
    },
    [self](const FrameworkID& id, const call::Call::Teardown&) {
      if (self->state.find_framework(id.value(), "TEARDOWN"))
        self->state.remove_framework(id.value(), "torn down by the scheduler");
    },
    [self](const FrameworkID& id, call::Call::Accept& call) {
      self->state.accept(id.value(), std::move(call));
    },
    [self](const FrameworkID& id, const call::Call::Decline& call) {
      self->state.decline(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Revive& call) {
      self->state.revive(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Suppress& call) {
      self->state.suppress(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Kill& call) {
      self->state.kill(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Shutdown& call) {
      self->state.shutdown_executor(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Acknowledge& call) {
      self->state.acknowledge(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Reconcile& call) {
      self->state.reconcile(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::Message& call) {
      self->state.framework_message(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::AcceptInverseOffers& call) {
      self->state.answer_inverse_offers(id.value(), call.inverse_offer_ids(),
                                        call.filters(),
                                        v1::master::InverseOfferStatus::ACCEPT);
    },
    [self](const FrameworkID& id,
           const call::Call::DeclineInverseOffers& call) {
      self->state.answer_inverse_offers(
        id.value(), call.inverse_offer_ids(), call.filters(),
        v1::master::InverseOfferStatus::DECLINE);
    },
    [self](const FrameworkID& id, const call::Call::Request& call) {
      self->state.request(id.value(), call);
    },
    [self](const FrameworkID& id,
           const call::Call::AcknowledgeOperationStatus& call) {
      self->state.acknowledge_operation_status(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::ReconcileOperations& call) {
      self->state.reconcile_operations(id.value(), call);
    },
    [self](const FrameworkID& id, const call::Call::UpdateFramework& call) {
      return self->state.update_framework(id.value(), call);
    },
    // -- agent protocol -------------------------------------------------------
    [self](const agent_actor& handle, const v1::internal::RegisterAgent& msg) {
      return self->state.register_agent(handle, msg);
    },
    [self](const agent_actor& handle,
           const v1::internal::ReregisterAgent& msg) {
      return self->state.reregister_agent(handle, msg);
    },
    [self](const v1::internal::StatusUpdate& update) {
      self->state.status_update(update);
    },
    [self](const v1::internal::UpdateOperationStatus& update) {
      self->state.operation_update(update);
    },
    [self](const v1::internal::ExecutorToFramework& msg) {
      self->state.executor_message(msg);
    },
    [self](const v1::internal::ExitedExecutor& msg) {
      self->state.executor_exited(msg);
    },
    [self](unregister_atom, const v1::AgentID& id) {
      self->state.unregister_agent(id.value());
    },
    // -- operator API ---------------------------------------------------------
    [self](const v1::master::Call& call) {
      return self->state.operator_call(call);
    },
    [self](subscribe_atom, const master_subscriber_actor& subscriber) {
      return self->state.subscribe_events(subscriber);
    },
    // -- internal -------------------------------------------------------------
    [self](alloc::offer_batch& batch) {
      self->state.make_offers(std::move(batch));
    },
    [self](ping_atom, const std::string& agent_id, uint64_t generation) {
      self->state.ping_agent(agent_id, generation);
    },
    [self](timeout_atom, const std::string& framework_id,
           uint64_t generation) {
      self->state.failover_expired(framework_id, generation);
    },
    [self](tick_atom) {
      self->state.heartbeat_frameworks();
      self->state.heartbeat_subscribers();
      self->delayed_send(self, self->state.cfg.framework_heartbeat_interval,
                         tick_atom::value);
    },
    [self](timeout_atom) { self->state.reregister_timeout(); },
    [self](logging_atom, uint64_t generation) {
      self->state.logging_level_expired(generation);
    },
    [self](inverse_atom) { self->state.inverse_offer_tick(); },
  };
}

} // namespace

} // namespace dcos::kernel

namespace dcos {

master_actor spawn_master(caf::actor_system& sys, master_config cfg) {
  return caf::actor_cast<master_actor>(
    sys.spawn(kernel::master, std::move(cfg)));
}

} // namespace dcos
