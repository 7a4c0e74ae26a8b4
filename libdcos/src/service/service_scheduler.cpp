// The service scheduler actor (see dcos/service_scheduler_actor.hpp): its
// state, loading and storing it, and how offers and status updates move
// the plans on.
#include "dcos/service_scheduler_actor.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dcos/ask.hpp"
#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "dcos/plan.hpp"
#include "dcos/pod_launch.hpp"
#include "dcos/service_spec.hpp"
#include "dcos/service_update.hpp"
#include "dcos/task_state.hpp"

namespace dcos {

namespace {

using Status = v1::PlanState::Status;

// Whether a task is over for the scheduler: terminal, or unknown to the
// master (a launch that never arrived, asked about by reconciliation).
bool ended(v1::TaskState state) {
  return is_terminal(state) || state == v1::TASK_UNKNOWN;
}

// Whether a task is not doing its work, for the replacement policy: ended,
// or on an agent the master cannot reach.
bool down(v1::TaskState state) {
  return ended(state) || state == v1::TASK_UNREACHABLE;
}

// Whether a step in status `s` holds its pod instance: launched, or
// waiting out a backoff to launch again.
bool holds_instance(v1::PlanState::Status s) {
  return s == v1::PlanState::PREPARED || s == v1::PlanState::STARTING
         || s == v1::PlanState::STARTED || s == v1::PlanState::DELAYED;
}

// Whether the task's agent is gone for good, with its reservations and
// volumes.
bool agent_gone(v1::TaskState state) {
  return state == v1::TASK_GONE || state == v1::TASK_GONE_BY_OPERATOR;
}

// Where a task belongs.
struct task_owner {
  std::string instance; // "<pod>-<index>"
  std::string task;     // the spec's task name
};

struct service_state {
  service_scheduler_actor::pointer self = nullptr;
  service_config cfg;
  std::shared_ptr<spdlog::logger> log;
  scheduler_driver_actor driver;
  std::mt19937_64 rng;
  bool loaded = false;
  bool subscribed = false;
  std::string framework_id;

  std::vector<v1::PlanState> plans;                // deploy first
  std::map<std::string, v1::PodInstance> pods;     // by instance name
  std::map<std::string, v1::TaskState> task_state; // by task id
  std::map<std::string, v1::TaskStatus> last_status; // by task id
  // Task ids whose readiness check passed (exit 0) since their launch:
  // a RUNNING task with a check reaches its goal only then.
  std::set<std::string> ready;
  std::map<std::string, task_owner> owner_of;      // by task id
  uint64_t incarnation = 0;
  // Counters for /metrics, since this scheduler started.
  struct counters {
    uint64_t offers_received = 0;
    uint64_t offers_declined = 0;
    std::map<std::string, uint64_t> operations; // by type, lower case
    uint64_t task_statuses = 0;
    uint64_t revives = 0;
    uint64_t recoveries = 0;   // instances relaunched in place
    uint64_t replacements = 0; // instances given up and launched afresh
  } counted;
  // Failures in a row, for the backoff: by "<plan>/<step id>" or instance.
  std::map<std::string, int> failures;
  // Instances whose RUNNING tasks wait to be launched again (recovery),
  // with the tasks; `delayed` while their backoff runs.
  std::map<std::string, std::set<std::string>> recovering;
  std::set<std::string> delayed;
  // Task ids an operator's restart killed: their end is no failure.
  std::set<std::string> restarting;
  // Instances with a RUNNING task down, under the replacement policy: the
  // number of the timer that replaces them.
  std::map<std::string, uint64_t> down_watch;
  uint64_t watches = 0;
  std::optional<caf::actor_clock::time_point> last_replacement;

  // -- store ------------------------------------------------------------------------

  static std::string plan_key(const std::string& plan) {
    return "plans/" + plan;
  }

  static std::string pod_key(const std::string& instance) {
    return "pods/" + instance;
  }

  // Writes all `writes`, then calls `done` with the first error, if any.
  void put_all(std::vector<std::pair<std::string, std::string>> writes,
               std::function<void(const caf::error&)> done) {
    if (writes.empty()) {
      done(caf::error{});
      return;
    }
    struct pending {
      size_t left;
      caf::error first;
      std::function<void(const caf::error&)> done;
    };
    auto p = std::make_shared<pending>(pending{writes.size(), {}, done});
    auto one = [p](caf::error err) {
      if (err && !p->first)
        p->first = std::move(err);
      if (--p->left == 0)
        p->done(p->first);
    };
    for (auto& [key, value] : writes)
      self->request(cfg.store, caf::infinite, put_atom::value, key, value)
        .then([one](ok_atom) { one(caf::error{}); },
              [one](caf::error& err) { one(std::move(err)); });
  }

  std::pair<std::string, std::string> plan_write(const v1::PlanState& plan) {
    return {plan_key(plan.name()), plan.SerializeAsString()};
  }

  std::pair<std::string, std::string> pod_write(const std::string& name) {
    return {pod_key(name), pods.at(name).SerializeAsString()};
  }

  void store_or_log(std::vector<std::pair<std::string, std::string>> w) {
    put_all(std::move(w), [this](const caf::error& err) {
      if (err)
        log->error("cannot store the service's progress: {}",
                   describe(err));
    });
  }

  // -- loading ----------------------------------------------------------------------

  void fail_to_load(const std::string& what, const caf::error& err) {
    log->critical("cannot load {} from the store: {}", what, describe(err));
    self->quit(err);
  }

  // Loads `keys` (missing ones as empty), then calls `done` with them.
  void load_keys(std::vector<std::string> keys,
                 std::function<void(std::map<std::string, std::string>)>
                   done) {
    auto got = std::make_shared<std::map<std::string, std::string>>();
    auto left = std::make_shared<size_t>(keys.size());
    if (keys.empty()) {
      done({});
      return;
    }
    for (const auto& key : keys)
      load_or_empty(
        self, cfg.store, key,
        [got, left, key, done](const std::string& bytes) {
          (*got)[key] = bytes;
          if (--*left == 0)
            done(std::move(*got));
        },
        [this, key](const caf::error& err) { fail_to_load(key, err); });
  }

  // First the spec the service ran, then the state of the spec it runs
  // now (see dcos/service_update.hpp).
  void load() {
    load_keys({"incarnation", "framework_id", "spec",
               plan_key("decommission")},
              [this](auto got) {
      incarnation
        = std::strtoull(got["incarnation"].c_str(), nullptr, 10) + 1;
      rng.seed(cfg.seed ^ (incarnation * 0x9e3779b97f4a7c15ull));
      framework_id = got["framework_id"];
      std::vector<std::pair<std::string, std::string>> writes{
        {"incarnation", std::to_string(incarnation)}};
      v1::ServiceSpec ran;
      bool changed = false;
      std::vector<std::string> errors;
      if (got["spec"].empty() || !ran.ParseFromString(got["spec"])) {
        writes.emplace_back("spec", cfg.spec.SerializeAsString());
      } else if (ran.SerializeAsString() != cfg.spec.SerializeAsString()) {
        errors = config_update_errors(ran, cfg.spec);
        if (errors.empty()) {
          log->info("the service's spec changed: plan {} rolls it out",
                    update_plan_name(cfg.spec));
          changed = true;
        } else {
          log->error("the service's spec changed in ways it cannot take; "
                     "it goes on with the one it ran: {}",
                     fmt::join(errors, "; "));
          cfg.spec = std::move(ran);
        }
      }
      // The instances to decommission: those a stored decommission plan
      // names, and those the new spec has no more.
      std::set<std::pair<std::string, uint32_t>> leaving;
      v1::PlanState stored;
      bool has_stored
        = stored.ParseFromString(got[plan_key("decommission")])
          && stored.phases_size() > 0;
      if (has_stored)
        for (const auto& phase : stored.phases())
          for (const auto& step : phase.steps())
            leaving.emplace(step.pod(), step.index());
      if (changed)
        for (auto& l : leaving_instances(ran, cfg.spec))
          leaving.insert(std::move(l));
      // (An instance the spec has again is its own.)
      std::erase_if(leaving, [this](const auto& l) {
        return !is_leaving(cfg.spec, l.first, l.second);
      });
      std::optional<v1::PlanState> decommission;
      if (!leaving.empty()) {
        decommission = decommission_plan({leaving.begin(), leaving.end()});
        if (has_stored)
          decommission = resume_plan(std::move(*decommission), stored);
        if (changed)
          writes.push_back(plan_write(*decommission));
      }
      load_state(std::move(writes), changed, std::move(errors),
                 std::move(decommission));
    });
  }

  void load_state(std::vector<std::pair<std::string, std::string>> writes,
                  bool changed, std::vector<std::string> errors,
                  std::optional<v1::PlanState> decommission) {
    std::vector<std::string> keys;
    auto fresh = plans_of(cfg.spec);
    for (const auto& plan : fresh)
      keys.push_back(plan_key(plan.name()));
    // Every instance of the spec, and those leaving it.
    std::vector<std::pair<std::string, uint32_t>> instances;
    for (const auto& pod : cfg.spec.pods())
      for (uint32_t i = 0; i < pod.count(); ++i)
        instances.emplace_back(pod.name(), i);
    if (decommission)
      for (const auto& phase : decommission->phases())
        for (const auto& step : phase.steps())
          instances.emplace_back(step.pod(), step.index());
    for (const auto& [pod, i] : instances)
      keys.push_back(pod_key(pod_instance_name(pod, i)));
    load_keys(keys, [this, fresh = std::move(fresh), writes, changed, errors,
                     instances, decommission](auto got) mutable {
      for (const auto& [pod_name, i] : instances) {
        auto name = pod_instance_name(pod_name, i);
        v1::PodInstance inst;
        const auto& bytes = got[pod_key(name)];
        if (bytes.empty() || !inst.ParseFromString(bytes))
          continue;
        for (const auto& [task, id] : inst.task_ids())
          owner_of[id] = {name, task};
        pods[name] = std::move(inst);
      }
      auto rollout = update_plan_name(cfg.spec);
      for (auto& plan : fresh) {
        if (changed && plan.name() == rollout) {
          // Stored before the spec: a scheduler that stops in between
          // builds it again, from the same instances.
          plan = update_plan(cfg.spec, [this](const std::string& name) {
            auto at = pods.find(name);
            return at == pods.end() ? std::string{}
                                    : at->second.config_id();
          });
          writes.push_back(plan_write(plan));
        } else {
          const auto& bytes = got[plan_key(plan.name())];
          v1::PlanState saved;
          if (!bytes.empty() && saved.ParseFromString(bytes))
            plan = resume_plan(std::move(plan), saved);
          else if (plan.name() == "update")
            // Nothing to roll out until the spec changes: deploy runs it.
            for (auto& phase : *plan.mutable_phases())
              for (auto& step : *phase.mutable_steps())
                step.set_status(v1::PlanState::COMPLETE);
        }
        if (plan.name() == "deploy")
          for (const auto& e : errors)
            plan.add_errors(e);
        plans.push_back(std::move(plan));
      }
      if (decommission)
        plans.push_back(std::move(*decommission));
      if (changed)
        writes.emplace_back("spec", cfg.spec.SerializeAsString());
      put_all(std::move(writes), [this](const caf::error& err) {
        if (err)
          return fail_to_load("the service's state", err);
        start();
      });
    });
  }

  void start() {
    loaded = true;
    v1::FrameworkInfo info;
    info.set_name(cfg.spec.name());
    info.set_user(cfg.spec.scheduler().user());
    info.set_principal(cfg.spec.scheduler().principal());
    info.add_roles(cfg.spec.scheduler().role());
    info.set_failover_timeout(cfg.failover_timeout_s);
    info.set_checkpoint(true);
    // Partition-aware, as dcos-commons: a task on an agent that went away
    // is UNREACHABLE (and may come back) before it is GONE.
    for (auto capability :
         {v1::FrameworkInfo::Capability::MULTI_ROLE,
          v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT,
          v1::FrameworkInfo::Capability::PARTITION_AWARE})
      info.add_capabilities()->set_type(capability);
    if (!framework_id.empty())
      info.mutable_id()->set_value(framework_id);
    driver = spawn_scheduler_driver(
      self->system(), caf::actor_cast<framework_actor>(self), info,
      cfg.detector, cfg.driver_options);
    self->link_to(driver);
    log->info("service {} loaded: {} plans, {} pod instances known",
              cfg.spec.name(), plans.size(), pods.size());
  }

  // -- ids --------------------------------------------------------------------------

  std::string new_id() {
    return fmt::format("{:016x}{:016x}", rng(), rng());
  }

  // -- the framework's events -------------------------------------------------------

  void on_subscribed(const call::Event::Subscribed& s) {
    subscribed = true;
    if (framework_id != s.framework_id().value()) {
      framework_id = s.framework_id().value();
      store_or_log({{"framework_id", framework_id}});
    }
    // What became of the tasks we know: the answers come as updates.
    call::Call::Reconcile known;
    for (const auto& [name, inst] : pods)
      for (const auto& [task, id] : inst.task_ids()) {
        auto* t = known.add_tasks();
        t->mutable_task_id()->set_value(id);
        t->mutable_agent_id()->set_value(inst.agent_id());
      }
    if (known.tasks_size() > 0)
      self->send(driver, std::move(known));
    // The filters of an earlier scheduler's declines (120 s while it had
    // nothing to do) outlive it in the allocator: this one may have work
    // (a changed spec to roll out) at once.
    revive();
  }

  // Whether the instance has a task that has not ended.
  bool executor_running(const v1::PodInstance& inst) const {
    for (const auto& [task, id] : inst.task_ids()) {
      auto at = task_state.find(id);
      if (at != task_state.end() && !ended(at->second))
        return true;
    }
    return false;
  }

  // The instances that a step of some plan works on now.
  std::set<std::string> busy_instances() const {
    std::set<std::string> out;
    for (const auto& plan : plans)
      for (const auto& phase : plan.phases())
        for (const auto& step : phase.steps())
          if (holds_instance(step.status()))
            out.insert(pod_instance_name(step.pod(), step.index()));
    for (const auto& [name, tasks] : recovering)
      out.insert(name);
    return out;
  }

  bool work_waits() const {
    auto busy = busy_instances();
    for (const auto& plan : plans)
      if (!steps_to_work_on(plan, busy).empty())
        return true;
    for (const auto& [name, tasks] : recovering)
      if (delayed.count(name) == 0)
        return true;
    return false;
  }

  // Where the pod's instances are (those that have been placed). An
  // instance's own site does not count against it: it is only consulted
  // for first launches, before the instance has one.
  std::vector<placement_site> sites_of(const std::string& pod) const {
    std::vector<placement_site> out;
    for (const auto& [name, inst] : pods)
      if (inst.pod() == pod && !inst.hostname().empty()) {
        placement_site site;
        site.hostname = inst.hostname();
        site.region = inst.region();
        site.zone = inst.zone();
        site.attributes = inst.attributes();
        out.push_back(std::move(site));
      }
    return out;
  }

  // Plans a launch of `tasks` of `instance` on the offer; on success the
  // instance is updated and its operations appended to `ops`.
  pod_launch try_launch(const std::string& instance, const std::string& pod,
                        uint32_t index, std::vector<std::string> tasks,
                        const v1::Offer& offer, resources& available,
                        std::vector<v1::Offer::Operation>& ops,
                        std::vector<placement_site>* placed = nullptr,
                        const v1::Environment& parameters = {}) {
    pod_launch_request req;
    req.parameters = parameters;
    req.spec = &cfg.spec;
    if (auto at = pods.find(instance); at != pods.end()) {
      req.instance = at->second;
      req.executor_running = executor_running(at->second);
    } else {
      req.instance.set_pod(pod);
      req.instance.set_index(index);
    }
    req.tasks = std::move(tasks);
    if (placed != nullptr)
      req.placed = *placed;
    req.new_id = [this] { return new_id(); };
    req.framework_host = cfg.framework_host;
    req.api_hostname = cfg.api_hostname;
    req.api_port = cfg.api_port;
    resources used;
    auto launch = plan_pod_launch(req, offer, available, &used);
    if (!launch.fits)
      return launch;
    if (req.instance.reservation_id().empty()) {
      log->info("reserving for {} on agent {} ({}): reservation {}",
                instance, launch.instance.agent_id(),
                launch.instance.hostname(), launch.instance.reservation_id());
      if (placed != nullptr)
        placed->push_back(placement_site::of(offer));
    }
    available -= used;
    for (auto& op : launch.operations)
      ops.push_back(op);
    // The tasks launched before are the instance's history; the new ones
    // replace them by name.
    for (const auto& [task, id] : launch.instance.task_ids())
      owner_of[id] = {instance, task};
    // Live from now until an update says otherwise: a step or restart that
    // comes before its first update kills this launch rather than launching
    // the task a second time.
    for (const auto& task : req.tasks)
      if (auto id = launch.instance.task_ids().find(task);
          id != launch.instance.task_ids().end())
        task_state.emplace(id->second, v1::TASK_STAGING);
    // A superseded launch's updates are not the task's any more.
    if (auto old = pods.find(instance); old != pods.end())
      for (const auto& [task, id] : old->second.task_ids())
        if (auto now = launch.instance.task_ids().find(task);
            now == launch.instance.task_ids().end() || now->second != id) {
          last_status.erase(id);
          ready.erase(id);
        }
    pods[instance] = launch.instance;
    return launch;
  }

  // Kills the tasks of `instance` among `tasks` that have not ended;
  // false if none had.
  bool kill_live_tasks(const std::string& instance,
                       const std::vector<std::string>& tasks) {
    auto at = pods.find(instance);
    if (at == pods.end())
      return false;
    bool any = false;
    for (const auto& task : tasks) {
      auto id = at->second.task_ids().find(task);
      if (id == at->second.task_ids().end())
        continue;
      auto state = task_state.find(id->second);
      if (state == task_state.end() || ended(state->second))
        continue;
      any = true;
      log->debug("killing {}: its step launches it anew",
                pod_task_name(at->second.pod(), at->second.index(), task));
      kill_task(id->second, at->second.agent_id());
    }
    return any;
  }

  void kill_task(const std::string& id, const std::string& agent_id) {
    call::Call::Kill kill;
    kill.mutable_task_id()->set_value(id);
    kill.mutable_agent_id()->set_value(agent_id);
    self->send(driver, std::move(kill));
  }

  // Whether a plan's step will launch `task` of `instance` now (its
  // strategy lets it start): recovery leaves it to the step. A step that
  // must wait its turn does not hold recovery back: it may wait on this
  // very task (a replica's readiness needs its primary, which `update`
  // rolls out last), and it relaunches the task anyway when it comes (the
  // recovered task runs the spec in effect, so under an update it restarts
  // twice).
  bool plan_will_launch(const std::string& instance,
                        const std::string& task) const {
    for (const auto& plan : plans)
      for (const auto* step : steps_to_work_on(plan))
        if (pod_instance_name(step->pod(), step->index()) == instance
            && std::find(step->tasks().begin(), step->tasks().end(), task)
                 != step->tasks().end())
          return true;
    return false;
  }

  // DESTROY and UNRESERVE what the offer holds under reservations of this
  // service's role that no instance claims (dcos-commons' resource
  // cleaner): a first launch whose task never reached its agent may still
  // have reserved, and its instance starts afresh without them.
  // `known`: every instance's reservation id.
  std::vector<v1::Offer::Operation>
  clean_up(const v1::Offer& offer, const resources& available,
           const std::set<std::string>& known) {
    std::set<std::string> unknown;
    for (const auto& r : available) {
      auto id = reservation_id_of(r);
      if (!id.empty() && r.role() == cfg.spec.scheduler().role()
          && known.count(id) == 0)
        unknown.insert(id);
    }
    std::vector<v1::Offer::Operation> ops;
    for (const auto& id : unknown) {
      log->info("releasing reservation {} on agent {}: no pod instance "
                "claims it",
                id, offer.agent_id().value());
      v1::PodInstance orphan;
      orphan.set_reservation_id(id);
      for (auto& op : release_pod_instance(orphan, offer))
        ops.push_back(std::move(op));
    }
    return ops;
  }

  void on_offers(const call::Event::Offers& event) {
    counted.offers_received += static_cast<uint64_t>(event.offers_size());
    work_on_decommission();
    std::vector<v1::OfferID> unused;
    // Computed once per batch of offers, and again only when a launch
    // changes them: with a thousand offers and a thousand steps, doing it
    // per offer was the simulation benchmark's whole wall time.
    auto busy = busy_instances();
    std::vector<std::vector<const v1::PlanState::Step*>> work(plans.size());
    std::vector<bool> stale(plans.size(), true);
    std::map<std::string, std::vector<placement_site>> sites; // by pod
    std::set<std::string> known; // reservation ids
    for (const auto& [name, inst] : pods)
      known.insert(inst.reservation_id());
    // Each step's instance, tasks and launch shape (what no_fresh_fit
    // remembers), made once per batch: per offer and step they were most
    // of a parallel deploy's planning.
    struct step_keys {
      std::string name, shape;
      std::vector<std::string> tasks;
    };
    std::unordered_map<const v1::PlanState::Step*, step_keys> keys_of;
    for (const auto& offer : event.offers()) {
      auto available = resources::from_proto(offer.resources());
      if (!available) {
        unused.push_back(offer.id());
        continue;
      }
      auto ops = clean_up(offer, *available, known);
      std::vector<std::pair<std::string, std::string>> writes;
      std::set<std::string> touched_plans;
      // First launches this offer could not take: another fresh instance
      // of the same pod and tasks would not fit either (with a thousand
      // pending steps, trying each was cubic).
      std::set<std::string> no_fresh_fit;
      for (size_t i = 0; i < plans.size(); ++i) {
        auto& plan = plans[i];
        if (stale[i]) {
          work[i] = steps_to_work_on(plan, busy);
          stale[i] = false;
        }
        for (const auto* step : work[i]) {
          if (step->decommission())
            continue; // work_on_decommission's
          auto keys = keys_of.find(step);
          if (keys == keys_of.end()) {
            step_keys k;
            k.name = pod_instance_name(step->pod(), step->index());
            k.tasks.assign(step->tasks().begin(), step->tasks().end());
            k.shape = fmt::format("{}/{}:{}", plan.name(), step->pod(),
                                  fmt::join(k.tasks, ","));
            keys = keys_of.emplace(step, std::move(k)).first;
          }
          const auto& [name, shape, tasks] = keys->second;
          if (busy.count(name) > 0 || step->status() != v1::PlanState::PENDING)
            continue;
          // A step done again (restarted by an operator) replaces the
          // tasks it launched before: they end first.
          if (kill_live_tasks(name, tasks)) {
            busy.insert(name);
            continue;
          }
          auto known_at = pods.find(name);
          bool fresh = known_at == pods.end()
                       || known_at->second.reservation_id().empty();
          if (fresh && no_fresh_fit.count(shape) > 0)
            continue;
          auto at = sites.find(step->pod());
          if (at == sites.end())
            at = sites.emplace(step->pod(), sites_of(step->pod())).first;
          auto& placed = at->second;
          auto launch = try_launch(name, step->pod(), step->index(), tasks,
                                   offer, *available, ops, &placed,
                                   plan.parameters());
          if (launch.hopeless) {
            set_step_status(plan, step->id(), v1::PlanState::ERROR,
                            launch.reason);
            touched_plans.insert(plan.name());
            std::fill(stale.begin(), stale.end(), true);
            continue;
          }
          if (!launch.fits) {
            log->debug("step {} of plan {} not on offer {}: {}", step->id(),
                       plan.name(), offer.id().value(), launch.reason);
            if (fresh)
              no_fresh_fit.insert(shape);
            continue;
          }
          busy.insert(name);
          writes.push_back(pod_write(name));
          set_step_status(plan, step->id(), v1::PlanState::PREPARED);
          touched_plans.insert(plan.name());
          // What may start next changed (a serial phase waits now).
          std::fill(stale.begin(), stale.end(), true);
        }
      }
      for (auto& [name, tasks] : recovering) {
        if (delayed.count(name) > 0)
          continue;
        auto pod = pods.at(name).pod();
        auto index = pods.at(name).index();
        // A replaced instance launches afresh, where placement allows.
        bool replacement = pods.at(name).reservation_id().empty();
        std::vector<placement_site>* placed = nullptr;
        if (replacement) {
          auto at = sites.find(pod);
          if (at == sites.end())
            at = sites.emplace(pod, sites_of(pod)).first;
          placed = &at->second;
        }
        auto launch = try_launch(name, pod, index,
                                 {tasks.begin(), tasks.end()}, offer,
                                 *available, ops, placed);
        if (!launch.fits) {
          log->debug("recovery of {} not on offer {}: {}", name,
                     offer.id().value(), launch.reason);
          continue;
        }
        ++(replacement ? counted.replacements : counted.recoveries);
        log->info("recovering {} {}: {}", name,
                  replacement ? "on a new reservation" : "in place",
                  fmt::join(tasks, ", "));
        writes.push_back(pod_write(name));
        tasks.clear();
      }
      std::erase_if(recovering, [](const auto& r) { return r.second.empty(); });
      for (const auto& plan : plans)
        if (touched_plans.count(plan.name()) > 0)
          writes.push_back(plan_write(plan));
      if (ops.empty()) {
        if (!writes.empty())
          store_or_log(std::move(writes));
        unused.push_back(offer.id());
        continue;
      }
      // Stored first: a scheduler restarted after the ACCEPT knows what it
      // reserved and launched.
      call::Call::Accept accept;
      *accept.add_offer_ids() = offer.id();
      for (auto& op : ops) {
        auto type = v1::Offer::Operation::Type_Name(op.type());
        std::transform(type.begin(), type.end(), type.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        ++counted.operations[type];
        *accept.add_operations() = std::move(op);
      }
      accept.mutable_filters()->set_refuse_seconds(1);
      put_all(std::move(writes),
              [this, accept = std::move(accept)](const caf::error& err) {
                if (err) {
                  log->error("not launching: cannot store the launch: {}",
                             describe(err));
                  return;
                }
                self->send(driver, accept);
              });
    }
    if (!unused.empty()) {
      call::Call::Decline decline;
      for (auto& id : unused)
        *decline.add_offer_ids() = std::move(id);
      decline.mutable_filters()->set_refuse_seconds(work_waits() ? 1 : 120);
      counted.offers_declined += unused.size();
      self->send(driver, std::move(decline));
    }
  }

  const v1::ServiceSpec::Task* spec_task(const std::string& instance,
                                         const std::string& task) const {
    const auto& inst = pods.at(instance);
    const auto* pod = find_pod(cfg.spec, inst.pod());
    return pod ? find_task(*pod, task) : nullptr;
  }

  // The step of some plan that works on `instance` and launched `task`.
  std::pair<v1::PlanState*, v1::PlanState::Step*>
  step_in_progress(const std::string& instance, const std::string& task) {
    for (auto& plan : plans)
      for (auto& phase : *plan.mutable_phases())
        for (auto& step : *phase.mutable_steps()) {
          auto s = step.status();
          if (s != v1::PlanState::PREPARED && s != v1::PlanState::STARTING
              && s != v1::PlanState::STARTED)
            continue;
          if (pod_instance_name(step.pod(), step.index()) != instance)
            continue;
          if (std::find(step.tasks().begin(), step.tasks().end(), task)
              != step.tasks().end())
            return {&plan, &step};
        }
    return {nullptr, nullptr};
  }

  caf::timespan backoff(const std::string& key) {
    int n = ++failures[key];
    auto d = cfg.min_backoff;
    for (int i = 1; i < n && d < cfg.max_backoff; ++i)
      d *= 2;
    return std::min(d, cfg.max_backoff);
  }

  void on_update(const v1::TaskStatus& status) {
    const auto& id = status.task_id().value();
    auto owner = owner_of.find(id);
    if (owner == owner_of.end()) {
      if (!ended(status.state())) {
        log->warn("killing task {}: not one of this service's", id);
        kill_task(id, status.agent_id().value());
      }
      return;
    }
    auto [instance, task] = owner->second;
    auto known = pods.find(instance);
    if (known == pods.end()) { // decommissioned
      if (!down(status.state()))
        kill_task(id, status.agent_id().value());
      return;
    }
    auto& inst = known->second;
    // An update of an earlier launch of the task matters no more, but the
    // launch must end if it still runs (its instance was replaced while its
    // agent was away).
    auto latest = inst.task_ids().find(task);
    if (latest == inst.task_ids().end() || latest->second != id) {
      if (!down(status.state())) {
        log->warn("killing {}: an earlier launch of {}", id,
                  pod_task_name(inst.pod(), inst.index(), task));
        kill_task(id, status.agent_id().value());
      }
      return;
    }
    task_state[id] = status.state();
    last_status[id] = status;
    if (status.state() == v1::TASK_RUNNING
        && status.check_status().command().has_exit_code()
        && status.check_status().command().exit_code() == 0)
      ready.insert(id);
    ++counted.task_statuses;
    bool from_agent = status.source() != v1::TaskStatus::SOURCE_MASTER;
    if (from_agent && !inst.confirmed()) {
      inst.set_confirmed(true);
      store_or_log({pod_write(instance)});
    } else if (!from_agent && !inst.confirmed()
               && ended(status.state())
               && status.state() != v1::TASK_ERROR) {
      // The first launch never reached the agent (its offer was gone, or
      // the agent): nothing was reserved. (A refused launch, TASK_ERROR,
      // may have left its reservation, and stops the step anyway.)
      v1::PodInstance fresh;
      fresh.set_pod(inst.pod());
      fresh.set_index(inst.index());
      *fresh.mutable_task_ids() = inst.task_ids();
      *fresh.mutable_task_infos() = inst.task_infos();
      inst = std::move(fresh);
      store_or_log({pod_write(instance)});
    }
    if (leaving(instance)) {
      // Its decommission step waits for its tasks to end.
      if (ended(status.state()))
        work_on_decommission();
      return;
    }
    const auto* t = spec_task(instance, task);
    if (t == nullptr)
      return;
    if (agent_gone(status.state()) && !inst.reservation_id().empty()) {
      store_or_log(replace_instance(
        instance, fmt::format("its agent is gone: {}",
                              v1::TaskState_Name(status.state()))));
      return;
    }
    watch_for_replacement(instance);
    auto [plan, step] = step_in_progress(instance, task);
    bool failed = ended(status.state());
    // Killed by an operator's restart: launched again once the instance's
    // other killed tasks have ended too, without backoff.
    if (failed && restarting.erase(id) > 0) {
      if (plan == nullptr && t->goal() == v1::ServiceSpec::Task::RUNNING
          && !plan_will_launch(instance, task)) {
        recovering[instance].insert(task);
        failures.erase(instance);
      }
      bool more = std::any_of(
        inst.task_ids().begin(), inst.task_ids().end(),
        [&](const auto& kv) { return restarting.count(kv.second) > 0; });
      if (recovering.count(instance) > 0) {
        if (more) {
          delayed.insert(instance);
        } else {
          delayed.erase(instance);
          revive();
        }
      }
      if (plan == nullptr)
        return;
    }
    if (plan != nullptr) {
      update_step(*plan, *step, instance, status);
      return;
    }
    // Recovery: a RUNNING task of a finished step ended.
    if (failed && t->goal() == v1::ServiceSpec::Task::RUNNING
        && !plan_will_launch(instance, task)) {
      if (auto r = recovering.find(instance);
          r != recovering.end() && r->second.count(task) > 0)
        return; // already on its way

      log->warn("{} ended ({}: {}); it will be launched again in place",
                pod_task_name(inst.pod(), inst.index(), task),
                v1::TaskState_Name(status.state()), status.message());
      recovering[instance].insert(task);
      delayed.insert(instance);
      self->delayed_send(self, backoff(instance), retry_atom::value,
                         std::string{}, instance);
    } else if (!down(status.state())) {
      // Back (an agent that was lost returned with it): nothing to recover.
      if (auto r = recovering.find(instance); r != recovering.end()) {
        r->second.erase(task);
        if (r->second.empty())
          recovering.erase(r);
      }
      if (status.state() == v1::TASK_RUNNING)
        failures.erase(instance);
    }
  }

  void update_step(v1::PlanState& plan, v1::PlanState::Step& step,
                   const std::string& instance,
                   const v1::TaskStatus& status) {
    const auto& inst = pods.at(instance);
    auto key = plan.name() + "/" + step.id();
    auto name_of = [&](const std::string& task) {
      return pod_task_name(inst.pod(), inst.index(), task);
    };
    // A failure of any task of the step fails the step.
    auto state = status.state();
    const auto* t = spec_task(instance, owner_of.at(
                                          status.task_id().value()).task);
    bool ended_badly = ended(state)
                       && (state != v1::TASK_FINISHED
                           || t->goal() == v1::ServiceSpec::Task::RUNNING);
    if (ended_badly) {
      auto why = fmt::format("{}: {}{}{}", name_of(t->name()),
                             v1::TaskState_Name(state),
                             status.message().empty() ? "" : ": ",
                             status.message());
      if (state == v1::TASK_ERROR) {
        set_step_status(plan, step.id(), v1::PlanState::ERROR, why);
      } else {
        set_step_status(plan, step.id(), v1::PlanState::DELAYED, why);
        self->delayed_send(self, backoff(key), retry_atom::value,
                           plan.name(), step.id());
      }
      // The step's other tasks are launched again with it.
      for (const auto& other : step.tasks())
        if (auto id = inst.task_ids().find(other);
            id != inst.task_ids().end() && other != t->name()
            && !ended(task_state[id->second]))
          kill_task(id->second, inst.agent_id());
      store_or_log({plan_write(plan)});
      return;
    }
    // Done when every task reached its goal.
    bool all = true, any_running = false;
    for (const auto& task : step.tasks()) {
      auto id = inst.task_ids().find(task);
      auto s = id == inst.task_ids().end() ? v1::TASK_STAGING
                                           : task_state[id->second];
      const auto* spec = spec_task(instance, task);
      auto info = inst.task_infos().find(task);
      bool checked = info != inst.task_infos().end()
                     && info->second.has_check();
      bool goal = spec->goal() == v1::ServiceSpec::Task::RUNNING
                    ? s == v1::TASK_RUNNING
                        && (!checked || ready.count(id->second) > 0)
                    : s == v1::TASK_FINISHED;
      all = all && goal;
      any_running = any_running || s == v1::TASK_RUNNING;
    }
    auto next = all           ? v1::PlanState::COMPLETE
                : any_running ? v1::PlanState::STARTED
                              : v1::PlanState::STARTING;
    if (next == step.status())
      return;
    set_step_status(plan, step.id(), next);
    std::vector<std::pair<std::string, std::string>> writes{plan_write(plan)};
    if (next == v1::PlanState::COMPLETE
        && (plan.name() == "deploy"
            || plan.name() == update_plan_name(cfg.spec))
        && instance_done(plan, instance)) {
      if (const auto* pod = find_pod(cfg.spec, inst.pod())) {
        pods.at(instance).set_config_id(pod_config_id(*pod));
        writes.push_back(pod_write(instance));
      }
    }
    store_or_log(std::move(writes));
    if (next == v1::PlanState::COMPLETE) {
      failures.erase(key);
      // The next step of a serial phase may start now: the offers declined
      // for long while nothing could are wanted again.
      revive();
    }
  }

  // Whether every step of `plan` for `instance` is COMPLETE.
  static bool instance_done(const v1::PlanState& plan,
                            const std::string& instance) {
    for (const auto& phase : plan.phases())
      for (const auto& step : phase.steps())
        if (pod_instance_name(step.pod(), step.index()) == instance
            && step.status() != v1::PlanState::COMPLETE)
          return false;
    return true;
  }

  void on_retry(const std::string& plan_name, const std::string& what) {
    if (plan_name.empty()) {
      delayed.erase(what);
    } else {
      for (auto& plan : plans)
        if (plan.name() == plan_name)
          for (auto& phase : *plan.mutable_phases())
            for (auto& step : *phase.mutable_steps())
              if (step.id() == what
                  && step.status() == v1::PlanState::DELAYED) {
                set_step_status(plan, step.id(), v1::PlanState::PENDING,
                                step.message());
                store_or_log({plan_write(plan)});
              }
    }
    revive();
  }

  // -- decommission -----------------------------------------------------------------

  bool leaving(const std::string& instance) const {
    const auto& inst = pods.at(instance);
    return is_leaving(cfg.spec, inst.pod(), inst.index());
  }

  // The decommission plan's steps that may go on: each kills its
  // instance's live tasks, then, once none runs, forgets the instance (the
  // cleaner releases its reservation and volumes from its agent's next
  // offer).
  void work_on_decommission() {
    for (auto& plan : plans) {
      if (plan.name() != "decommission")
        continue;
      std::vector<std::string> ids;
      for (const auto* step : steps_to_work_on(plan))
        ids.push_back(step->id());
      for (const auto& phase : plan.phases())
        for (const auto& step : phase.steps())
          if (step.status() == v1::PlanState::STARTED)
            ids.push_back(step.id());
      bool changed = false;
      for (const auto& id : ids) {
        const v1::PlanState::Step* step = nullptr;
        for (const auto& phase : plan.phases())
          for (const auto& s : phase.steps())
            if (s.id() == id)
              step = &s;
        auto name = pod_instance_name(step->pod(), step->index());
        if (auto at = pods.find(name); at != pods.end()) {
          std::vector<std::string> tasks;
          for (const auto& [task, task_id] : at->second.task_ids())
            tasks.push_back(task);
          recovering.erase(name);
          if (kill_live_tasks(name, tasks)) {
            if (step->status() != v1::PlanState::STARTED) {
              log->info("decommissioning {}: killing its tasks", name);
              set_step_status(plan, id, v1::PlanState::STARTED);
              changed = true;
            }
            continue;
          }
          log->info("decommissioned {}: its reservation {} goes back",
                    name, at->second.reservation_id());
          forget_instance(name);
        }
        set_step_status(plan, id, v1::PlanState::COMPLETE);
        changed = true;
      }
      if (changed)
        store_or_log({plan_write(plan)});
    }
  }

  void forget_instance(const std::string& instance) {
    for (const auto& [task, id] : pods.at(instance).task_ids()) {
      owner_of.erase(id);
      task_state.erase(id);
      last_status.erase(id);
      ready.erase(id);
      restarting.erase(id);
    }
    pods.erase(instance);
    recovering.erase(instance);
    delayed.erase(instance);
    down_watch.erase(instance);
    failures.erase(instance);
    self->request(cfg.store, caf::infinite, erase_atom::value,
                  pod_key(instance))
      .then([](ok_atom) {},
            [this, instance](caf::error& err) {
              log->error("cannot forget {}: {}", instance, describe(err));
            });
  }

  // -- restart and replacement ------------------------------------------------------

  bool is_running_goal(const std::string& instance,
                       const std::string& task) const {
    const auto* t = spec_task(instance, task);
    return t != nullptr && t->goal() == v1::ServiceSpec::Task::RUNNING;
  }

  // Under the replacement policy: starts the timer that replaces
  // `instance` when one of its RUNNING tasks is down, and stops it when
  // none is.
  void watch_for_replacement(const std::string& instance) {
    if (!cfg.spec.has_replacement_failure_policy())
      return;
    const auto& inst = pods.at(instance);
    bool is_down = false;
    if (!inst.reservation_id().empty())
      for (const auto& [task, id] : inst.task_ids()) {
        auto s = task_state.find(id);
        if (s != task_state.end() && down(s->second)
            && is_running_goal(instance, task))
          is_down = true;
      }
    if (!is_down) {
      down_watch.erase(instance);
      return;
    }
    if (down_watch.count(instance) > 0)
      return;
    auto n = ++watches;
    down_watch[instance] = n;
    self->delayed_send(
      self,
      std::chrono::seconds(cfg.spec.replacement_failure_policy()
                             .permanent_failure_timeout_s()),
      replace_atom::value, instance, n);
  }

  void on_replace_timer(const std::string& instance, uint64_t n) {
    auto w = down_watch.find(instance);
    if (w == down_watch.end() || w->second != n)
      return; // it came back meanwhile
    const auto& policy = cfg.spec.replacement_failure_policy();
    caf::timespan spacing = std::chrono::seconds(policy.min_replace_delay_s());
    auto now = self->clock().now();
    if (last_replacement && now - *last_replacement < spacing) {
      self->delayed_send(self, *last_replacement + spacing - now,
                         replace_atom::value, instance, n);
      return;
    }
    down_watch.erase(w);
    store_or_log(replace_instance(
      instance, fmt::format("a task was down for {} s",
                            policy.permanent_failure_timeout_s())));
  }

  // Gives `instance` up: its live tasks are killed, and it starts afresh
  // (see the header). Answers the writes that store it.
  std::vector<std::pair<std::string, std::string>>
  replace_instance(const std::string& instance, const std::string& why) {
    auto& inst = pods.at(instance);
    log->warn("replacing {} ({}): giving up reservation {} on agent {} ({})",
              instance, why, inst.reservation_id(), inst.agent_id(),
              inst.hostname());
    // What was on its way already (replaced twice before its relaunch),
    // and its RUNNING tasks.
    std::set<std::string> relaunch;
    if (auto r = recovering.find(instance); r != recovering.end())
      relaunch = r->second;
    for (const auto& [task, id] : inst.task_ids()) {
      auto s = task_state.find(id);
      if (s == task_state.end() || !ended(s->second))
        kill_task(id, inst.agent_id());
      restarting.erase(id);
      if (is_running_goal(instance, task))
        relaunch.insert(task);
    }
    std::vector<std::pair<std::string, std::string>> writes;
    // A step under way on it starts over, on the fresh instance.
    for (auto& plan : plans) {
      bool touched = false;
      for (const auto& phase : plan.phases())
        for (const auto& step : phase.steps()) {
          if (!holds_instance(step.status())
              || pod_instance_name(step.pod(), step.index()) != instance)
            continue;
          failures.erase(plan.name() + "/" + step.id());
          set_step_status(plan, step.id(), v1::PlanState::PENDING);
          touched = true;
        }
      if (touched)
        writes.push_back(plan_write(plan));
    }
    for (const auto& [task, id] : inst.task_ids()) {
      last_status.erase(id);
      ready.erase(id);
    }
    v1::PodInstance fresh;
    fresh.set_pod(inst.pod());
    fresh.set_index(inst.index());
    inst = std::move(fresh);
    failures.erase(instance);
    delayed.erase(instance);
    recovering.erase(instance);
    down_watch.erase(instance);
    std::erase_if(relaunch, [&](const std::string& task) {
      return plan_will_launch(instance, task);
    });
    if (!relaunch.empty())
      recovering[instance] = std::move(relaunch);
    last_replacement = self->clock().now();
    writes.push_back(pod_write(instance));
    revive();
    return writes;
  }

  // Kills the instance's live tasks; its RUNNING tasks are launched again
  // in place once all have ended (or now, if none runs).
  void restart_instance(const std::string& instance) {
    const auto& inst = pods.at(instance);
    log->info("restarting {}", instance);
    failures.erase(instance);
    bool any = false;
    for (const auto& [task, id] : inst.task_ids()) {
      auto s = task_state.find(id);
      if (s == task_state.end() || ended(s->second))
        continue;
      kill_task(id, inst.agent_id());
      restarting.insert(id);
      any = true;
    }
    if (any) {
      if (recovering.count(instance) > 0)
        delayed.insert(instance);
      return;
    }
    for (const auto& [task, id] : inst.task_ids())
      if (is_running_goal(instance, task) && !plan_will_launch(instance, task)
          && step_in_progress(instance, task).first == nullptr)
        recovering[instance].insert(task);
    delayed.erase(instance);
    revive();
  }

  caf::result<std::vector<std::string>> pod_command(const std::string& name,
                                                    bool replace) {
    if (!loaded)
      return not_loaded();
    auto at = pods.find(name);
    if (at == pods.end() || leaving(name))
      return make_error(errc::not_found, fmt::format("Pod {} not found", name));
    // The launched tasks, and those a replacement will launch, in the
    // spec's order.
    std::vector<std::string> names;
    const auto& inst = at->second;
    auto queued = recovering.find(name);
    if (const auto* pod = find_pod(cfg.spec, inst.pod()))
      for (const auto& t : pod->tasks())
        if (inst.task_ids().count(t.name()) > 0
            || (queued != recovering.end()
                && queued->second.count(t.name()) > 0))
          names.push_back(pod_task_name(inst.pod(), inst.index(), t.name()));
    std::vector<std::pair<std::string, std::string>> writes;
    if (replace)
      writes = replace_instance(name, "an operator replaced it");
    else
      restart_instance(name);
    auto rp = self->make_response_promise<std::vector<std::string>>();
    put_all(std::move(writes),
            [rp, names](const caf::error& err) mutable {
              if (err)
                rp.deliver(make_error(errc::io_error,
                                      "cannot store the replacement: "
                                        + describe(err)));
              else
                rp.deliver(names);
            });
    return rp;
  }

  void revive() {
    if (!subscribed)
      return;
    ++counted.revives;
    self->send(driver, call::Call::Revive{});
  }

  caf::result<bool> operate(const std::string& plan_name,
                            const std::string& op_name,
                            const std::string& phase, const std::string& step,
                            v1::Environment params) {
    if (!loaded)
      return not_loaded();
    auto op = parse_plan_operation(op_name);
    if (!op)
      return std::move(op.error());
    auto plan = std::find_if(plans.begin(), plans.end(), [&](const auto& p) {
      return p.name() == plan_name;
    });
    if (plan == plans.end())
      return make_error(errc::not_found,
                        fmt::format("Plan {} not found", plan_name));
    auto changed = apply_plan_operation(*plan, *op, phase, step,
                                        std::move(params));
    if (!changed)
      return std::move(changed.error());
    if (!*changed)
      return false;
    auto rp = self->make_response_promise<bool>();
    put_all({plan_write(*plan)}, [this, rp](const caf::error& err) mutable {
      if (err) {
        rp.deliver(make_error(errc::io_error,
                              "cannot store the plan: " + describe(err)));
        return;
      }
      revive();
      rp.deliver(true);
    });
    return rp;
  }

  // Gauges (plans' steps by status, current tasks by state, instances)
  // and this scheduler's counters, named "service/...".
  metrics_snapshot metrics() const {
    metrics_snapshot m;
    for (const auto& plan : plans) {
      std::map<std::string, double> steps;
      for (const auto& phase : plan.phases())
        for (const auto& step : phase.steps())
          ++steps[v1::PlanState::Status_Name(step.status())];
      for (int s = v1::PlanState::Status_MIN; s <= v1::PlanState::Status_MAX;
           ++s)
        if (v1::PlanState::Status_IsValid(s)) {
          auto name = v1::PlanState::Status_Name(
            static_cast<v1::PlanState::Status>(s));
          auto lower = name;
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char c) { return std::tolower(c); });
          add_metric(m,
                     fmt::format("service/plans/{}/steps_{}", plan.name(),
                                 lower),
                     steps[name]);
        }
      add_metric(m, fmt::format("service/plans/{}/complete", plan.name()),
                 plan_status(plan) == v1::PlanState::COMPLETE ? 1 : 0);
    }
    std::map<v1::TaskState, double> states;
    for (const auto& [name, inst] : pods)
      for (const auto& [task, id] : inst.task_ids())
        if (auto at = task_state.find(id); at != task_state.end())
          ++states[at->second];
    for (auto state : {v1::TASK_STAGING, v1::TASK_STARTING, v1::TASK_RUNNING,
                       v1::TASK_KILLING, v1::TASK_FINISHED, v1::TASK_FAILED,
                       v1::TASK_KILLED, v1::TASK_ERROR, v1::TASK_LOST,
                       v1::TASK_UNREACHABLE, v1::TASK_GONE})
      add_metric(m, task_state_metric("service/", state), states[state]);
    add_metric(m, "service/pod_instances", static_cast<double>(pods.size()));
    add_metric(m, "service/subscribed", subscribed ? 1 : 0);
    auto counter = [&m](const std::string& name, uint64_t n) {
      add_metric(m, name, static_cast<double>(n));
    };
    counter("service/offers_received", counted.offers_received);
    counter("service/offers_declined", counted.offers_declined);
    for (const char* op : {"reserve", "create", "launch_group", "destroy",
                           "unreserve"}) {
      auto at = counted.operations.find(op);
      counter(fmt::format("service/operations_{}", op),
              at == counted.operations.end() ? 0 : at->second);
    }
    counter("service/task_statuses", counted.task_statuses);
    counter("service/revives", counted.revives);
    counter("service/recoveries", counted.recoveries);
    counter("service/replacements", counted.replacements);
    return m;
  }

  caf::error not_loaded() const {
    return make_error(errc::unavailable, "the service is loading its state");
  }
};

} // namespace

service_scheduler_actor spawn_service_scheduler(caf::actor_system& sys,
                                                service_config cfg) {
  return sys.spawn([cfg = std::move(cfg)](
                     service_scheduler_actor::stateful_pointer<service_state>
                       self) -> service_scheduler_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.self = self;
    st.log = logging::get("service");
    st.load();
    return {
      [self](get_atom,
             plans_atom) -> caf::result<std::vector<v1::PlanState>> {
        if (!self->state.loaded)
          return self->state.not_loaded();
        return self->state.plans;
      },
      [self](operate_atom, const std::string& plan, const std::string& op,
             const std::string& phase, const std::string& step,
             v1::Environment& params) {
        return self->state.operate(plan, op, phase, step, std::move(params));
      },
      [self](get_atom,
             pods_atom) -> caf::result<std::vector<v1::PodInstance>> {
        if (!self->state.loaded)
          return self->state.not_loaded();
        std::vector<v1::PodInstance> out;
        for (const auto& [name, inst] : self->state.pods)
          out.push_back(inst);
        return out;
      },
      [self](get_atom, pods_atom, const std::string& name)
        -> caf::result<pod_info> {
        auto& st = self->state;
        if (!st.loaded)
          return st.not_loaded();
        auto at = st.pods.find(name);
        if (at == st.pods.end() || at->second.task_ids().empty())
          return make_error(errc::not_found,
                            fmt::format("Pod {} not found", name));
        std::vector<v1::TaskStatus> statuses;
        for (const auto& [task, id] : at->second.task_ids())
          if (auto s = st.last_status.find(id); s != st.last_status.end())
            statuses.push_back(s->second);
        return pod_info{at->second, std::move(statuses)};
      },
      [self](get_atom, metrics_atom) -> caf::result<metrics_snapshot> {
        if (!self->state.loaded)
          return self->state.not_loaded();
        return self->state.metrics();
      },
      [self](get_atom, properties_atom)
        -> caf::result<std::map<std::string, std::string>> {
        auto& st = self->state;
        if (!st.loaded)
          return st.not_loaded();
        std::map<std::string, std::string> out{
          {"incarnation", std::to_string(st.incarnation)}};
        if (!st.framework_id.empty())
          out["framework-id"] = st.framework_id;
        return out;
      },
      [self](get_atom, state_atom)
        -> caf::result<std::vector<std::pair<std::string, int32_t>>> {
        if (!self->state.loaded)
          return self->state.not_loaded();
        std::vector<std::pair<std::string, int32_t>> out;
        for (const auto& [id, s] : self->state.task_state)
          out.emplace_back(id, static_cast<int32_t>(s));
        return out;
      },
      [self](retry_atom, const std::string& plan, const std::string& what) {
        self->state.on_retry(plan, what);
      },
      [self](restart_atom, const std::string& instance) {
        return self->state.pod_command(instance, false);
      },
      [self](replace_atom, const std::string& instance) {
        return self->state.pod_command(instance, true);
      },
      [self](replace_atom, const std::string& instance, uint64_t n) {
        self->state.on_replace_timer(instance, n);
      },
      [self](const call::Event::Subscribed& s) {
        self->state.on_subscribed(s);
      },
      [self](disconnected_atom) {
        self->state.subscribed = false;
        self->state.log->warn("disconnected from the master");
      },
      [self](const call::Event::Offers& offers) {
        self->state.on_offers(offers);
      },
      [](const call::Event::Rescind&) {},
      [self](const call::Event::Update& u) {
        self->state.on_update(u.status());
      },
      [](const call::Event::Message&) {},
      [](const call::Event::Failure&) {},
      [self](const call::Event::Error& e) {
        self->state.log->critical("the master refused service {}: {}",
                                  self->state.cfg.spec.name(), e.message());
        self->quit(make_error(errc::conflict, e.message()));
      },
      [](const call::Event::InverseOffers&) {},
      [](const call::Event::RescindInverseOffer&) {},
      [](const call::Event::UpdateOperationStatus&) {},
    };
  });
}

void when_loaded(caf::actor_system& sys, service_scheduler_actor service,
                 std::function<void(const caf::error&)> done) {
  when_ready<std::vector<v1::PlanState>>(sys, std::move(service),
                                         std::move(done), get_atom::value,
                                         plans_atom::value);
}

} // namespace dcos
