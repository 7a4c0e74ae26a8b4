#include "dcos/type_bridge.hpp"

#include <caf/actor_system_config.hpp>
#include <fmt/format.h>

#include "dcos/agent_actor.hpp"
#include "dcos/error.hpp"
#include "dcos/executor_actor.hpp"
#include "dcos/master_actor.hpp"
#include "dcos/master_subscriber_actor.hpp"
#include "dcos/scheduler_actor.hpp"
#include "dcos/wire_types.hpp"

namespace dcos {

namespace detail {

caf::error corrupt_payload(const std::string& type_name, size_t size) {
  return make_error(errc::corrupt_payload,
                    fmt::format("{} bytes are not a valid {}", size,
                                type_name));
}

template <class... Ts>
void add_message_types(caf::actor_system_config& cfg,
                       caf::detail::type_list<Ts...>) {
  (cfg.add_message_type<Ts>(Ts::descriptor()->full_name()), ...);
}

} // namespace detail

void register_types(caf::actor_system_config& cfg) {
  detail::add_message_types(cfg, wire_types{});
  // Actor handles that travel inside messages between nodes.
  cfg.add_message_type<agent_actor>("dcos.agent_actor");
  cfg.add_message_type<scheduler_actor>("dcos.scheduler_actor");
  cfg.add_message_type<master_actor>("dcos.master_actor");
  cfg.add_message_type<master_subscriber_actor>("dcos.master_subscriber_actor");
  cfg.add_message_type<executor_actor>("dcos.executor_actor");
  cfg.add_error_category(
    error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      auto err = ctx.match_elements<std::string>()
                   ? make_error(static_cast<errc>(code), ctx.get_as<std::string>(0))
                   : make_error(static_cast<errc>(code));
      return describe(err);
    });
}

} // namespace dcos
