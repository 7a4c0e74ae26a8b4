// Inverse offers: the master asks each framework with resources on an agent
// whose machine is scheduled for maintenance to give them back before the
// window starts, as Mesos' allocator does for its maintenance primitives.
//
// Every allocation interval, while a machine is DRAINING, each framework
// that is subscribed and active and has tasks or offers on one of its
// (offerable) agents gets an inverse offer for that agent, unless it has
// one outstanding there or answered within its filter's refuse_seconds.
// An answer (ACCEPT or DECLINE) is kept per agent and framework and shown
// by GET_MAINTENANCE_STATUS until the machine's unavailability changes.
// Inverse offers are rescinded when the agent's unavailability changes or
// the agent goes away (deactivated, disconnected, removed), and dropped
// silently when the framework is gone (disconnected, failed over, removed).
#include <fmt/format.h>

#include "dcos/mesos_defaults.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

namespace {

// Mesos' bounds for an inverse offer's filter: the default 5 s for none
// or a negative value, at most a year.
caf::timespan refusal_of(const v1::Filters& filters) {
  double seconds = refuse_seconds(filters);
  if (!(seconds >= 0))
    seconds = refuse_seconds({});
  seconds = std::min(seconds, 365.0 * 24 * 3600);
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(seconds));
}

} // namespace

bool master_state::maintenance_draining() const {
  for (const auto& [key, m] : machines)
    if (!m.down)
      return true;
  return false;
}

void master_state::arm_inverse_offers() {
  if (inverse_offer_timer || !maintenance_draining())
    return;
  inverse_offer_timer = true;
  self->delayed_send(self, cfg.allocation_interval, inverse_atom::value);
}

void master_state::inverse_offer_tick() {
  inverse_offer_timer = false;
  make_inverse_offers();
  arm_inverse_offers();
}

void master_state::make_inverse_offers() {
  if (!recovered)
    return;
  auto now_tp = self->clock().now();
  std::map<std::string, call::Event::InverseOffers> events; // by framework
  for (auto& [agent_id, agent] : agents) {
    const auto* machine = machine_of(agent.info);
    if (machine == nullptr || machine->down || !agent.active)
      continue;
    // The frameworks with resources here: used by tasks, or offered.
    std::set<std::string> holders;
    for (const auto& [fw_id, used] : agent.used)
      if (!used.empty())
        holders.insert(fw_id);
    for (const auto& offer_id : agent.offers)
      if (auto o = offers.find(offer_id); o != offers.end())
        holders.insert(o->second.framework_id);
    auto& m = agent_maintenance[agent_id];
    for (const auto& fw_id : holders) {
      auto f = frameworks.find(fw_id);
      if (f == frameworks.end() || !f->second.active
          || m.outstanding.count(fw_id) > 0)
        continue;
      if (auto until = m.filtered_until.find(fw_id);
          until != m.filtered_until.end()) {
        if (until->second > now_tp)
          continue;
        m.filtered_until.erase(until);
      }
      auto id = new_id("O", next_offer);
      auto& offer = *events[fw_id].add_inverse_offers();
      offer.mutable_id()->set_value(id);
      auto* url = offer.mutable_url();
      url->set_scheme("http");
      url->mutable_address()->set_hostname(agent.info.hostname());
      url->mutable_address()->set_port(agent.info.has_port() ? agent.info.port()
                                                             : 5051);
      *offer.mutable_framework_id() = f->second.info.id();
      *offer.mutable_agent_id() = agent.info.id();
      *offer.mutable_unavailability() = machine->unavailability;
      m.outstanding[fw_id] = id;
      inverse_offers[id] = {fw_id, agent_id};
    }
  }
  for (auto& [fw_id, event] : events) {
    log->info("sending {} inverse offer(s) to framework {}",
              event.inverse_offers_size(), fw_id);
    self->send(frameworks[fw_id].handle, std::move(event));
  }
}

void master_state::answer_inverse_offers(
  const std::string& framework_id,
  const google::protobuf::RepeatedPtrField<v1::OfferID>& ids,
  const v1::Filters& filters, v1::master::InverseOfferStatus::Status answer) {
  auto call_name = answer == v1::master::InverseOfferStatus::ACCEPT
                     ? "ACCEPT_INVERSE_OFFERS"
                     : "DECLINE_INVERSE_OFFERS";
  if (find_framework(framework_id, call_name) == nullptr)
    return;
  if (ids.empty()) {
    log->warn("{} from framework {}: no inverse offers specified", call_name,
              framework_id);
    return;
  }
  for (const auto& id : ids) {
    auto i = inverse_offers.find(id.value());
    if (i == inverse_offers.end() || i->second.framework_id != framework_id) {
      // Mesos, too, ignores an answer to an inverse offer that is gone.
      log->warn("ignoring {} of inverse offer {} from framework {}: it is no "
                "longer valid",
                call_name, id.value(), framework_id);
      continue;
    }
    auto& m = agent_maintenance[i->second.agent_id];
    auto& status = m.statuses[framework_id];
    status.set_status(answer);
    status.mutable_framework_id()->set_value(framework_id);
    status.mutable_timestamp()->set_nanoseconds(
      static_cast<int64_t>(now() * 1e9));
    m.filtered_until[framework_id] = self->clock().now() + refusal_of(filters);
    m.outstanding.erase(framework_id);
    inverse_offers.erase(i);
  }
}

void master_state::rescind_inverse_offers(const std::string& agent_id,
                                          bool forget_answers) {
  auto m = agent_maintenance.find(agent_id);
  if (m == agent_maintenance.end())
    return;
  for (const auto& [fw_id, offer_id] : m->second.outstanding) {
    inverse_offers.erase(offer_id);
    auto f = frameworks.find(fw_id);
    if (f == frameworks.end() || !f->second.connected)
      continue;
    call::Event::RescindInverseOffer event;
    event.mutable_inverse_offer_id()->set_value(offer_id);
    self->send(f->second.handle, std::move(event));
  }
  m->second.outstanding.clear();
  if (forget_answers)
    agent_maintenance.erase(m);
}

void master_state::drop_inverse_offers(const std::string& framework_id) {
  for (auto& [agent_id, m] : agent_maintenance) {
    auto i = m.outstanding.find(framework_id);
    if (i == m.outstanding.end())
      continue;
    inverse_offers.erase(i->second);
    m.outstanding.erase(i);
  }
}

} // namespace dcos::kernel
