// An actor system with threads and the network layer for tests that talk
// to real daemons; it ends its actors and releases their handles.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "dcos/detector_actor.hpp"
#include "dcos/resources.hpp"
#include "dcos/scheduler.hpp"
#include "dcos/task_state.hpp"
#include "dcos/type_bridge.hpp"
#include "support/processes.hpp"

namespace dcos::test {

struct network_node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::vector<caf::actor> actors;

  network_node() {
    register_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  ~network_node() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors.clear();
  }

  template <class H>
  H keep(H h) {
    actors.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }
};

/// A framework for tests: launches the given tasks on the first offer and
/// records every update (thread-safe: callbacks run on an actor's thread).
struct recording_scheduler : scheduler {
  std::mutex mtx;
  std::vector<v1::TaskInfo> to_launch;
  std::vector<v1::TaskStatus> updates;
  std::vector<std::string> errors;
  bool launched = false;

  void offers(scheduler_driver& d,
              const std::vector<v1::Offer>& offers) override {
    std::lock_guard guard{mtx};
    for (const auto& offer : offers) {
      if (launched || to_launch.empty()) {
        d.decline({offer.id()});
        continue;
      }
      auto tasks = to_launch;
      for (auto& t : tasks)
        *t.mutable_agent_id() = offer.agent_id();
      d.launch(offer.id(), std::move(tasks));
      launched = true;
    }
  }

  void update(scheduler_driver&, const v1::TaskStatus& s) override {
    std::lock_guard guard{mtx};
    updates.push_back(s);
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::lock_guard guard{mtx};
    errors.push_back(message);
  }

  /// The states `task_id` went through, in order.
  std::vector<v1::TaskState> states_of(const std::string& task_id) {
    std::lock_guard guard{mtx};
    std::vector<v1::TaskState> out;
    for (const auto& u : updates)
      if (u.task_id().value() == task_id)
        out.push_back(u.state());
    return out;
  }

  bool reached(const std::string& task_id, v1::TaskState state) {
    auto states = states_of(task_id);
    return std::find(states.begin(), states.end(), state) != states.end();
  }

  std::optional<v1::TaskStatus> last_of(const std::string& task_id) {
    std::lock_guard guard{mtx};
    for (auto i = updates.rbegin(); i != updates.rend(); ++i)
      if (i->task_id().value() == task_id)
        return *i;
    return std::nullopt;
  }
};

inline v1::TaskInfo command_task(const std::string& id,
                                 const std::string& command,
                                 std::string_view amount = "cpus:0.1;mem:32") {
  v1::TaskInfo t;
  t.set_name(id);
  t.mutable_task_id()->set_value(id);
  t.mutable_command()->set_value(command);
  resources::parse(amount)->to_proto(t.mutable_resources());
  return t;
}

} // namespace dcos::test
