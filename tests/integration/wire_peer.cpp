// A separate process for the cross-process wire test: publishes a
// wire_echo_actor on an ephemeral loopback port, prints "PORT <n>", and runs
// until SIGTERM arrives.
#include <iostream>

#include <caf/io/all.hpp>

#include "dcos/json.hpp"
#include "dcos/signals.hpp"
#include "support/wire_echo.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

template <class T>
caf::result<T, std::string> echo(const T& msg) {
  return {msg, to_json(msg)};
}

wire_echo_actor::behavior_type echo_impl() {
  return {
    [](echo_atom, const v1::TaskInfo& x) { return echo(x); },
    [](echo_atom, const v1::TaskGroupInfo& x) { return echo(x); },
    [](echo_atom, const v1::Offer& x) { return echo(x); },
    [](echo_atom, const v1::TaskStatus& x) { return echo(x); },
    [](echo_atom, const v1::FrameworkInfo& x) { return echo(x); },
    [](echo_atom, const v1::AgentInfo& x) { return echo(x); },
  };
}

} // namespace

int main() {
  block_termination_signals();
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto actor = sys.spawn(echo_impl);
  auto port = sys.middleman().publish(actor, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "publish failed: " << sys.render(port.error()) << '\n';
    return 1;
  }
  std::cout << "PORT " << *port << std::endl;
  wait_for_termination_signal();
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  return 0;
}
