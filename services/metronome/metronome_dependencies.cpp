// Job dependencies, as Metronome has them: a job that names others in its
// `dependencies` (and has no schedule) runs when every one of them has
// succeeded since it last started.
//
// Nothing of this is stored on its own: a job's last start and its
// parents' last outcomes are in the runs and histories the store keeps, so
// a restarted Metronome decides as the one before it would have.
#include "metronome_state.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <dcos/error.hpp>

namespace dcos::metronome {

namespace {

const std::string& string_of(const google::protobuf::Value& v) {
  static const std::string none;
  return v.kind_case() == google::protobuf::Value::kStringValue
           ? v.string_value()
           : none;
}

// When `entry` last started a run ("" if never). Metronome's timestamps
// sort as strings.
std::string last_start(const job_entry& entry) {
  std::string last;
  for (const auto& [id, run] : entry.runs)
    last = std::max(last, run.record.run().created_at());
  const auto& h = entry.history;
  if (h.successful_finished_runs_size() > 0)
    last = std::max(last, h.successful_finished_runs(0).created_at());
  if (h.failed_finished_runs_size() > 0)
    last = std::max(last, h.failed_finished_runs(0).created_at());
  if (last.empty()) // no finished runs kept (--history_count=0)
    last = std::max(string_of(h.last_success_at()),
                    string_of(h.last_failure_at()));
  return last;
}

} // namespace

caf::error metronome_state::check_dependencies(const Job& job) const {
  if (job.dependencies_size() == 0)
    return {};
  if (job.schedules_size() > 0)
    return make_error(errc::invalid_argument,
                      "Jobs may not have both dependencies and schedules "
                      "specified");
  std::vector<std::string> unknown;
  for (const auto& d : job.dependencies())
    if (jobs.count(d.id()) == 0)
      unknown.push_back(d.id());
  if (!unknown.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("Dependencies contain unknown jobs. "
                                  "unknown=[{}]",
                                  fmt::join(unknown, ", ")));
  // The jobs as they are have no cycle; one through `job` would lead from
  // one of its parents back to it.
  std::vector<std::string> todo;
  std::set<std::string> seen;
  for (const auto& d : job.dependencies())
    todo.push_back(d.id());
  while (!todo.empty()) {
    auto id = std::move(todo.back());
    todo.pop_back();
    if (id == job.id())
      return make_error(errc::invalid_argument, "Dependencies have a cycle.");
    if (!seen.insert(id).second)
      continue;
    if (auto at = jobs.find(id); at != jobs.end())
      for (const auto& d : at->second.job.dependencies())
        todo.push_back(d.id());
  }
  return {};
}

caf::error metronome_state::check_no_dependents(const std::string& id) const {
  auto children = children_of.find(id);
  if (children == children_of.end() || children->second.empty())
    return {};
  return make_error(errc::conflict,
                    fmt::format("There are jobs with a dependency on {}. "
                                "children=[{}]",
                                id, fmt::join(children->second, ", ")));
}

void metronome_state::link_dependencies(const Job& job, bool add) {
  for (const auto& d : job.dependencies()) {
    auto& children = children_of[d.id()];
    if (add)
      children.insert(job.id());
    else
      children.erase(job.id());
    if (children.empty())
      children_of.erase(d.id());
  }
}

bool metronome_state::dependencies_met(const job_entry& child) const {
  if (child.job.dependencies_size() == 0 || !child.runs.empty()
      || child.dependency_run_starting)
    return false;
  auto since = last_start(child);
  for (const auto& d : child.job.dependencies()) {
    auto at = jobs.find(d.id());
    if (at == jobs.end())
      return false;
    const auto& h = at->second.history;
    const auto& success = string_of(h.last_success_at());
    // Its latest run succeeded, after the child last started.
    if (success.empty() || success < string_of(h.last_failure_at())
        || success <= since)
      return false;
  }
  return true;
}

void metronome_state::run_if_dependencies_met(job_entry& entry) {
  if (!dependencies_met(entry))
    return;
  log->info("job {}: every job it depends on succeeded since it last "
            "started; running it",
            entry.job.id());
  entry.dependency_run_starting = true;
  start_run(entry, 0,
            [this, id = entry.job.id()](const caf::expected<JobRun>&) {
              if (auto at = jobs.find(id); at != jobs.end())
                at->second.dependency_run_starting = false;
            });
}

void metronome_state::run_dependents(job_entry& finished) {
  // The job itself first: a parent may have succeeded while it ran.
  run_if_dependencies_met(finished);
  auto children = children_of.find(finished.job.id());
  if (children == children_of.end())
    return;
  for (const auto& id : std::set<std::string>{children->second})
    if (auto at = jobs.find(id); at != jobs.end())
      run_if_dependencies_met(at->second);
}

} // namespace dcos::metronome
