// Operator event stream fan-out: followers of the master's event stream
// while a framework starts tasks (issue #15: 100 followers, 10,000 tasks).
// Each follower turns every event into Mesos JSON as an HTTP follower does
// (operator_stream.cpp; the sockets are not included). Figures: events
// delivered per second over the whole run, and the lag of the slowest
// follower: from the framework hearing the last TASK_RUNNING (the master
// publishes the event just before it sends that update) to that follower
// having handled all its events.
//
//   operator_stream_bench [--followers=100] [--agents=100]
//                         [--tasks_per_agent=100] [--encode=true]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/flags.hpp"
#include "dcos/type_bridge.hpp"
#include "task_load.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace std::chrono_literals;

namespace {

int64_t now_ns() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

struct follower_state {
  uint64_t expected = 0; // task events to see: ADDED and RUNNING per task
  bool encode = true;
  std::atomic<uint64_t> seen{0};
  std::atomic<int64_t> done_ns{0};
  std::atomic<uint64_t> json_bytes{0};
};

master_subscriber_actor::behavior_type
follower(master_subscriber_actor::pointer,
         std::shared_ptr<follower_state> st) {
  return {
    [st](const v1::master::Event& event) {
      if (st->encode) {
        std::string json;
        google::protobuf::util::JsonPrintOptions opts;
        opts.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(event, &json, opts);
        st->json_bytes += json.size();
      }
      if (event.type() != v1::master::Event::TASK_ADDED
          && event.type() != v1::master::Event::TASK_UPDATED)
        return;
      if (++st->seen == st->expected)
        st->done_ns = now_ns();
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  int followers = 100;
  int agents = 100;
  int per_agent = 100;
  bool encode = true;
  flags f{"operator_stream_bench [flags]",
          "Operator event stream fan-out while tasks start."};
  f.add(&followers, "followers", "event stream followers");
  f.add(&agents, "agents", "number of agents");
  f.add(&per_agent, "tasks_per_agent", "tasks launched on each agent");
  f.add(&encode, "encode", "followers encode each event as JSON");
  parse_or_exit(f, argc, argv);
  const uint64_t tasks = static_cast<uint64_t>(agents) * per_agent;

  quiet_cluster cluster{agents, per_agent};
  auto& sys = *cluster.sys;
  auto& master = cluster.master;

  std::vector<std::shared_ptr<follower_state>> states;
  std::atomic<int> subscribed{0};
  for (int i = 0; i < followers; ++i) {
    auto st = std::make_shared<follower_state>();
    st->expected = 2 * tasks;
    st->encode = encode;
    states.push_back(st);
    auto actor = sys.spawn(follower, st);
    cluster.keep(actor);
    sys.spawn([master, actor, &subscribed](caf::event_based_actor* self) {
      self->request(master, caf::infinite, subscribe_atom::value, actor)
        .then([&subscribed](const v1::master::Event&) { ++subscribed; },
              [](const caf::error&) {});
    });
  }
  // Recovery of an empty registry is quick; followers retry-free.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (subscribed < followers && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);

  auto load = std::make_shared<launch_state>();
  load->per_offer = per_agent;
  auto framework = sys.spawn(launcher, load);
  v1::FrameworkInfo info;
  info.set_user("bench");
  info.set_name("fanout");
  auto start = now_ns();
  auto driver = spawn_scheduler_driver(sys, framework, info,
                                       spawn_fixed_detector(sys, master));
  load->driver = driver;
  cluster.keep(framework);
  cluster.keep(driver);

  auto all_done = [&] {
    return load->running >= tasks
           && std::all_of(states.begin(), states.end(),
                          [](const auto& s) { return s->done_ns != 0; });
  };
  deadline = std::chrono::steady_clock::now() + 300s;
  while (!all_done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  bool ok = all_done() && subscribed == followers;

  int64_t slowest = 0;
  uint64_t delivered = 0;
  uint64_t bytes = 0;
  for (const auto& s : states) {
    slowest = std::max<int64_t>(slowest, s->done_ns);
    delivered += s->seen;
    bytes += s->json_bytes;
  }
  auto end = std::max<int64_t>(slowest, load->last_running_ns);
  double wall_s = static_cast<double>(end - start) / 1e9;
  fmt::print("{{\"bench\":\"operator_stream\",\"followers\":{},\"tasks\":{},"
             "\"encode\":{},\"task_events_delivered\":{},"
             "\"wall_s\":{:.2f},\"events_per_s\":{:.0f},"
             "\"launch_s\":{:.2f},\"slowest_lag_ms\":{:.1f},"
             "\"json_mb\":{:.1f},\"ok\":{}}}\n",
             followers, load->running.load(), encode, delivered, wall_s,
             wall_s > 0 ? static_cast<double>(delivered) / wall_s : 0.0,
             static_cast<double>(load->last_running_ns - start) / 1e9,
             followers > 0 ? static_cast<double>(slowest - load->last_running_ns)
                               / 1e6
                           : 0.0,
             static_cast<double>(bytes) / 1048576.0, ok);
  return ok ? 0 : 1;
}
