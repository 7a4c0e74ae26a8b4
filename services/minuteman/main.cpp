// dcos-minuteman: virtual IPs and layer-4 load balancing between tasks
// (DC/OS' Minuteman), following the master's event stream.
//
//   dcos-minuteman --master=127.0.0.1:5050 [--port=62080]
//                  [--vip_interface=minuteman] [--proxy_threads=1]
//
// VIP addresses go on a dummy interface it creates (root); without one the
// proxy listens only on VIP addresses the host has already. Runs until
// SIGTERM/SIGINT, then removes the addresses it added.
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include <dcos/cluster_view_actor.hpp>
#include <dcos/daemon_runtime.hpp>
#include <dcos/detector_actor.hpp>
#include <dcos/error.hpp>
#include <dcos/signals.hpp>
#include <dcos/version.hpp>

#include "minuteman_http.hpp"
#include "vip_interface.hpp"
#include "vip_proxy.hpp"
#include "vip_table_actor.hpp"

using namespace dcos;
using namespace dcos::minuteman;

int main(int argc, char** argv) {
  block_termination_signals();
  daemon_runtime d{"dcos-minuteman", "dcos-minuteman [flags]",
                   "Minuteman: virtual IPs (VIP_n port labels) load-balanced "
                   "over the tasks that declare them.",
                   62080};
  std::string master = "127.0.0.1:5050";
  std::string vip_interface_name = "minuteman";
  uint32_t proxy_threads = 1;
  uint32_t connect_timeout_ms = 1000;
  uint32_t failures_to_down = 3;
  uint32_t down_ms = 5000;
  uint32_t udp_idle_ms = 60000;
  bool splice = false;
  uint64_t seed = std::random_device{}();
  auto& f = d.flags();
  f.add(&master, "master",
        "HOST:PORT of a master, or zk://HOSTS/PATH of the masters");
  f.add(&vip_interface_name, "vip_interface",
        "the dummy interface that holds the VIP addresses (created if "
        "missing; needs root); empty: use addresses the host has");
  f.add(&proxy_threads, "proxy_threads", "threads that proxy connections");
  f.add(&connect_timeout_ms, "connect_timeout_ms",
        "how long a connect to a backend may take before another is tried");
  f.add(&failures_to_down, "failures_to_down",
        "failed connects in a row that mark a backend down");
  f.add(&down_ms, "down_ms",
        "how long a backend stays down before a connection probes it");
  f.add(&udp_idle_ms, "udp_idle_ms",
        "how long a UDP flow (a client address's datagrams to one backend) "
        "lasts with no datagram");
  f.add(&splice, "splice",
        "move bulk streams with splice(2), inside the kernel: less CPU "
        "per byte, fewer bytes per second for one stream");
  f.add(&seed, "seed", "seed of the backend choice");
  d.parse_or_exit(argc, argv);
  if (proxy_threads == 0)
    return d.usage_error("--proxy_threads: must be positive");
  if (connect_timeout_ms == 0)
    return d.usage_error("--connect_timeout_ms: must be positive");
  if (failures_to_down == 0)
    return d.usage_error("--failures_to_down: must be positive");
  if (udp_idle_ms == 0)
    return d.usage_error("--udp_idle_ms: must be positive");
  auto where = parse_master_location(master);
  if (!where)
    return d.usage_error(describe_reason(where.error()));

  std::unique_ptr<vip_interface> iface;
  if (!vip_interface_name.empty()) {
    auto opened = vip_interface::open(vip_interface_name);
    if (opened) {
      if (!opened->fallback().empty())
        d.log()->warn("no dummy interface {} ({}): VIP addresses go on "
                      "loopback",
                      vip_interface_name, opened->fallback());
      iface = std::make_unique<vip_interface>(std::move(*opened));
    } else
      d.log()->warn("no VIP interface ({}): listening only on VIP "
                    "addresses this host has",
                    describe(opened.error()));
  }
  proxy_options popts;
  popts.threads = proxy_threads;
  popts.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  popts.failures_to_down = failures_to_down;
  popts.down_for = std::chrono::milliseconds(down_ms);
  popts.udp_idle = std::chrono::milliseconds(udp_idle_ms);
  popts.splice = splice;
  popts.seed = seed;
  auto proxy = vip_proxy::start(popts, std::move(iface));
  if (!proxy)
    return d.startup_error("cannot start the proxy", proxy.error());

  caf::actor_system_config cfg;
  d.configure(cfg);
  caf::actor_system sys{cfg};
  auto holder = std::make_shared<vip_holder>();
  vip_table_config tcfg;
  tcfg.holder = holder;
  tcfg.on_table = [p = proxy->get()](std::shared_ptr<const vip_table> t) {
    p->publish(std::move(t));
  };
  auto table = spawn_vip_table_actor(sys, tcfg);
  auto detector = spawn_detector(sys, *where);
  auto view = spawn_cluster_view(sys, detector, table);

  auto http
    = d.serve(minuteman_routes(holder, proxy->get(), table, dcos::version));
  if (!http)
    return d.startup_error("cannot serve HTTP", http.error());
  d.announce((*http)->port());
  d.log()->info("stopping on signal {}", wait_for_termination_signal());
  (*http)->stop();
  caf::anon_send_exit(view, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(table, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(detector, caf::exit_reason::user_shutdown);
  (*proxy)->stop();
  return 0;
}
