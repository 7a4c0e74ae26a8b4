// The convergence check: once the frameworks are done and faults are over,
// the master's view must come to match the agents' truth. The truth is the
// nodes' process tables (which containers run where), not what the agents
// believe; the master's view is its answer to GET_STATE, the same call an
// operator makes.
//
// The master is audited every few seconds of virtual time while the cluster
// keeps running (pings, retried updates, reconciliation), until the two
// match or `scenario::converge_within` has passed. That happens twice:
//  - once faults are over, while the frameworks still run: every agent is
//    registered and active, and every task whose container runs is live in
//    the master's view (a task the master counts but whose container has
//    already ended may be an update in flight, so that waits for the end);
//  - at the end, when the frameworks are done: the same, and the tasks the
//    master counts as live are exactly the tasks that run.
// After each, the services' state checks (simulation::add_state_check) are
// made against the master's state, more often (a service follows the
// master within an event or so), until they agree.
#include "world.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dcos/task_state.hpp"

namespace dcos::sim::detail {

namespace {

constexpr auto audit_period = std::chrono::seconds(5);
constexpr auto service_check_period = std::chrono::milliseconds(100);

// Up to three items of a list, for a report.
template <class Range>
std::string some(const Range& items) {
  std::string out;
  size_t n = 0;
  for (const auto& x : items) {
    if (n++ == 3) {
      out += ", ...";
      break;
    }
    out += (n > 1 ? ", " : "") + x;
  }
  return out;
}

} // namespace

std::optional<v1::master::Response>
world::master_answer(v1::master::Call::Type type, caf::timespan deadline) {
  if (leader_ < 0)
    return std::nullopt;
  // Shared with the auditor, which may outlive this call if the master
  // never answers.
  auto answer = std::make_shared<std::optional<v1::master::Response>>();
  track(sys_->spawn([m = leader_actor(), answer,
                     type](caf::event_based_actor* self) {
    v1::master::Call call;
    call.set_type(type);
    self->request(m, caf::infinite, std::move(call))
      .then([answer](v1::master::Response& r) { *answer = std::move(r); },
            [](caf::error&) {});
  }));
  while (!answer->has_value() && !failed() && elapsed() < deadline && step()) {
  }
  return *answer;
}

std::string
world::divergence(const v1::master::Response::GetState& st,
                  bool settled) const {
  // The master's view: agents by hostname, live tasks by hostname.
  std::map<std::string, std::string> host_of; // agent id -> hostname
  std::map<std::string, int> listed;          // hostname -> times listed
  std::vector<std::string> problems;
  // Machines gone for good (lose_node) are the master's to keep as
  // unreachable, with their tasks.
  std::set<std::string> lost, lost_ids;
  for (const auto& a : agents_)
    if (a.lost)
      lost.insert(a.cfg.hostname);
  for (const auto& a : st.get_agents().agents()) {
    const auto& host = a.agent_info().hostname();
    if (lost.count(host) > 0) {
      lost_ids.insert(a.agent_info().id().value());
      continue;
    }
    host_of[a.agent_info().id().value()] = host;
    if (++listed[host] == 2)
      problems.push_back(fmt::format("the master lists {} twice", host));
    // An agent the operator deactivated (or drained) is inactive on
    // purpose.
    if (!a.active() && !a.deactivated())
      problems.push_back(fmt::format("the master lists {} as inactive",
                                     host));
  }
  std::map<std::string, std::multiset<std::string>> counted; // by host
  auto count = [&](const v1::Task& t) {
    if (is_terminal(t.state()) || lost_ids.count(t.agent_id().value()) > 0)
      return;
    auto h = host_of.find(t.agent_id().value());
    auto host = h != host_of.end() ? h->second
                                   : "unknown agent " + t.agent_id().value();
    counted[host].insert(t.task_id().value());
  };
  for (const auto& t : st.get_tasks().pending_tasks())
    count(t);
  for (const auto& t : st.get_tasks().tasks())
    count(t);
  for (const auto& t : st.get_tasks().unreachable_tasks()) {
    auto h = host_of.find(t.agent_id().value());
    if (h != host_of.end())
      problems.push_back(fmt::format("the master counts task {} on {} as "
                                     "unreachable, but {} is registered",
                                     t.task_id().value(), h->second,
                                     h->second));
  }
  // The truth, agent by agent.
  for (size_t i = 0; i < agents_.size(); ++i) {
    auto host = agents_[i].cfg.hostname;
    if (agents_[i].lost)
      continue;
    if (!agents_[i].up) {
      problems.push_back(host + " is down");
      continue;
    }
    if (listed.count(host) == 0)
      problems.push_back(fmt::format("{} is up, but the master does not list "
                                     "it",
                                     host));
    auto running = model_.tasks_running(agent_node(i));
    std::multiset<std::string> truth{running.begin(), running.end()};
    auto& view = counted[host];
    std::vector<std::string> unknown, phantom;
    std::set_difference(truth.begin(), truth.end(), view.begin(), view.end(),
                        std::back_inserter(unknown));
    std::set_difference(view.begin(), view.end(), truth.begin(), truth.end(),
                        std::back_inserter(phantom));
    if (!unknown.empty())
      problems.push_back(fmt::format("{} runs {} task(s) the master does not "
                                     "count as live: {}",
                                     host, unknown.size(), some(unknown)));
    if (settled && !phantom.empty())
      problems.push_back(fmt::format("the master counts {} task(s) as live "
                                     "on {} that run nowhere there: {}",
                                     phantom.size(), host, some(phantom)));
    counted.erase(host);
  }
  for (const auto& [host, tasks] : counted)
    if (settled && !tasks.empty())
      problems.push_back(fmt::format("the master counts {} task(s) as live "
                                     "on {}, which is not one of the agents: "
                                     "{}",
                                     tasks.size(), host, some(tasks)));
  std::string out;
  for (size_t i = 0; i < problems.size() && i < 5; ++i)
    out += (i > 0 ? "; " : "") + problems[i];
  if (problems.size() > 5)
    out += fmt::format("; and {} more", problems.size() - 5);
  return out;
}

void world::converge(bool settled) {
  auto deadline = elapsed() + sc_.converge_within;
  std::string last = "the master never answered GET_STATE";
  for (;;) {
    if (auto r = master_answer(v1::master::Call::GET_STATE, deadline)) {
      last = divergence(r->get_state(), settled);
      if (last.empty())
        return;
    }
    if (failed())
      return;
    if (elapsed() >= deadline)
      break;
    run_until(std::min(deadline, elapsed() + audit_period));
  }
  fail(fmt::format("the master's view did not converge to the agents' "
                   "truth within {}s after {}: {}",
                   std::chrono::duration_cast<std::chrono::seconds>(
                     sc_.converge_within)
                     .count(),
                   settled ? "the frameworks were done"
                           : "faults were over",
                   last));
}

void world::check_services() {
  if (state_checks_.empty())
    return;
  auto start = elapsed();
  auto deadline = start + sc_.converge_within;
  std::string last = "the master never answered GET_STATE and GET_MASTER";
  for (;;) {
    auto state = master_answer(v1::master::Call::GET_STATE, deadline);
    auto master = master_answer(v1::master::Call::GET_MASTER, deadline);
    if (state && master) {
      last.clear();
      for (const auto& check : state_checks_) {
        last = check(state->get_state(),
                     master->get_master().master_info());
        if (!last.empty())
          break;
      }
      if (last.empty()) {
        stats_.services_agreed =
          std::max(stats_.services_agreed, elapsed() - start);
        return;
      }
    }
    if (failed())
      return;
    if (elapsed() >= deadline)
      break;
    run_until(std::min(deadline, elapsed() + service_check_period));
  }
  fail(fmt::format("a service's view of the cluster did not agree with the "
                   "master's within {}s after the master's converged: {}",
                   std::chrono::duration_cast<std::chrono::seconds>(
                     sc_.converge_within)
                     .count(),
                   last));
}

} // namespace dcos::sim::detail
