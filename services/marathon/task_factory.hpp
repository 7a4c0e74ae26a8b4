// Turning a piece of an offer into a task of an app: the offer matcher's
// one step. Pure functions, so that what fits and why not is testable
// without a cluster.
//
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <vector>

#include <dcos/placement_constraint.hpp>
#include <dcos/resources.hpp>
#include <dcos/v1/offer.pb.h>
#include <dcos/v1/task.pb.h>

#include "marathon.pb.h"

namespace dcos::marathon {

/// A task to launch and what Marathon keeps of it.
struct task_launch {
  v1::TaskInfo info;
  Task task;
  resources used; // allocated to the offer's role
};

/// What fitting an app into an offer gave: a launch, or why not.
struct fit_result {
  bool fits = false;
  task_launch launch;
  std::string reason; // when it does not fit: a sentence
  // ...and Marathon's name for it, as /v2/queue counts them:
  // UnfulfilledConstraint, InsufficientCpus, InsufficientMemory,
  // InsufficientDisk, InsufficientPorts or UnfulfilledRole.
  std::string reason_code;
};

/// Fits one task of `app` (REQUIRES: valid) into `available` (what is left
/// of `offer`), on the site of the offer, given the sites of the app's other
/// instances. `task_id` names the new task; `now` (ISO 8601) stamps it.
/// Host ports come from the offer's ports: the definition's own with
/// requirePorts, else the lowest free ones.
fit_result fit_task(const App& app,
                    const std::vector<placement_constraint>& constraints,
                    const v1::Offer& offer, const resources& available,
                    const std::vector<placement_site>& placed,
                    const std::string& task_id, const std::string& now);

/// The Mesos task name Marathon gives the tasks of an app: its path's parts
/// in reverse, joined by dots ("/shop/web" -> "web.shop"), as Mesos-DNS
/// names them.
std::string task_name(const std::string& app_id);

} // namespace dcos::marathon
