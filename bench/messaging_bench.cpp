// The messaging floor every later figure is judged against: CAF message
// throughput and request/response latency between two actors, first in one
// process, then across two processes over loopback (BASP). Prints one JSON
// object per line.
//
//   messaging_bench [--messages=N] [--round_trips=N]
//   messaging_bench --peer       (internal: the remote side)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <iostream>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "dcos/actor_system_setup.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/signals.hpp"
#include "dcos/subprocess.hpp"
#include "dcos/type_bridge.hpp"
#include "dcos/wire_types.hpp"

using namespace std::chrono;
using namespace dcos;

namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

// The receiving side: counts one-way messages, echoes pings.
using sink_actor = caf::typed_actor<
  caf::reacts_to<int32_t>, caf::reacts_to<v1::TaskStatus>,
  caf::replies_to<count_atom>::with<int64_t>,
  caf::replies_to<ping_atom, int32_t>::with<int32_t>,
  caf::replies_to<ping_atom, v1::TaskStatus>::with<v1::TaskStatus>>;

sink_actor::behavior_type sink(sink_actor::stateful_pointer<int64_t> self) {
  return {
    [self](int32_t) { ++self->state; },
    [self](const v1::TaskStatus&) { ++self->state; },
    [self](count_atom) { return self->state; },
    [](ping_atom, int32_t x) { return x; },
    [](ping_atom, const v1::TaskStatus& x) { return x; },
  };
}

v1::TaskStatus sample_status() {
  v1::TaskStatus status;
  status.mutable_task_id()->set_value("app.web.7f3c1d2e-0000-4000-8000-000000000001");
  status.mutable_agent_id()->set_value("a1b2c3d4-S0");
  status.set_state(v1::TASK_RUNNING);
  status.set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status.set_uuid(std::string(16, '\x5a'));
  status.set_timestamp(1.7e9);
  return status;
}

double seconds_since(steady_clock::time_point start) {
  return duration<double>(steady_clock::now() - start).count();
}

// Sends `n` one-way messages, then waits until the sink has counted them all.
template <class Payload>
void throughput(caf::scoped_actor& self, const sink_actor& target,
                std::string_view where, std::string_view payload_name,
                const Payload& payload, int64_t n) {
  int64_t before = 0;
  self->request(target, caf::infinite, count_atom::value)
    .receive([&](int64_t c) { before = c; }, [](caf::error&) {});
  auto start = steady_clock::now();
  for (int64_t i = 0; i < n; ++i)
    self->send(target, payload);
  int64_t seen = before;
  while (seen < before + n) {
    self->request(target, caf::infinite, count_atom::value)
      .receive([&](int64_t c) { seen = c; }, [](caf::error&) {});
  }
  auto secs = seconds_since(start);
  fmt::print("{{\"bench\":\"throughput\",\"where\":\"{}\",\"payload\":\"{}\","
             "\"messages\":{},\"seconds\":{:.3f},\"msgs_per_sec\":{:.0f}}}\n",
             where, payload_name, n, secs, static_cast<double>(n) / secs);
}

// Sequential round trips driven by an event-based actor (no blocking
// receive on the measured path); reports the distribution.
template <class Payload>
void latency(caf::actor_system& sys, const sink_actor& target,
             std::string_view where, std::string_view payload_name,
             const Payload& payload, int n) {
  struct pinger_state {
    std::vector<double> micros;
    steady_clock::time_point sent;
  };
  auto done = std::make_shared<std::promise<std::vector<double>>>();
  auto result = done->get_future();
  sys.spawn([=](caf::stateful_actor<pinger_state>* self) {
    auto next = std::make_shared<std::function<void()>>();
    *next = [=] {
      if (static_cast<int>(self->state.micros.size()) == n) {
        done->set_value(std::move(self->state.micros));
        self->quit();
        return;
      }
      self->state.sent = steady_clock::now();
      self->request(target, caf::infinite, ping_atom::value, payload)
        .then([=](const Payload&) {
          self->state.micros.push_back(seconds_since(self->state.sent) * 1e6);
          (*next)();
        });
    };
    self->state.micros.reserve(static_cast<size_t>(n));
    (*next)();
  });
  auto micros = result.get();
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) {
    return micros[static_cast<size_t>(q * static_cast<double>(micros.size() - 1))];
  };
  fmt::print("{{\"bench\":\"request_response\",\"where\":\"{}\",\"payload\":"
             "\"{}\",\"round_trips\":{},\"p50_us\":{:.1f},\"p99_us\":{:.1f},"
             "\"max_us\":{:.1f}}}\n",
             where, payload_name, n, at(0.5), at(0.99), micros.back());
}

void run_all(caf::scoped_actor& self, const sink_actor& target,
             std::string_view where, int64_t messages, int round_trips) {
  throughput(self, target, where, "int32", int32_t{42}, messages);
  throughput(self, target, where, "TaskStatus", sample_status(), messages);
  latency(self->system(), target, where, "int32", int32_t{42}, round_trips);
  latency(self->system(), target, where, "TaskStatus", sample_status(),
          round_trips);
  std::fflush(stdout);
}

int run_peer() {
  block_termination_signals();
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto target = sys.spawn(sink);
  auto port = sys.middleman().publish(target, 0, "127.0.0.1");
  if (!port)
    return 1;
  std::cout << "PORT " << *port << std::endl;
  wait_for_termination_signal();
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  int64_t messages = 200'000;
  int32_t round_trips = 5'000;
  bool peer = false;
  flags f{"messaging_bench [flags]", "CAF messaging throughput and latency."};
  f.add(&messages, "messages", "one-way messages per throughput run");
  f.add(&round_trips, "round_trips", "request/response pairs per latency run");
  f.add(&peer, "peer", "run as the remote side (internal)");
  parse_or_exit(f, argc, argv);
  if (peer)
    return run_peer();

  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  auto local = sys.spawn(sink);
  run_all(self, local, "in_process", messages, round_trips);
  self->send_exit(local, caf::exit_reason::user_shutdown);

  subprocess_options opts;
  opts.argv = {"/proc/self/exe", "--peer"};
  opts.capture_stdout = true;
  auto child = subprocess::spawn(opts);
  if (!child) {
    std::cerr << describe(child.error()) << '\n';
    return 1;
  }
  auto line = child->read_line(seconds(20));
  if (!line || line->rfind("PORT ", 0) != 0) {
    std::cerr << "peer did not start\n";
    return 1;
  }
  auto port = static_cast<uint16_t>(std::stoi(line->substr(5)));
  auto remote = sys.middleman().remote_actor<sink_actor>("127.0.0.1", port);
  if (!remote) {
    std::cerr << sys.render(remote.error()) << '\n';
    return 1;
  }
  run_all(self, *remote, "cross_process_loopback", messages, round_trips);
  child->terminate();
  return 0;
}
