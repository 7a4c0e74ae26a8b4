// Allocation pass time at Mesos' benchmark shapes: agents x frameworks, each
// framework in its own role, every framework either declining everything
// (with a filter) or keeping everything it is offered.
//
// Prints one JSON line per shape:
//   cold_pass_ms     first pass, every agent free
//   decline_pass_ms  next pass after every offer was declined (refuse 5 s):
//                    every agent must skip the framework filtering it
//   accept_pass_ms   a pass after every offer was kept: nothing is free
//
//   allocator_bench [--agents=1000,5000,10000,20000] [--frameworks=100,...]
//                   [--perf_window]
#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include "allocator/hierarchical_allocator.hpp"
#include "dcos/flags.hpp"

using namespace dcos;
using namespace dcos::alloc;
using namespace std::chrono;

namespace {

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoi(item));
  return out;
}

// With --perf_window: the decline pass's steady_clock (CLOCK_MONOTONIC)
// window, to profile that pass alone with `perf record -k CLOCK_MONOTONIC`
// and `perf report --time START,END`.
bool print_perf_window = false;

// Times one pass; the previous pass's offers are destroyed outside the
// measurement.
double time_pass(hierarchical_allocator& a, alloc::time_point now,
                 std::vector<offer_batch>& offers,
                 const char* window_name = nullptr) {
  offers.clear();
  auto start = steady_clock::now();
  offers = a.allocate(now);
  auto end = steady_clock::now();
  if (print_perf_window && window_name != nullptr)
    fmt::print(stderr, "{} pass window: {:.6f},{:.6f}\n", window_name,
               duration<double>(start.time_since_epoch()).count(),
               duration<double>(end.time_since_epoch()).count());
  return duration<double, std::milli>(end - start).count();
}

template <class F>
double time_ms(F&& f) {
  auto start = steady_clock::now();
  f();
  return duration<double, std::milli>(steady_clock::now() - start).count();
}

void run_shape(int agents, int frameworks) {
  hierarchical_allocator a{allocator_options{1}};
  auto agent_resources
    = *resources::parse("cpus:24;mem:65536;disk:1048576;ports:[31000-32000]");
  double setup_ms = time_ms([&] {
    for (int i = 0; i < frameworks; ++i)
      a.add_framework({fmt::format("framework-{}", i),
                       {fmt::format("role-{}", i)}, {}, true, {}});
    for (int i = 0; i < agents; ++i)
      a.add_agent({fmt::format("agent-{}", i), agent_resources, {}});
  });
  alloc::time_point now{};
  std::vector<offer_batch> offers;
  double cold = time_pass(a, now, offers);
  size_t offered = 0;
  for (auto& batch : offers) {
    offered += batch.agents.size();
    for (auto& [agent, amount] : batch.agents)
      a.recover({batch.framework_id, agent, amount, seconds(5)}, now);
  }
  now += seconds(1);
  double decline = time_pass(a, now, offers, "decline");
  size_t offered_after_decline = 0;
  for (auto& batch : offers)
    offered_after_decline += batch.agents.size();
  now += seconds(1);
  double accept = time_pass(a, now, offers);
  fmt::print("{{\"bench\":\"allocation_pass\",\"agents\":{},\"frameworks\":{},"
             "\"setup_ms\":{:.1f},\"cold_pass_ms\":{:.2f},"
             "\"decline_pass_ms\":{:.2f},\"accept_pass_ms\":{:.2f},"
             "\"offers_cold\":{},\"offers_after_decline\":{},"
             "\"filters\":{}}}\n",
             agents, frameworks, setup_ms, cold, decline, accept, offered,
             offered_after_decline, a.active_filters());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  std::string agents = "1000,5000,10000,20000";
  std::string frameworks = "100,1000,2000";
  flags f{"allocator_bench [flags]", "Allocation pass time at Mesos' shapes."};
  f.add(&agents, "agents", "comma-separated agent counts");
  f.add(&frameworks, "frameworks", "comma-separated framework counts");
  f.add(&print_perf_window, "perf_window",
        "print each decline pass's CLOCK_MONOTONIC window to stderr");
  parse_or_exit(f, argc, argv);
  for (int n : parse_list(agents))
    for (int m : parse_list(frameworks))
      run_shape(n, m);
}
