#include "zone_builder_actor.hpp"

#include <caf/all.hpp>

#include "dcos/logging.hpp"

namespace dcos::mesos_dns {

namespace {

struct builder_state {
  static inline const char* name = "dcos.mesos_dns.zone_builder";
  builder_state() = default;
  zone_builder_config cfg;
  uint32_t next_serial = 1;
  std::shared_ptr<spdlog::logger> log = logging::get("mesos_dns");
};

cluster_observer_actor::behavior_type
builder(cluster_observer_actor::stateful_pointer<builder_state> self,
        zone_builder_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.next_serial = self->state.cfg.first_serial;
  return {
    [self](const cluster_snapshot& snapshot) {
      auto& st = self->state;
      auto zone = std::make_shared<zone_snapshot>();
      zone->records = record_set::build(*snapshot.state, snapshot.leader,
                                        st.cfg.settings);
      zone->serial = st.next_serial++;
      st.cfg.zone->publish(std::move(zone));
    },
    [self](disconnected_atom) {
      self->state.log->warn("lost the master: serving the last records "
                            "until it is back");
    },
  };
}

} // namespace

cluster_observer_actor spawn_zone_builder(caf::actor_system& sys,
                                          zone_builder_config cfg) {
  return sys.spawn(builder, std::move(cfg));
}

} // namespace dcos::mesos_dns
