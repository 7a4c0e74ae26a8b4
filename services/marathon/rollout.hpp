// What to do next for one app, from its definition and its tasks: how many
// tasks to launch and which to kill now. Called after every change; the
// answer moves the tasks one safe step toward the definition.
//
// Rules (Marathon's):
//  - tasks of the current config version are kept up to `instances`;
//    extras are killed by killSelection (YOUNGEST_FIRST by default);
//  - while tasks of an older version remain (an upgrade or restart), at
//    most instances x (1 + maximumOverCapacity) tasks are alive, and old
//    running tasks are killed only while ceil(instances x
//    minimumHealthCapacity) others run; when neither rule lets anything
//    happen (capacity 1 and over-capacity 0) and no task is starting or
//    being killed, one old task is killed first;
//  - "running" means ready: running and, for a task launched with a
//    health check, healthy (so a deployment of such an app ends when its new tasks are
//    healthy, and an old task goes only while enough others are healthy);
//  - tasks being killed count against the over-capacity until they are
//    gone, but not as running;
//  - an unreachable task counts as alive (not running) until it is marked
//    inactive (unreachableStrategy), then not at all: it is replaced.
//
// Thread-safety: a plain function.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "marathon.pb.h"

namespace dcos::marathon {

struct rollout_step {
  int launches = 0;               // tasks to launch now
  std::vector<std::string> kills; // task ids to kill now
  bool converged = false;         // nothing left to do: tasks match the app
};

/// Whether the executor's last health check verdict on `task` was healthy.
bool is_healthy(const Task& task);

/// Whether `task` serves: running and, if it was launched with a health
/// check, healthy.
bool is_ready(const Task& task);

/// REQUIRES: `app` is valid; `tasks` are the app's non-terminal tasks.
/// `removing`: the app is being removed (every task goes).
rollout_step plan_rollout(const App& app,
                          const std::map<std::string, Task>& tasks,
                          bool removing);

} // namespace dcos::marathon
