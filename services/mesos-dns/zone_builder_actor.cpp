#include "zone_builder_actor.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/detector_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/logging.hpp"

namespace dcos::mesos_dns {

namespace {

using refresh_hosts_atom = caf::atom_constant<caf::atom("dnsrefresh")>;
using publish_atom = caf::atom_constant<caf::atom("dnspublish")>;

using builder_actor
  = cluster_observer_actor::extend<caf::reacts_to<refresh_hosts_atom>,
                                   caf::reacts_to<publish_atom>>;

struct builder_state {
  static inline const char* name = "dcos.mesos_dns.zone_builder";
  builder_state() = default;
  zone_builder_config cfg;
  uint32_t next_serial = 1;
  std::optional<cluster_snapshot> last;
  zone_inputs inputs;
  std::unordered_set<std::string> asking; // lookups in flight
  std::vector<std::string> members;       // the election's, as last heard
  bool publish_due = false; // a publish_atom is on its way to us
  std::shared_ptr<spdlog::logger> log = logging::get("mesos_dns");
};

using builder_self = builder_actor::stateful_pointer<builder_state>;

void publish(builder_self self) {
  auto& st = self->state;
  if (!st.last)
    return;
  auto zone = std::make_shared<zone_snapshot>();
  zone->records = record_set::build(*st.last->state, st.last->leader,
                                    st.cfg.settings, st.inputs);
  zone->serial = st.next_serial++;
  st.cfg.zone->publish(std::move(zone));
}

// Publishes once the messages already queued (a burst of lookup answers)
// are handled: one zone for all of them.
void publish_soon(builder_self self) {
  if (self->state.publish_due)
    return;
  self->state.publish_due = true;
  self->send(self, publish_atom::value);
}

std::vector<std::string> names_in_use(const builder_state& st) {
  if (!st.last)
    return {};
  const auto& configured = st.cfg.settings.config.masters();
  return record_set::host_names(
    *st.last->state, st.last->leader,
    st.inputs.masters
      ? *st.inputs.masters
      : std::vector<std::string>(configured.begin(), configured.end()));
}

void look_up(builder_self self, const std::string& name) {
  auto& st = self->state;
  if (!st.cfg.resolver || !st.asking.insert(name).second)
    return;
  auto answered = [self, name](std::vector<std::string> ips) {
    auto& st = self->state;
    st.asking.erase(name);
    if (ips.empty())
      st.log->warn("cannot translate hostname '{}' into an address: it "
                   "gets no records",
                   name);
    // An answer, even an empty one, is kept until the next refresh, so
    // that a name that does not resolve is not asked for with every
    // snapshot.
    auto [it, added] = st.inputs.host_addresses.try_emplace(name);
    if (!added && it->second == ips)
      return;
    it->second = std::move(ips);
    publish_soon(self);
  };
  self->request(st.cfg.resolver, caf::infinite, lookup_atom::value, name)
    .then([answered](std::vector<std::string>& ips) { answered(std::move(ips)); },
          [answered](caf::error&) { answered({}); });
}

// Asks for the names in use that were never looked up.
void look_up_new_names(builder_self self) {
  for (const auto& name : names_in_use(self->state))
    if (self->state.inputs.host_addresses.count(name) == 0)
      look_up(self, name);
}

// Follows the election's membership: each change becomes the masters list.
void watch_members(builder_self self) {
  auto& st = self->state;
  self
    ->request(st.cfg.election, caf::infinite, members_atom::value, st.members)
    .then(
      [self](std::vector<std::string>& members) {
        auto& st = self->state;
        std::vector<std::string> masters;
        for (const auto& data : members)
          if (auto at = master_http_endpoint(data))
            masters.push_back(fmt::format("{}:{}", at->first, at->second));
        st.members = std::move(members);
        st.inputs.masters = std::move(masters);
        look_up_new_names(self);
        publish(self);
        watch_members(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.log->error("cannot follow the masters' election ({}): masterN "
                      "names the configured masters",
                      describe_reason(err));
        st.inputs.masters.reset();
        publish(self);
      });
}

builder_actor::behavior_type builder(builder_self self,
                                     zone_builder_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.next_serial = st.cfg.first_serial;
  if (st.cfg.resolver)
    self->send(self, refresh_hosts_atom::value);
  if (st.cfg.election)
    watch_members(self);
  return {
    [self](const cluster_snapshot& snapshot) {
      self->state.last = snapshot;
      look_up_new_names(self);
      publish(self);
    },
    [self](disconnected_atom) {
      self->state.log->warn("lost the master: serving the last records "
                            "until it is back");
    },
    [self](publish_atom) {
      self->state.publish_due = false;
      publish(self);
    },
    // Every RefreshSeconds: the names in use are looked up again (an answer
    // that differs publishes the zone again), the others forgotten.
    [self](refresh_hosts_atom) {
      auto& st = self->state;
      auto in_use = names_in_use(st);
      std::unordered_set<std::string> keep(in_use.begin(), in_use.end());
      for (auto it = st.inputs.host_addresses.begin();
           it != st.inputs.host_addresses.end();)
        it = keep.count(it->first) > 0 ? std::next(it)
                                       : st.inputs.host_addresses.erase(it);
      for (const auto& name : in_use)
        look_up(self, name);
      auto every = std::max<uint32_t>(1, st.cfg.settings.config.refresh_seconds());
      self->delayed_send(self, std::chrono::seconds(every),
                         refresh_hosts_atom::value);
    },
  };
}

} // namespace

cluster_observer_actor spawn_zone_builder(caf::actor_system& sys,
                                          zone_builder_config cfg) {
  return caf::actor_cast<cluster_observer_actor>(
    sys.spawn(builder, std::move(cfg)));
}

} // namespace dcos::mesos_dns
