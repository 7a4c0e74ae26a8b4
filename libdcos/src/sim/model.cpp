// The invariants, checked as messages are sent and containers start:
//  - no agent's live containers use more than the agent has;
//  - no offer is outstanding twice, and the offers outstanding for an agent
//    plus what its containers use never add up to more than the agent has
//    (offers to two frameworks at once for the same resources, or offers of
//    what a live task holds);
//  - a task reaches at most one terminal state as its framework sees it
//    (TASK_UNKNOWN from reconciliation counts as one: the task is no more),
//    and its framework hears nothing but that state after it;
//  - no agent sends an update again after it processed its
//    acknowledgement, the latest or any older one (within one run of the
//    agent: a crash may lose the acknowledgement's checkpoint);
//  - an agent cut off long enough for the master to notice had every task
//    it ran reported unreachable or lost to its framework (checked when it
//    is back);
//  - reserved resources are offered only to their role or its sub-roles;
//  - a role's outstanding offers and running tasks stay within its quota
//    limits, kind by kind (tasks count on steady agents only: see
//    consumption());
// and at the end of the run: every launched task of a framework that
// expects its tasks to end reached a terminal state that the framework saw.
// (The master's view against the agents' truth: convergence.cpp.)
#include "world.hpp"

#include "dcos/task_state.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace dcos::sim::detail {

namespace {

constexpr double slack = 1e-6;

double scalar(const google::protobuf::RepeatedPtrField<v1::Resource>& rs,
              std::string_view name) {
  double sum = 0;
  for (const auto& r : rs)
    if (r.name() == name && r.has_scalar())
      sum += r.scalar().value();
  return sum;
}

} // namespace

// DCOS_SIM_WATCH=<task id> prints what the model sees of that task.
const std::string& watched() {
  static const std::string task = [] {
    const char* text = std::getenv("DCOS_SIM_WATCH");
    return std::string{text != nullptr ? text : ""};
  }();
  return task;
}

model::agent_rec& model::agent(int node) {
  return agents_[node];
}

void model::offers(int framework, const v1::scheduler::Event::Offers& ev) {
  for (const auto& offer : ev.offers()) {
    framework_node_[offer.framework_id().value()] = framework;
    int node = w_.node_of_host(offer.hostname());
    if (node < 0) {
      w_.fail(fmt::format("offer {} names an unknown agent host '{}'",
                          offer.id().value(), offer.hostname()));
      return;
    }
    auto [it, fresh] = offers_.emplace(
      offer.id().value(),
      offer_rec{framework, node, scalar(offer.resources(), "cpus"),
                scalar(offer.resources(), "mem"),
                offer.allocation_info().role()});
    if (!fresh) {
      w_.fail(fmt::format("offer {} was sent twice", offer.id().value()));
      return;
    }
    auto& a = agent(node);
    a.offered_cpus += it->second.cpus;
    a.offered_mem += it->second.mem;
    auto& by_role = offered_by_role_[it->second.role];
    by_role.cpus += it->second.cpus;
    by_role.mem += it->second.mem;
    check_reservations(framework, offer);
    if (!quota_.empty())
      check_quota(framework, offer);
    auto cpus = w_.agent_total(node, "cpus");
    auto mem = w_.agent_total(node, "mem");
    if (a.offered_cpus > cpus + slack || a.offered_mem > mem + slack) {
      w_.fail(fmt::format(
        "{} has offers outstanding for cpus:{} mem:{} but only cpus:{} "
        "mem:{} (the latest, {}, went to {})",
        w_.name(node), a.offered_cpus, a.offered_mem, cpus, mem,
        offer.id().value(), w_.name(framework)));
      return;
    }
    // What runs there is not free to offer, whatever the master believes.
    if (a.offered_cpus + a.used_cpus > cpus + slack
        || a.offered_mem + a.used_mem > mem + slack) {
      w_.fail(fmt::format(
        "{} has offers outstanding for cpus:{} mem:{} although its "
        "containers use cpus:{} mem:{} of its cpus:{} mem:{} (the latest "
        "offer, {}, went to {})",
        w_.name(node), a.offered_cpus, a.offered_mem, a.used_cpus,
        a.used_mem, cpus, mem, offer.id().value(), w_.name(framework)));
      return;
    }
  }
}

void model::drop_offer(const std::string& id) {
  auto i = offers_.find(id);
  if (i == offers_.end())
    return;
  auto& a = agent(i->second.agent);
  a.offered_cpus -= i->second.cpus;
  a.offered_mem -= i->second.mem;
  auto& by_role = offered_by_role_[i->second.role];
  by_role.cpus -= i->second.cpus;
  by_role.mem -= i->second.mem;
  offers_.erase(i);
}

void model::rescind(const v1::OfferID& id) {
  drop_offer(id.value());
}

void model::accept_sent(const v1::scheduler::Call::Accept& call) {
  for (const auto& id : call.offer_ids())
    drop_offer(id.value());
}

void model::accept_delivered(int framework,
                             const v1::scheduler::Call::Accept& call) {
  auto launched = [&](const v1::TaskInfo& t) {
    auto [it, fresh] = tasks_.try_emplace(
      fmt::format("{}/{}", framework, t.task_id().value()));
    if (fresh) {
      ++launched_;
      it->second.framework = framework;
    }
    for (const auto& r : t.resources())
      if (!r.allocation_info().role().empty()) {
        it->second.role = r.allocation_info().role();
        break;
      }
    if (first_accept.count() < 0) {
      first_accept = w_.elapsed();
      first_accept_wall = std::chrono::steady_clock::now();
    }
  };
  for (const auto& op : call.operations()) {
    for (const auto& t : op.launch().task_infos())
      launched(t);
    for (const auto& t : op.launch_group().task_group().tasks())
      launched(t);
  }
}

void model::expect_tasks(size_t tasks) {
  tasks_.reserve(tasks);
}

void model::placed(int tasks) {
  tasks_placed += static_cast<uint64_t>(tasks);
  last_placed_wall = std::chrono::steady_clock::now();
}

void model::decline(const v1::scheduler::Call::Decline& call) {
  for (const auto& id : call.offer_ids())
    drop_offer(id.value());
}

void model::watch(int node, const char* what, const std::string& task) {
  if (task == watched())
    fmt::print(stderr, "{:.6f}s {}: {}\n",
               std::chrono::duration<double>(w_.elapsed()).count(),
               w_.name(node), what);
}

void model::framework_seen(int framework, const v1::TaskStatus& status) {
  if (!status.uuid().empty()) {
    seen_uuids_.insert(status.uuid());
    handed_over_.erase(status.uuid()); // its framework has seen it
  }
  if (status.task_id().value() == watched())
    fmt::print(stderr, "{:.6f}s {} sees {} ({})\n",
               std::chrono::duration<double>(w_.elapsed()).count(),
               w_.name(framework), v1::TaskState_Name(status.state()),
               status.message());
  auto key = fmt::format("{}/{}", framework, status.task_id().value());
  auto i = tasks_.find(key);
  if (i == tasks_.end())
    return; // reconciliation of a task this run never launched
  auto& t = i->second;
  t.last_seen = status.state();
  // TASK_UNKNOWN, the answer to reconciliation about a task the master has
  // no record of, ends a task as surely as a terminal state.
  bool ends = is_terminal(status.state())
              || status.state() == v1::TASK_UNKNOWN;
  if (!ends) {
    // A framework told that its task ended acts on it (relaunches it, frees
    // what it held): the task must not come back to life.
    if (t.terminal >= 0)
      w_.fail(fmt::format(
        "task {} of {} was reported {} after it ended {} (agent {})",
        status.task_id().value(), w_.name(framework),
        v1::TaskState_Name(status.state()),
        v1::TaskState_Name(static_cast<v1::TaskState>(t.terminal)),
        status.agent_id().value()));
    return;
  }
  if (t.terminal < 0) {
    t.terminal = status.state();
    ++terminal_;
    return;
  }
  if (t.terminal != status.state())
    w_.fail(fmt::format("task {} of {} reached two terminal states: {} and "
                        "then {}",
                        status.task_id().value(), w_.name(framework),
                        v1::TaskState_Name(
                          static_cast<v1::TaskState>(t.terminal)),
                        v1::TaskState_Name(status.state())));
}

void model::agent_sent(int node, const v1::internal::StatusUpdate& update) {
  auto& a = agent(node);
  const auto& task = update.status().task_id().value();
  if (task == watched())
    fmt::print(stderr, "{:.6f}s {} sends {}\n",
               std::chrono::duration<double>(w_.elapsed()).count(),
               w_.name(node), v1::TaskState_Name(update.status().state()) + " agent_id=" + update.status().agent_id().value());
  // Once the agent ended a task itself (its executor gone), the executor's
  // word on it is stale: passed on, it would give the framework a second
  // end (the master drops such an end too, which would hide the agent's
  // mistake from the framework's view).
  if (update.status().source() == v1::TaskStatus::SOURCE_EXECUTOR
      && a.ended_by_agent.count(task) > 0) {
    w_.fail(fmt::format("{} passed on the executor's {} of task {} after it "
                        "had ended the task itself",
                        w_.name(node),
                        v1::TaskState_Name(update.status().state()), task));
    return;
  }
  if (is_terminal(update.status().state())
      && update.status().source() == v1::TaskStatus::SOURCE_AGENT)
    a.ended_by_agent.insert(task);
  auto i = a.acked.find(task);
  if (i != a.acked.end() && i->second.count(update.status().uuid()) > 0)
    w_.fail(fmt::format("{} sent the update {} of task {} again after it "
                        "processed its acknowledgement",
                        w_.name(node),
                        v1::TaskState_Name(update.status().state()), task));
}

void model::agent_processed(
  int node, const v1::internal::StatusUpdateAcknowledgement& ack) {
  if (ack.task_id().value() == watched())
    fmt::print(stderr, "{:.6f}s {} processes an acknowledgement\n",
               std::chrono::duration<double>(w_.elapsed()).count(),
               w_.name(node));
  // Every one, not just the latest: an older update sent again is as wrong.
  agent(node).acked[ack.task_id().value()].insert(ack.uuid());
}

void model::executor_sent(int node,
                          const v1::internal::StatusUpdate& update) {
  const auto& status = update.status();
  if (status.task_id().value() == watched())
    watch(node,
          fmt::format("gets {} from the executor",
                      v1::TaskState_Name(status.state()))
            .c_str(),
          status.task_id().value());
  sent_by_executors_.try_emplace(
    status.uuid(),
    executor_update{node, status.task_id().value(), status.state()});
}

void model::executor_acked(
  int, const v1::internal::StatusUpdateAcknowledgement& ack) {
  // The update names its agent already (executor_sent).
  auto i = sent_by_executors_.find(ack.uuid());
  if (ack.task_id().value() == watched() && i != sent_by_executors_.end())
    watch(i->second.agent,
          fmt::format("acknowledges {} to the executor",
                      v1::TaskState_Name(
                        static_cast<v1::TaskState>(i->second.state)))
            .c_str(),
          ack.task_id().value());
  // An update that comes after the agent has sent the task's end of its
  // own is dropped, not taken over (the agent acknowledges it all the same,
  // so that the executor stops sending it).
  // Kept only until its framework sees it (the final check asks no more):
  // a long run would otherwise hold every update ever handed over.
  if (i != sent_by_executors_.end()
      && agent(i->second.agent).ended_by_agent.count(i->second.task) == 0
      && seen_uuids_.count(ack.uuid()) == 0)
    handed_over_.emplace(ack.uuid(), i->second);
}

void model::agent_removed(int node) {
  removed_agents_.insert(node);
}

void model::container_started(int node, const std::string& container,
                              const std::string& framework_id,
                              const std::string& task,
                              const resources& limits) {
  auto& a = agent(node);
  if (!task.empty()) {
    auto& c = a.task_containers[container];
    c.task = task;
    if (auto f = framework_node_.find(framework_id);
        f != framework_node_.end()) {
      c.framework = f->second;
      if (auto t = tasks_.find(fmt::format("{}/{}", f->second, task));
          t != tasks_.end())
        c.role = t->second.role;
    }
    c.used = {limits.scalar("cpus").value_or(0),
              limits.scalar("mem").value_or(0)};
  }
  a.used_cpus += limits.scalar("cpus").value_or(0);
  a.used_mem += limits.scalar("mem").value_or(0);
  auto cpus = w_.agent_total(node, "cpus");
  auto mem = w_.agent_total(node, "mem");
  if (a.used_cpus > cpus + slack || a.used_mem > mem + slack)
    w_.fail(fmt::format("{} is over-committed: its containers use cpus:{} "
                        "mem:{} of cpus:{} mem:{}",
                        w_.name(node), a.used_cpus, a.used_mem, cpus, mem));
}

void model::container_ended(int node, const std::string& container,
                            const resources& limits) {
  auto& a = agent(node);
  a.task_containers.erase(container);
  a.used_cpus -= limits.scalar("cpus").value_or(0);
  a.used_mem -= limits.scalar("mem").value_or(0);
}

std::set<std::string> model::tasks_running(int node) const {
  std::set<std::string> out;
  if (auto i = agents_.find(node); i != agents_.end())
    for (const auto& [container, c] : i->second.task_containers)
      out.insert(c.task);
  return out;
}

void model::partitioned(const std::vector<int>& nodes) {
  for (int node : nodes) {
    auto& c = cuts_[node];
    c.since = w_.elapsed();
    c.joined = agent(node).joined;
    c.tasks.clear();
    for (const auto& [id, t] : agent(node).task_containers)
      if (t.framework >= 0)
        c.tasks.emplace_back(t.framework, t.task);
  }
}

void model::healed(const std::vector<int>& nodes) {
  const auto& sc = w_.sc();
  // The master notices after this many missed pings; a little slack for
  // the last ping's timeout and the update's way to the framework.
  auto noticed = sc.agent_ping_timeout * (sc.max_agent_ping_timeouts + 1)
                 + std::chrono::seconds(5);
  for (int node : nodes) {
    auto c = cuts_.find(node);
    if (c == cuts_.end())
      continue;
    auto since = c->second.since;
    auto joined = c->second.joined;
    auto tasks = std::move(c->second.tasks);
    cuts_.erase(c);
    // An agent not yet back with a new master is not pinged: the master
    // marks it unreachable only when its re-registration time runs out.
    if (w_.elapsed() - since < noticed || master_lost_at_ >= since || !joined)
      continue;
    for (const auto& [framework, task] : tasks) {
      auto lost = framework_lost_at_.find(framework);
      if (lost != framework_lost_at_.end() && lost->second >= since)
        continue; // an update sent while it was away is not resent
      auto t = tasks_.find(fmt::format("{}/{}", framework, task));
      if (t == tasks_.end() || t->second.terminal >= 0
          || t->second.last_seen == v1::TASK_UNREACHABLE
          || t->second.last_seen == v1::TASK_LOST)
        continue;
      w_.fail(fmt::format(
        "{} was cut off from the master for {:.1f}s (it should notice within "
        "{:.0f}s), but {} was never told that its task {} there was "
        "unreachable or lost (it last saw {})",
        w_.name(node),
        std::chrono::duration<double>(w_.elapsed() - since).count(),
        std::chrono::duration<double>(noticed).count(), w_.name(framework),
        task,
        t->second.last_seen >= 0
          ? v1::TaskState_Name(static_cast<v1::TaskState>(t->second.last_seen))
          : std::string{"nothing"}));
      return;
    }
  }
}

void model::framework_lost(int framework) {
  framework_lost_at_[framework] = w_.elapsed();
  std::vector<std::string> ids;
  for (const auto& [id, offer] : offers_)
    if (offer.framework == framework)
      ids.push_back(id);
  for (const auto& id : ids)
    drop_offer(id);
}

void model::master_lost() {
  master_lost_at_ = w_.elapsed();
  for (auto& [node, a] : agents_) {
    a.steady = false;
    a.joined = false;
  }
  std::vector<std::string> ids;
  for (const auto& [id, offer] : offers_)
    ids.push_back(id);
  for (const auto& id : ids)
    drop_offer(id);
}

void model::agent_crashed(int node) {
  agent(node).acked.clear();
  agent_disturbed(node);
}

void model::agent_joined(int node) {
  auto& a = agent(node);
  a.steady = true;
  a.joined = true;
}

void model::agent_disturbed(int node) {
  agent(node).steady = false;
}

void model::quota_set(const std::string& role, const resources& limits) {
  quota_[role] = limits;
}

// -- roles: reservations and quota ----------------------------------------------------

namespace {

// `role` is `ancestor` or one of its sub-roles ("a/b" within "a").
bool within(const std::string& role, const std::string& ancestor) {
  return role == ancestor
         || (role.size() > ancestor.size()
             && role.compare(0, ancestor.size(), ancestor) == 0
             && role[ancestor.size()] == '/');
}

} // namespace

void model::check_reservations(int framework, const v1::Offer& offer) {
  for (const auto& r : offer.resources()) {
    if (r.reservations_size() == 0)
      continue;
    const auto& reserved = r.reservations(r.reservations_size() - 1).role();
    const auto& to = r.allocation_info().role();
    if (!within(to, reserved)) {
      w_.fail(fmt::format("offer {} gives {} reserved for role '{}' to role "
                          "'{}' ({})",
                          offer.id().value(), r.name(), reserved, to,
                          w_.name(framework)));
      return;
    }
  }
}

model::amounts model::consumption(const std::string& role,
                                  bool running) const {
  amounts sum;
  for (const auto& [r, offered] : offered_by_role_)
    if (within(r, role)) {
      sum.cpus += offered.cpus;
      sum.mem += offered.mem;
    }
  for (const auto& [node, a] : agents_) {
    if (!running || !a.steady)
      continue;
    for (const auto& [id, c] : a.task_containers)
      if (within(c.role, role)) {
        sum.cpus += c.used.cpus;
        sum.mem += c.used.mem;
      }
  }
  return sum;
}

std::pair<double, double> model::held(const std::string& role) const {
  auto sum = consumption(role);
  return {sum.cpus, sum.mem};
}

std::pair<double, double> model::running(const std::string& role) const {
  std::pair<double, double> sum{0, 0};
  for (const auto& [node, a] : agents_)
    for (const auto& [id, c] : a.task_containers)
      if (c.role == role) {
        sum.first += c.used.cpus;
        sum.second += c.used.mem;
      }
  return sum;
}

void model::check_quota(int framework, const v1::Offer& offer) {
  const auto& role = offer.allocation_info().role();
  for (const auto& [limited, limits] : quota_) {
    if (!within(role, limited))
      continue;
    auto held = consumption(limited);
    auto cpus = limits.scalar("cpus");
    auto mem = limits.scalar("mem");
    // Per kind, as the allocator caps offers: a role can be over a limit
    // without any offer at fault (tasks re-registering after a master
    // failover count again), but then it must be offered none of that kind.
    bool over_cpus = cpus && held.cpus > *cpus + slack
                     && scalar(offer.resources(), "cpus") > 0;
    bool over_mem = mem && held.mem > *mem + slack
                    && scalar(offer.resources(), "mem") > 0;
    if (over_cpus || over_mem) {
      auto offered = consumption(limited, /*running=*/false);
      w_.fail(fmt::format("role '{}' holds cpus:{} mem:{} (offered: cpus:{} "
                          "mem:{}; the rest in running tasks), over its quota "
                          "limit {} (the latest offer, {}, went to {})",
                          limited, held.cpus, held.mem, offered.cpus,
                          offered.mem, limits.to_string(), offer.id().value(),
                          w_.name(framework)));
      return;
    }
  }
}

void model::final_checks() {
  // No update lost: what an agent took over from an executor reached the
  // framework, or at least did not change what the framework learned: a
  // framework that saw the task end (by reconciliation, say) may finish and
  // leave before a retried update arrives, but it must have seen the end the
  // executor reported. An agent removed from the cluster is exempt: its
  // tasks end as the master says; so does a framework that is not
  // partition-aware once it was told TASK_LOST (final for it, as in
  // Mesos: the master forwards nothing more of the task).
  std::unordered_map<std::string, const task_rec*> task_of; // task id
  for (const auto& [key, t] : tasks_)
    task_of[key.substr(key.find('/') + 1)] = &t;
  for (const auto& [uuid, u] : handed_over_) {
    auto t = task_of.find(u.task);
    if (seen_uuids_.count(uuid) > 0 || removed_agents_.count(u.agent) > 0
        || t == task_of.end()
        || !w_.framework_expects_end(t->second->framework))
      continue;
    auto state = static_cast<v1::TaskState>(u.state);
    bool superseded = !is_terminal(state) && t->second->terminal >= 0;
    bool lost_for_good = t->second->terminal == v1::TASK_LOST
                         && w_.framework_takes_lost_as_final(
                           t->second->framework);
    if (superseded || lost_for_good || t->second->terminal == u.state)
      continue;
    w_.fail(fmt::format("{} took over the {} update of task {} from its "
                        "executor, but its framework saw {}",
                        w_.name(u.agent), v1::TaskState_Name(state), u.task,
                        t->second->terminal >= 0
                          ? v1::TaskState_Name(static_cast<v1::TaskState>(
                              t->second->terminal))
                          : std::string{"nothing of it"}));
    return;
  }
  if (auto missing = tasks_without_end(); !missing.empty())
    w_.fail(std::move(missing));
}

std::string model::tasks_without_end() const {
  std::vector<std::string> missing;
  for (const auto& [key, t] : tasks_)
    if (t.terminal < 0 && w_.framework_expects_end(t.framework))
      missing.push_back(key);
  if (missing.empty())
    return {};
  std::sort(missing.begin(), missing.end());
  auto shown = std::min<size_t>(missing.size(), 5);
  std::string list;
  for (size_t i = 0; i < shown; ++i)
    list += (i > 0 ? ", " : "") + missing[i];
  return fmt::format("{} launched task(s) never reached a terminal state "
                     "that their framework saw: {}{}",
                     missing.size(), list,
                     missing.size() > shown ? ", ..." : "");
}

} // namespace dcos::sim::detail
