// The registry: what must survive a master restart (admitted agents,
// unreachable and gone agents, deactivated and draining agents, the
// maintenance schedule, weights, quota, frameworks with the time each lost
// its scheduler), kept through the store.
// Writes are batched: one in flight, later changes coalesced into the next,
// and each change's continuation runs once it is durable.
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

namespace {

constexpr const char* registry_key = "registry";

} // namespace

void master_state::load_registry() {
  if (!cfg.store) {
    recovered = true; // nothing durable: start fresh
    recovered_at = now();
    return;
  }
  load_or_empty(
    self, cfg.store, std::string{registry_key},
    [this](const std::string& bytes) { registry_loaded(bytes); },
    [this](const caf::error& err) {
      // Starting without a registry we cannot read would forget every
      // agent: stop instead, as Mesos does.
      log->critical("cannot read the registry: {}", describe(err));
      self->quit(err);
    });
}

void master_state::registry_loaded(const std::string& bytes) {
  v1::internal::Registry reg;
  if (!bytes.empty() && !reg.ParseFromString(bytes)) {
    log->critical("the registry is corrupt ({} bytes)", bytes.size());
    self->quit(make_error(errc::corrupt_payload, "registry is corrupt"));
    return;
  }
  // Ids are "<master id>-<counter>": a new incarnation must not reuse the
  // last one's id (a fixed seed would), or new ids could collide.
  while (reg.master().id() == master_id)
    master_id = draw_master_id(rng);
  for (const auto& gone : reg.gone())
    gone_agents.insert(gone.value());
  for (const auto& agent : reg.agents())
    if (gone_agents.count(agent.info().id().value()) == 0)
      recovering_agents[agent.info().id().value()] = agent.info();
  for (const auto& u : reg.unreachable()) {
    auto& entry = unreachable[u.id().value()];
    entry.info.mutable_id()->set_value(u.id().value());
    entry.since = static_cast<double>(u.timestamp().nanoseconds()) / 1e9;
  }
  load_maintenance(reg);
  for (const auto& id : reg.deactivated())
    deactivated_agents.insert(id.value());
  for (const auto& [id, info] : reg.draining())
    draining_agents[id] = info;
  if (reg.weights_size() > 0) {
    alloc::set_weights w;
    for (const auto& x : reg.weights()) {
      weights[x.role()] = x.weight();
      w.weights.emplace_back(x.role(), x.weight());
    }
    self->send(allocator, std::move(w));
  }
  for (const auto& q : reg.quotas()) {
    v1::master::QuotaConfig config;
    config.set_role(q.role());
    alloc::set_quota set{q.role(), {}, {}};
    for (auto& [name, value] : q.guarantees()) {
      (*config.mutable_guarantees())[name].set_value(value);
      set.guarantees[name] = to_milli(value);
    }
    for (auto& [name, value] : q.limits()) {
      (*config.mutable_limits())[name].set_value(value);
      set.limits[name] = to_milli(value);
    }
    quotas[q.role()] = config;
    self->send(allocator, std::move(set));
  }
  recovered = true;
  recovered_at = now();
  for (const auto& f : reg.frameworks()) {
    std::optional<double> since;
    if (f.has_disconnected_at())
      since = static_cast<double>(f.disconnected_at().nanoseconds()) / 1e9;
    framework_placeholder(f.info().id().value(), &f.info(), since);
  }
  if (!recovering_agents.empty()) {
    log->info("recovered registry: waiting up to {}s for {} agents to "
              "re-register",
              std::chrono::duration<double>(cfg.agent_reregister_timeout)
                .count(),
              recovering_agents.size());
    self->delayed_send(self, cfg.agent_reregister_timeout,
                       timeout_atom::value);
  }
}

v1::internal::Registry master_state::registry() const {
  v1::internal::Registry reg;
  *reg.mutable_master() = master_info();
  for (const auto& [id, agent] : agents)
    *reg.add_agents()->mutable_info() = agent.info;
  for (const auto& [id, info] : recovering_agents)
    *reg.add_agents()->mutable_info() = info;
  for (const auto& [id, u] : unreachable) {
    auto* entry = reg.add_unreachable();
    entry->mutable_id()->set_value(id);
    entry->mutable_timestamp()->set_nanoseconds(
      static_cast<int64_t>(u.since * 1e9));
  }
  for (const auto& id : gone_agents)
    reg.add_gone()->set_value(id);
  save_maintenance(reg);
  for (const auto& id : deactivated_agents)
    reg.add_deactivated()->set_value(id);
  for (const auto& [id, info] : draining_agents)
    (*reg.mutable_draining())[id] = info;
  for (const auto& [id, fw] : frameworks) {
    auto* f = reg.add_frameworks();
    *f->mutable_info() = fw.info;
    if (!fw.connected)
      f->mutable_disconnected_at()->set_nanoseconds(
        static_cast<int64_t>(fw.unregistered_time * 1e9));
  }
  for (const auto& [role, weight] : weights) {
    auto* w = reg.add_weights();
    w->set_role(role);
    w->set_weight(weight);
  }
  for (const auto& [role, config] : quotas) {
    auto* q = reg.add_quotas();
    q->set_role(role);
    for (auto& [name, scalar] : config.guarantees())
      (*q->mutable_guarantees())[name] = scalar.value();
    for (auto& [name, scalar] : config.limits())
      (*q->mutable_limits())[name] = scalar.value();
  }
  return reg;
}

void master_state::persist(std::function<void()> done) {
  if (!cfg.store) {
    if (done)
      done();
    return;
  }
  if (done)
    registry_waiting.push_back(std::move(done));
  else
    registry_waiting.emplace_back([] {});
  if (!registry_write_in_flight)
    write_registry();
}

void master_state::write_registry() {
  registry_write_in_flight = true;
  registry_writing = std::move(registry_waiting);
  registry_waiting.clear();
  self->request(cfg.store, caf::infinite, put_atom::value,
                std::string{registry_key}, registry().SerializeAsString())
    .then(
      [this](ok_atom) {
        auto callbacks = std::move(registry_writing);
        registry_writing.clear();
        registry_write_in_flight = false;
        for (auto& f : callbacks)
          f();
        if (!registry_waiting.empty())
          write_registry();
      },
      [this](caf::error& err) {
        log->critical("cannot write the registry: {}", describe(err));
        self->quit(err);
      });
}

} // namespace dcos::kernel
