#include "vip_table_actor.hpp"

#include <set>
#include <string>

#include <caf/all.hpp>

#include "dcos/logging.hpp"

namespace dcos::minuteman {

namespace {

struct table_state {
  static inline const char* name = "dcos.minuteman.vip_table";
  table_state() = default;
  vip_table_config cfg;
  std::set<std::string> reported; // malformed labels already logged
  std::shared_ptr<spdlog::logger> log = logging::get("minuteman");
};

cluster_observer_actor::behavior_type
table_actor(cluster_observer_actor::stateful_pointer<table_state> self,
            vip_table_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](const cluster_snapshot& snapshot) {
      auto& st = self->state;
      auto table
        = std::make_shared<const vip_table>(build_vip_table(*snapshot.state));
      std::set<std::string> now;
      for (const auto& e : table->errors) {
        auto key = e.framework_id + "\n" + e.task_id + "\n" + e.label + "\n"
                   + e.value;
        if (st.reported.count(key) == 0)
          st.log->warn("task {} of framework {}: ignoring {}: {}", e.task_id,
                       e.framework_id, e.label, e.reason);
        now.insert(std::move(key));
      }
      st.reported = std::move(now);
      st.cfg.holder->publish(table);
      if (st.cfg.on_table)
        st.cfg.on_table(std::move(table));
    },
    [self](disconnected_atom) {
      self->state.log->warn("lost the master: balancing over the last known "
                            "backends until it is back");
    },
  };
}

} // namespace

cluster_observer_actor spawn_vip_table_actor(caf::actor_system& sys,
                                             vip_table_config cfg) {
  return sys.spawn(table_actor, std::move(cfg));
}

} // namespace dcos::minuteman
