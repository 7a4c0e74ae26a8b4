#include "marathon_actor.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/json.hpp>
#include <dcos/logging.hpp>
#include <dcos/resources.hpp>
#include <dcos/task_state.hpp>

#include "app_definition.hpp"
#include "deployment_plan.hpp"
#include "group_history.hpp"
#include "group_tree.hpp"
#include "rollout.hpp"
#include "task_factory.hpp"

namespace dcos::marathon {

namespace {

using clock_point = caf::actor_clock::time_point;

// An app and what runs of it.
struct app_entry {
  App app; // the definition, with version and version_info
  std::vector<placement_constraint> constraints;
  std::map<std::string, Task> tasks; // not ended, by id
  bool removing = false;             // deleted: its tasks are being killed
  double delay = 0;                  // backoff before the next launch, s
  clock_point not_before{};          // no launch before this
  std::string stalled;               // why the last offer did not fit
  bool converged = false;            // what its last plan_rollout said
  TaskFailure last_failure;
  // While the app waits for launches: since when, and what the offers it
  // saw lacked (Marathon's names), for /v2/queue.
  std::string waiting_since;
  ProcessedOffersSummary offers;
  std::map<std::string, int> declined; // by reason
};

struct marathon_state {
  marathon_config cfg;
  marathon_actor::pointer self = nullptr;
  std::shared_ptr<spdlog::logger> log = logging::get("marathon");
  clock_point started_at{};
  std::mt19937_64 rng;
  bool loaded = false;
  bool subscribed = false;
  bool suppressed = false;
  std::string framework_id;
  scheduler_driver_actor driver;
  std::map<std::string, app_entry> apps;          // by app id
  std::map<std::string, std::string> app_of_task; // task id -> app id
  std::map<std::string, DeploymentRecord> deployments; // by id
  // Apps a deployment holds back until their step (dependencies first).
  std::set<std::string> held;
  // Apps whose tasks changed since they were last converged.
  std::set<std::string> dirty;
  std::vector<Group> groups; // those that exist apart from their apps
  // The versions kept of each app (by id), oldest first.
  std::map<std::string, std::vector<std::string>> versions;
  // The last changes to the tree, and each group's version.
  group_history history;
  // What offers told about agents, for constraints on attributes.
  std::map<std::string, placement_site> sites; // by agent id
  struct subscriber {
    std::shared_ptr<stream_sink> sink;
    std::set<std::string> types; // empty: all
  };
  std::vector<subscriber> subscribers; // of /v2/events

  static inline const char* name = "marathon";

  // -- time, ids ---------------------------------------------------------------------

  double now() const {
    return cfg.start_time
           + std::chrono::duration<double>(self->clock().now() - started_at)
               .count();
  }

  // ISO 8601 with milliseconds, as Marathon's versions and timestamps.
  std::string timestamp() const {
    auto t = now();
    auto seconds = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    auto millis = static_cast<int>((t - static_cast<double>(seconds)) * 1000);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  }

  std::string uuid() {
    auto a = rng(), b = rng();
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32,
                       (a >> 16) & 0xffff, a & 0xfff,
                       0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffull);
  }

  caf::error not_loaded() const {
    return make_error(errc::unavailable, "Marathon is loading its state");
  }

  app_entry* live_app(const std::string& id) {
    auto at = apps.find(id);
    return at == apps.end() || at->second.removing ? nullptr : &at->second;
  }

  caf::error no_app(const std::string& id) const {
    return make_error(errc::not_found,
                      fmt::format("App '{}' does not exist", id));
  }

  // -- events ------------------------------------------------------------------------

  // Sends `event` (its event_type and timestamp are set here) to the
  // subscribers that want `type`; a subscriber whose stream closed is
  // dropped.
  template <class Event>
  void publish(const std::string& type, Event event) {
    if (subscribers.empty())
      return;
    event.set_event_type(type);
    event.set_timestamp(timestamp());
    auto frame = fmt::format("event: {}\ndata: {}\n\n", type,
                             to_json(event, json_style::marathon));
    subscribers.erase(
      std::remove_if(subscribers.begin(), subscribers.end(),
                     [&](const subscriber& s) {
                       if (!s.types.empty() && !s.types.count(type))
                         return !s.sink->is_open();
                       return !s.sink->write(frame);
                     }),
      subscribers.end());
  }

  void subscribe(std::shared_ptr<stream_sink> sink,
                 const std::vector<std::string>& types) {
    subscribers.push_back({sink, {types.begin(), types.end()}});
    EventStreamAttached attached;
    attached.set_event_type("event_stream_attached");
    attached.set_timestamp(timestamp());
    sink->write(fmt::format("event: event_stream_attached\ndata: {}\n\n",
                            to_json(attached, json_style::marathon)));
  }

  void publish_deployment(const std::string& type, const Deployment& d) {
    DeploymentEvent e;
    e.set_id(d.id());
    *e.mutable_plan() = d;
    if (d.current_step() > 0 && d.current_step() <= d.steps_size())
      *e.mutable_current_step() = d.steps(d.current_step() - 1);
    publish(type, std::move(e));
  }

  // Marathon's condition of an instance in `state`.
  static std::string condition_of(v1::TaskState state) {
    auto name = v1::TaskState_Name(state).substr(5); // no "TASK_"
    std::string out;
    bool upper = true;
    for (char c : name) {
      if (c == '_') {
        upper = true;
        continue;
      }
      out += upper ? c : static_cast<char>(std::tolower(c));
      upper = false;
    }
    return out;
  }

  void publish_status(const app_entry& entry, const Task& task,
                      const v1::TaskStatus& status) {
    StatusUpdateEvent e;
    e.set_slave_id(task.slave_id());
    e.set_task_id(task.id());
    e.set_task_status(v1::TaskState_Name(status.state()));
    e.set_message(status.message());
    e.set_app_id(entry.app.id());
    e.set_host(task.host());
    *e.mutable_ip_addresses() = task.ip_addresses();
    *e.mutable_ports() = task.ports();
    e.set_version(task.version());
    publish("status_update_event", std::move(e));
    InstanceChangedEvent c;
    c.set_instance_id(task.id());
    c.set_condition(condition_of(status.state()));
    c.set_run_spec_id(entry.app.id());
    c.set_agent_id(task.slave_id());
    c.set_host(task.host());
    c.set_run_spec_version(task.version());
    c.set_goal(task.killing() ? (entry.removing ? "Decommissioned" : "Stopped")
                              : "Running");
    publish("instance_changed_event", std::move(c));
  }

  // -- the store ---------------------------------------------------------------------

  static std::string app_key(const std::string& id) {
    return "apps/" + app_id_key(id);
  }
  static std::string task_key(const std::string& id) { return "tasks/" + id; }
  static std::string deployment_key(const std::string& id) {
    return "deployments/" + id;
  }

  // Writes in the background: a lost write of a task is repaired by
  // reconciliation (an unknown task is killed, a lost one replaced).
  void persist(std::string key, const google::protobuf::Message& msg) {
    self->request(cfg.store, caf::infinite, put_atom::value, key,
                  msg.SerializeAsString())
      .then([](ok_atom) {},
            [this, key](caf::error& err) {
              log->error("cannot store {}: {}", key, describe(err));
            });
  }

  void forget(std::string key) {
    self->request(cfg.store, caf::infinite, erase_atom::value, key)
      .then([](ok_atom) {},
            [this, key](caf::error& err) {
              if (code_of(err) != errc::not_found)
                log->error("cannot erase {}: {}", key, describe(err));
            });
  }

  // -- loading -----------------------------------------------------------------------

  // Reads every value under `prefix`, hands each to `each`, then runs
  // `done`.
  template <class Each, class Done>
  void load_all(const std::string& prefix, Each each, Done done) {
    self->request(cfg.store, caf::infinite, keys_atom::value, prefix)
      .then(
        [this, each, done](const std::vector<std::string>& keys) {
          if (keys.empty()) {
            done();
            return;
          }
          auto left = std::make_shared<size_t>(keys.size());
          for (const auto& key : keys)
            self->request(cfg.store, caf::infinite, get_atom::value, key)
              .then(
                [each, done, left](const std::string& bytes) {
                  each(bytes);
                  if (--*left == 0)
                    done();
                },
                [this, key](caf::error& err) {
                  fail_to_load(key, err);
                });
        },
        [this, prefix](caf::error& err) { fail_to_load(prefix, err); });
  }

  void fail_to_load(const std::string& what, const caf::error& err) {
    log->critical("cannot load {} from the store: {}", what, describe(err));
    self->quit(err);
  }

  // Each start of Marathon on a store is a new incarnation, recorded
  // before anything else: the ids it makes (tasks, deployments) come from
  // the seed and the incarnation, so that a Marathon restarted with the
  // same seed (as in the simulation) never repeats its predecessor's.
  void load() {
    load_or_empty(
      self, cfg.store, "incarnation",
      [this](const std::string& text) {
        uint64_t incarnation = std::strtoull(text.c_str(), nullptr, 10) + 1;
        self
          ->request(cfg.store, caf::infinite, put_atom::value,
                    std::string{"incarnation"}, std::to_string(incarnation))
          .then(
            [this, incarnation](ok_atom) {
              rng.seed(cfg.seed ^ (incarnation * 0x9e3779b97f4a7c15ull));
              load_framework_id();
            },
            [this](caf::error& err) { fail_to_load("incarnation", err); });
      },
      [this](const caf::error& err) { fail_to_load("incarnation", err); });
  }

  void load_framework_id() {
    load_or_empty(
      self, cfg.store, "framework_id",
      [this](const std::string& id) {
        framework_id = id;
        load_all(
          "apps/",
          [this](const std::string& bytes) {
            App app;
            if (!app.ParseFromString(bytes))
              return log->error("an app in the store does not parse; skipped");
            auto& entry = apps[app.id()];
            entry.constraints = constraints_of(app);
            entry.app = std::move(app);
          },
          [this] { load_tasks(); });
      },
      [this](const caf::error& err) { fail_to_load("framework_id", err); });
  }

  void load_tasks() {
    load_all(
      "tasks/",
      [this](const std::string& bytes) {
        Task task;
        if (!task.ParseFromString(bytes))
          return log->error("a task in the store does not parse; skipped");
        auto& entry = apps[task.app_id()];
        if (entry.app.id().empty()) { // its app was removed: kill it
          entry.app.set_id(task.app_id());
          entry.removing = true;
        }
        app_of_task[task.id()] = task.app_id();
        entry.tasks[task.id()] = std::move(task);
      },
      [this] {
        load_all(
          "deployments/",
          [this](const std::string& bytes) {
            DeploymentRecord d;
            if (d.ParseFromString(bytes))
              deployments[d.plan().id()] = std::move(d);
          },
          [this] { load_groups(); });
      });
  }

  void load_groups() {
    load_or_empty(
      self, cfg.store, "groups",
      [this](const std::string& bytes) {
        GroupList list;
        if (!list.ParseFromString(bytes))
          log->error("the groups in the store do not parse; skipped");
        groups = {list.groups().begin(), list.groups().end()};
        load_versions();
      },
      [this](const caf::error& err) { fail_to_load("groups", err); });
  }

  // The versions kept of each app: their keys are enough.
  void load_versions() {
    self->request(cfg.store, caf::infinite, keys_atom::value,
                  std::string{"versions/"})
      .then(
        [this](const std::vector<std::string>& keys) {
          std::map<std::string, std::string> id_of; // store key -> app id
          for (const auto& [id, entry] : apps)
            id_of[app_id_key(id)] = id;
          for (const auto& key : keys) {
            auto slash = key.rfind('/');
            auto app = id_of.find(key.substr(9, slash - 9));
            if (app == id_of.end() || apps[app->second].removing)
              forget(key); // of an app that is gone
            else
              versions[app->second].push_back(key.substr(slash + 1));
          }
          for (auto& [id, list] : versions)
            std::sort(list.begin(), list.end());
          // The changes of the deployments in flight, again: their apps'
          // own keys may not all have been written.
          std::vector<DeploymentRecord> in_flight;
          for (const auto& [id, record] : deployments)
            in_flight.push_back(record);
          for (const auto& record : in_flight)
            install(record);
          load_all(
            "group-versions/",
            [this](const std::string& bytes) {
              GroupVersion kept;
              if (kept.ParseFromString(bytes))
                history.restore(kept);
              else
                log->error("a group version in the store does not parse; "
                           "skipped");
            },
            [this] { start(); });
        },
        [this](caf::error& err) { fail_to_load("versions/", err); });
  }

  void start() {
    loaded = true;
    for (const auto& [id, entry] : apps)
      for (const auto& [task_id, task] : entry.tasks)
        if (task.has_unreachable_since())
          watch_unreachable(entry.app);
    log->info("loaded {} apps, {} tasks, {} deployments", apps.size(),
              app_of_task.size(), deployments.size());
    auto info = cfg.framework;
    if (!framework_id.empty())
      info.mutable_id()->set_value(framework_id);
    driver = spawn_scheduler_driver(self->system(),
                                    caf::actor_cast<framework_actor>(self),
                                    info, cfg.detector, cfg.driver_options);
    self->link_to(driver);
    self->delayed_send(self, cfg.reconcile_interval, tick_atom::value);
    self->delayed_send(self, cfg.kill_retry_interval, kill_atom::value);
  }

  // -- tasks -------------------------------------------------------------------------

  app_entry* app_of(const std::string& task_id) {
    auto at = app_of_task.find(task_id);
    if (at == app_of_task.end())
      return nullptr;
    auto app = apps.find(at->second);
    return app == apps.end() ? nullptr : &app->second;
  }

  void kill(app_entry& entry, const std::string& task_id) {
    auto& task = entry.tasks[task_id];
    call::Call::Kill k;
    k.mutable_task_id()->set_value(task_id);
    k.mutable_agent_id()->set_value(task.slave_id());
    self->send(driver, std::move(k));
    if (task.has_unreachable_since()) {
      // Its agent cannot say it ended: forget it now (killed, as a task
      // Marathon does not know, should it come back).
      entry.tasks.erase(task_id);
      app_of_task.erase(task_id);
      forget(task_key(task_id));
      return;
    }
    task.set_killing(true);
    persist(task_key(task_id), task);
  }

  // One safe step toward the definition of `entry`'s app.
  void converge(app_entry& entry) {
    if (held.count(entry.app.id()))
      return; // its deployment step has not come yet
    auto step = plan_rollout(entry.app, entry.tasks, entry.removing);
    entry.converged = step.converged;
    if (step.launches > 0 && entry.waiting_since.empty()) {
      entry.waiting_since = timestamp();
    } else if (step.launches == 0 && !entry.waiting_since.empty()) {
      entry.waiting_since.clear();
      entry.offers.Clear();
      entry.declined.clear();
    }
    for (const auto& id : step.kills)
      kill(entry, id);
    if (step.launches > 0 && suppressed && subscribed) {
      suppressed = false;
      self->send(driver, call::Call::Revive{});
    }
    if (entry.removing && entry.tasks.empty()) {
      AppTerminatedEvent e;
      e.set_app_id(entry.app.id());
      apps.erase(e.app_id()); // `entry` is gone from here on
      publish("app_terminated_event", std::move(e));
    }
    finish_deployments();
  }

  void converge_all() {
    std::vector<std::string> ids;
    for (const auto& [id, entry] : apps)
      ids.push_back(id);
    for (const auto& id : ids)
      if (auto at = apps.find(id); at != apps.end())
        converge(at->second);
  }

  void on_update(const v1::TaskStatus& status) {
    const auto& id = status.task_id().value();
    auto* entry = app_of(id);
    if (!entry) {
      if (!is_terminal(status.state())) {
        // A task of this framework that Marathon does not know (its record
        // was lost in a crash): nothing wants it.
        log->warn("killing unknown task {}", id);
        call::Call::Kill k;
        *k.mutable_task_id() = status.task_id();
        *k.mutable_agent_id() = status.agent_id();
        self->send(driver, std::move(k));
      }
      return;
    }
    auto& task = entry->tasks[id];
    auto state = v1::TaskState_Name(status.state());
    if (task.state() != state)
      publish_status(*entry, task, status);
    bool health_changed = false;
    if (task.health_checked() && status.has_healthy()
        && !is_terminal(status.state()))
      health_changed = note_health(*entry, task, status);
    // A task being killed whose agent turned unreachable cannot say that
    // it ended: it is forgotten (and killed, should it come back).
    bool lost_while_killing
      = task.killing() && status.state() == v1::TASK_UNREACHABLE;
    if (is_terminal(status.state()) || lost_while_killing) {
      if (!task.killing()) {
        note_failure(*entry, task, status);
        if (status.reason()
            == v1::TaskStatus::REASON_TASK_HEALTH_CHECK_STATUS_UPDATED)
          publish_unhealthy_kill(*entry, task, status);
      }
      entry->tasks.erase(id);
      app_of_task.erase(id);
      forget(task_key(id));
    } else if (task.state() != state) {
      task.set_state(state);
      if (status.state() == v1::TASK_UNREACHABLE) {
        task.set_unreachable_since(now());
        watch_unreachable(entry->app);
      } else {
        task.clear_unreachable_since();
        task.clear_inactive();
      }
      if (status.state() == v1::TASK_RUNNING && task.started_at().empty())
        task.set_started_at(timestamp());
      if (status.has_container_status()) {
        task.clear_ip_addresses();
        for (const auto& n : status.container_status().network_infos())
          for (const auto& ip : n.ip_addresses()) {
            auto* a = task.add_ip_addresses();
            a->set_ip_address(ip.ip_address());
            a->set_protocol("IPv4");
          }
      }
      persist(task_key(id), task);
    } else if (health_changed) {
      persist(task_key(id), task);
    }
    converge_soon(entry->app.id());
  }

  // Converges the app once the messages already queued are handled: a
  // burst of status updates (a launch of thousands of tasks) is planned
  // for once, not once per update.
  void converge_soon(const std::string& app_id) {
    dirty.insert(app_id);
    if (dirty.size() == 1)
      self->send(self, converge_atom::value);
  }

  void converge_dirty() {
    auto ids = std::move(dirty);
    dirty.clear();
    for (const auto& id : ids)
      if (auto at = apps.find(id); at != apps.end())
        converge(at->second);
  }

  // Records the executor's health verdict in `status` on `task`; answers
  // whether it changed. Marathon's events: health_status_changed_event on
  // every change, failed_health_check_event when a check failed.
  bool note_health(const app_entry& entry, Task& task,
                   const v1::TaskStatus& status) {
    if (task.health_check_results_size() == 0) {
      auto* fresh = task.add_health_check_results();
      fresh->set_instance_id(task.id());
      fresh->set_task_id(task.id());
      fresh->set_consecutive_failures(0);
    }
    auto& result = *task.mutable_health_check_results(0);
    bool healthy = status.healthy();
    if (result.has_alive() && result.alive() == healthy)
      return false;
    result.set_alive(healthy);
    if (healthy) {
      if (result.first_success().empty())
        result.set_first_success(timestamp());
      result.set_last_success(timestamp());
      result.set_consecutive_failures(0);
    } else {
      result.set_last_failure(timestamp());
      result.set_last_failure_cause(status.message());
      result.set_consecutive_failures(result.consecutive_failures() + 1);
      FailedHealthCheckEvent failed;
      failed.set_app_id(entry.app.id());
      failed.set_task_id(task.id());
      failed.set_instance_id(task.id());
      if (entry.app.health_checks_size() > 0)
        *failed.mutable_health_check() = entry.app.health_checks(0);
      publish("failed_health_check_event", std::move(failed));
    }
    HealthStatusChangedEvent changed;
    changed.set_app_id(entry.app.id());
    changed.set_task_id(task.id());
    changed.set_instance_id(task.id());
    changed.set_version(task.version());
    changed.set_alive(healthy);
    publish("health_status_changed_event", std::move(changed));
    return true;
  }

  void publish_unhealthy_kill(const app_entry& entry, const Task& task,
                              const v1::TaskStatus& status) {
    UnhealthyInstanceKillEvent e;
    e.set_app_id(entry.app.id());
    e.set_task_id(task.id());
    e.set_instance_id(task.id());
    e.set_version(task.version());
    e.set_reason(status.message());
    e.set_host(task.host());
    e.set_slave_id(task.slave_id());
    publish("unhealthy_instance_kill_event", std::move(e));
  }

  // Checks the unreachable tasks again when `app`'s strategy says one may
  // turn inactive or be expunged.
  void watch_unreachable(const App& app) {
    const auto& strategy = app.unreachable_strategy();
    for (double seconds : {strategy.inactive_after_seconds(),
                           strategy.expunge_after_seconds()})
      self->delayed_send(self,
                         std::chrono::duration_cast<caf::timespan>(
                           std::chrono::duration<double>(seconds + 0.001)),
                         unreachable_atom::value);
  }

  // Unreachable tasks past inactiveAfterSeconds are replaced; past
  // expungeAfterSeconds they are forgotten (and killed should they come
  // back, as tasks Marathon does not know).
  void check_unreachable() {
    auto t = now();
    std::vector<std::string> touched;
    for (auto& [id, entry] : apps) {
      const auto& strategy = entry.app.unreachable_strategy();
      std::vector<std::string> expunged;
      for (auto& [task_id, task] : entry.tasks) {
        if (!task.has_unreachable_since())
          continue;
        auto away = t - task.unreachable_since();
        if (away >= strategy.expunge_after_seconds()) {
          expunged.push_back(task_id);
        } else if (away >= strategy.inactive_after_seconds()
                   && !task.inactive()) {
          task.set_inactive(true);
          persist(task_key(task_id), task);
          touched.push_back(id);
        }
      }
      for (const auto& task_id : expunged) {
        log->info("expunging task {}, unreachable for too long", task_id);
        entry.tasks.erase(task_id);
        app_of_task.erase(task_id);
        forget(task_key(task_id));
        touched.push_back(id);
      }
    }
    for (const auto& id : touched)
      if (auto at = apps.find(id); at != apps.end())
        converge(at->second);
  }

  // A task ended that Marathon did not kill: remember why, and hold the
  // next launch back by the app's backoff.
  void note_failure(app_entry& entry, const Task& task,
                    const v1::TaskStatus& status) {
    auto& f = entry.last_failure;
    f.set_app_id(entry.app.id());
    f.set_host(task.host());
    f.set_message(status.message());
    f.set_state(v1::TaskState_Name(status.state()));
    f.set_task_id(task.id());
    f.set_timestamp(timestamp());
    f.set_version(task.version());
    f.set_slave_id(task.slave_id());
    const auto& app = entry.app;
    entry.delay = entry.delay == 0
                    ? app.backoff_seconds()
                    : std::min(entry.delay * app.backoff_factor(),
                               app.max_launch_delay_seconds());
    entry.not_before
      = self->clock().now()
        + std::chrono::duration_cast<caf::timespan>(
          std::chrono::duration<double>(entry.delay));
    log->info("task {} of {} ended ({}); next launch in {:.1f}s", task.id(),
              app.id(), f.state(), entry.delay);
  }

  // -- offers ------------------------------------------------------------------------

  std::vector<placement_site> placed_sites(const app_entry& entry) const {
    std::vector<placement_site> out;
    for (const auto& [id, task] : entry.tasks) {
      if (task.killing())
        continue;
      if (auto site = sites.find(task.slave_id()); site != sites.end()) {
        out.push_back(site->second);
      } else {
        placement_site s;
        s.hostname = task.host();
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  void on_offers(const call::Event::Offers& event) {
    // How many tasks each app may launch now.
    std::map<std::string, int> wanted;
    bool held_back = false; // an app waits for its backoff
    auto now_point = self->clock().now();
    for (auto& [id, entry] : apps) {
      if (entry.removing || held.count(id))
        continue;
      auto step = plan_rollout(entry.app, entry.tasks, false);
      if (step.launches <= 0)
        continue;
      if (now_point < entry.not_before) {
        held_back = true;
        entry.stalled = fmt::format(
          "task failures: next launch held back {:.1f}s (backoff)",
          std::chrono::duration<double>(entry.not_before - now_point).count());
        continue;
      }
      wanted[id] = step.launches;
    }
    for (const auto& offer : event.offers()) {
      sites[offer.agent_id().value()] = placement_site::of(offer);
      auto available = resources::from_proto(offer.resources());
      std::vector<v1::TaskInfo> launches;
      for (auto& [id, count] : wanted) {
        auto& entry = apps[id];
        if (count == 0)
          continue;
        auto launched_before = launches.size();
        std::string declined_for;
        // Where the app's instances are matters only to its constraints.
        std::vector<placement_site> placed;
        if (!entry.constraints.empty())
          placed = placed_sites(entry);
        while (count > 0 && available) {
          auto task_id = app_id_key(id) + "." + uuid();
          auto fit = fit_task(entry.app, entry.constraints, offer, *available,
                              placed, task_id, timestamp());
          if (!fit.fits) {
            entry.stalled = fmt::format("offer from {}: {}", offer.hostname(),
                                        fit.reason);
            declined_for = fit.reason_code;
            break;
          }
          entry.stalled.clear();
          if (!entry.constraints.empty())
            placed.push_back(sites[offer.agent_id().value()]);
          *available -= fit.launch.used;
          app_of_task[task_id] = id;
          persist(task_key(task_id), fit.launch.task);
          entry.tasks[task_id] = std::move(fit.launch.task);
          launches.push_back(std::move(fit.launch.info));
          --count;
        }
        note_offer(entry, launches.size() > launched_before, declined_for);
      }
      if (launches.empty()) {
        call::Call::Decline d;
        *d.add_offer_ids() = offer.id();
        // Offers come back soon while anything waits to launch.
        d.mutable_filters()->set_refuse_seconds(
          wanted.empty() && !held_back ? 120 : 1);
        self->send(driver, std::move(d));
        continue;
      }
      call::Call::Accept a;
      *a.add_offer_ids() = offer.id();
      auto* op = a.add_operations();
      op->set_type(v1::Offer::Operation::LAUNCH);
      for (auto& t : launches)
        *op->mutable_launch()->add_task_infos() = std::move(t);
      a.mutable_filters()->set_refuse_seconds(1);
      self->send(driver, std::move(a));
    }
    // Nothing else changed the apps meanwhile: what is still wanted is
    // what these offers could not take, and what waits for a backoff.
    bool want_more = held_back;
    for (const auto& [id, count] : wanted)
      want_more = want_more || count > 0;
    if (!want_more && !suppressed) {
      suppressed = true;
      self->send(driver, call::Call::Suppress{});
    }
  }

  // Counts an offer `entry` saw while waiting: used, or declined for
  // `reason`.
  void note_offer(app_entry& entry, bool used, const std::string& reason) {
    auto& o = entry.offers;
    o.set_processed_offers_count(o.processed_offers_count() + 1);
    if (used) {
      o.set_last_used_offer_at(timestamp());
      return;
    }
    o.set_unused_offers_count(o.unused_offers_count() + 1);
    o.set_last_unused_offer_at(timestamp());
    if (!reason.empty())
      ++entry.declined[reason];
  }

  std::vector<QueueItem> queue() {
    std::vector<QueueItem> out;
    auto now_point = self->clock().now();
    for (const auto& [id, entry] : apps) {
      if (entry.removing || held.count(id))
        continue;
      auto step = plan_rollout(entry.app, entry.tasks, false);
      if (step.launches <= 0)
        continue;
      QueueItem item;
      *item.mutable_app() = entry.app;
      item.set_count(step.launches);
      auto left = std::max(0.0, std::chrono::duration<double>(
                                  entry.not_before - now_point)
                                  .count());
      item.mutable_delay()->set_time_left_seconds(left);
      item.mutable_delay()->set_overdue(left == 0);
      item.set_since(entry.waiting_since);
      auto* summary = item.mutable_processed_offers_summary();
      *summary = entry.offers;
      summary->set_processed_offers_count(entry.offers.processed_offers_count());
      summary->set_unused_offers_count(entry.offers.unused_offers_count());
      for (const auto& [reason, n] : entry.declined) {
        auto* r = summary->add_reject_summary_last_offers();
        r->set_reason(reason);
        r->set_declined(n);
        r->set_processed(entry.offers.processed_offers_count());
      }
      out.push_back(std::move(item));
    }
    return out;
  }

  caf::result<ok_atom> reset_delay(const std::string& id) {
    auto* entry = live_app(id);
    if (!entry)
      return no_app(id);
    entry->delay = 0;
    entry->not_before = {};
    return ok_atom::value;
  }

  // -- reconciliation ----------------------------------------------------------------

  // A kill can be lost (the master failed over, the agent was cut off);
  // the tasks still being killed are killed again.
  void retry_kills() {
    for (const auto& [id, entry] : apps)
      for (const auto& [task_id, task] : entry.tasks)
        if (task.killing()) {
          call::Call::Kill k;
          k.mutable_task_id()->set_value(task_id);
          k.mutable_agent_id()->set_value(task.slave_id());
          self->send(driver, std::move(k));
        }
  }

  void reconcile() {
    call::Call::Reconcile explicit_tasks;
    for (const auto& [id, entry] : apps)
      for (const auto& [task_id, task] : entry.tasks) {
        auto* t = explicit_tasks.add_tasks();
        t->mutable_task_id()->set_value(task_id);
        t->mutable_agent_id()->set_value(task.slave_id());
      }
    if (explicit_tasks.tasks_size() > 0)
      self->send(driver, std::move(explicit_tasks));
    // Implicit: the master answers for every task it has of this framework,
    // which finds the tasks Marathon does not know.
    self->send(driver, call::Call::Reconcile{});
  }

  void on_subscribed(const call::Event::Subscribed& s) {
    subscribed = true;
    suppressed = false;
    if (s.framework_id().value() != framework_id) {
      framework_id = s.framework_id().value();
      self->request(cfg.store, caf::infinite, put_atom::value,
                    std::string{"framework_id"}, framework_id)
        .then([](ok_atom) {},
              [this](caf::error& err) {
                log->error("cannot store the framework id: {}", describe(err));
              });
    }
    log->info("subscribed as framework {}", framework_id);
    // Offers this framework declined before (a Marathon that restarted
    // declined them for long) are filtered still: ask for all again.
    self->send(driver, call::Call::Revive{});
    reconcile();
    retry_kills();
    converge_all();
  }

  // -- deployments -------------------------------------------------------------------

  std::vector<const Deployment*> deployments_of(const std::string& app_id) {
    std::vector<const Deployment*> out;
    for (const auto& [id, d] : deployments)
      if (std::count(d.plan().affected_apps().begin(),
                     d.plan().affected_apps().end(), app_id))
        out.push_back(&d.plan());
    return out;
  }

  // Refuses a change of `app_id` while a deployment holds it, unless
  // `force`; with `force`, the deployments holding it are cancelled.
  caf::error lock(const std::string& app_id, bool force) {
    auto held = deployments_of(app_id);
    if (held.empty())
      return {};
    if (!force)
      return make_error(
        errc::conflict,
        fmt::format("App is locked by one or more deployments. Override with "
                    "the option '?force=true'. View details at "
                    "'/v2/deployments/{}'.",
                    held.front()->id()));
    std::vector<std::string> ids;
    for (const auto* d : held)
      ids.push_back(d->id());
    for (const auto& id : ids) {
      publish_deployment("deployment_failed", deployments[id].plan());
      deployments.erase(id);
      forget(deployment_key(id));
    }
    recompute_held();
    return {};
  }

  // -- changes -----------------------------------------------------------------------


  // As the app's last converge() found it (every change of its tasks or
  // definition converges it, now or soon).
  bool converged(const std::string& app_id) {
    auto at = apps.find(app_id);
    if (at == apps.end())
      return true; // removed, and its tasks are gone
    return at->second.converged && !dirty.count(app_id);
  }

  // The apps whose deployment step has not come yet: their definitions
  // are in place, but nothing is launched or killed for them.
  void recompute_held() {
    held.clear();
    for (const auto& [id, d] : deployments) {
      const auto& plan = d.plan();
      for (int i = std::max(plan.current_step(), 0); i < plan.steps_size();
           ++i)
        for (const auto& a : plan.steps(i).actions())
          if (a.action() != "StopApplication")
            held.insert(a.app());
    }
  }

  // Moves each deployment past the steps whose apps have converged,
  // releasing the apps of the next step; a deployment past its last step
  // succeeded.
  void finish_deployments() {
    std::vector<std::string> done, released;
    for (auto& [id, record] : deployments) {
      auto& plan = *record.mutable_plan();
      bool advanced = false;
      while (plan.current_step() <= plan.total_steps()) {
        if (plan.current_step() > 0) {
          const auto& step = plan.steps(plan.current_step() - 1);
          if (!std::all_of(step.actions().begin(), step.actions().end(),
                           [this](const DeploymentAction& a) {
                             return converged(a.app());
                           }))
            break;
          publish_deployment("deployment_step_success", plan);
        }
        plan.set_current_step(plan.current_step() + 1);
        advanced = true;
        plan.clear_current_actions();
        if (plan.current_step() <= plan.total_steps()) {
          *plan.mutable_current_actions()
            = plan.steps(plan.current_step() - 1).actions();
          for (const auto& a : plan.current_actions())
            released.push_back(a.app());
        }
      }
      if (plan.current_step() > plan.total_steps())
        done.push_back(id);
      else if (advanced)
        persist(deployment_key(id), record);
    }
    for (const auto& id : done) {
      log->info("deployment {} finished", id);
      auto plan = deployments[id].plan();
      plan.set_current_step(plan.total_steps());
      publish_deployment("deployment_success", plan);
      deployments.erase(id);
      forget(deployment_key(id));
    }
    if (done.empty() && released.empty())
      return;
    recompute_held();
    for (const auto& app_id : released)
      if (auto at = apps.find(app_id); at != apps.end())
        converge(at->second);
  }

  // Turns `change` into one deployment: stamps the definitions with a new
  // version (a config change replaces tasks; an unchanged definition only
  // scales; `restarts` replace their tasks regardless), orders the apps
  // by their dependencies, and commits it. Refused with errc::conflict
  // while another deployment holds an app (unless `force`), with
  // errc::invalid_argument if the dependencies have a cycle.
  caf::result<Deployment> deploy(group_change change, bool force,
                                 const std::set<std::string>& restarts = {}) {
    auto record = plan_change(change, force, restarts);
    if (!record)
      return record.error();
    auto rp = self->make_response_promise<Deployment>();
    commit(std::move(*record), std::move(change.groups), rp);
    return rp;
  }

  // What deploy() commits: the deployment of `change`.
  caf::expected<DeploymentRecord>
  plan_change(group_change& change, bool force,
              const std::set<std::string>& restarts) {
    if (!loaded)
      return not_loaded();
    // The apps after the change, for their dependencies.
    std::map<std::string, App> after;
    for (const auto& [id, entry] : apps)
      if (!entry.removing)
        after[id] = entry.app;
    for (const auto& id : change.removes)
      after.erase(id);
    for (const auto& [id, app] : change.puts)
      after[id] = app;
    auto graph = resolve_dependencies(after, change.groups);
    if (auto cycle = find_cycle(graph); !cycle.empty())
      return make_error(errc::invalid_argument,
                        "Dependency graph has cyclic dependencies: " + cycle);
    std::vector<std::string> touched;
    for (const auto& [id, app] : change.puts)
      touched.push_back(id);
    for (const auto& id : change.removes)
      if (live_app(id))
        touched.push_back(id);
    if (!force)
      for (const auto& id : touched)
        if (auto err = lock(id, false))
          return err;
    for (const auto& id : touched)
      (void)lock(id, true); // (an app being removed is still locked)

    auto version = timestamp();
    DeploymentRecord record;
    auto& plan = *record.mutable_plan();
    plan.set_id(uuid());
    plan.set_version(version);
    std::vector<DeploymentAction> actions;
    for (auto& [id, app] : change.puts) {
      auto* current = live_app(id);
      // A rollback restores a definition with its own config version, so
      // that the tasks still running it are kept; the REST API never sets
      // it.
      auto restored = app.version_info().last_config_change_at();
      auto config_version = restored.empty() ? version : restored;
      app.set_version(version);
      DeploymentAction action;
      action.set_app(id);
      if (current) {
        bool restart = restarts.count(id) > 0;
        *app.mutable_version_info() = current->app.version_info();
        action.set_action("ScaleApplication");
        if (restart || !same_definition(current->app, app)) {
          app.mutable_version_info()->set_last_config_change_at(
            restart ? version : config_version);
          action.set_action("RestartApplication");
        }
        *record.add_previous() = current->app;
      } else {
        app.mutable_version_info()->set_last_config_change_at(config_version);
        action.set_action("StartApplication");
      }
      app.mutable_version_info()->set_last_scaling_at(version);
      *record.add_target() = app;
      actions.push_back(std::move(action));
    }
    for (const auto& id : change.removes) {
      auto* current = live_app(id);
      if (!current)
        continue;
      *record.add_previous() = current->app;
      record.add_removed(id);
      DeploymentAction action;
      action.set_action("StopApplication");
      action.set_app(id);
      actions.push_back(std::move(action));
    }
    std::set<std::string> affected;
    for (const auto& a : actions)
      affected.insert(a.app());
    for (const auto& id : affected)
      plan.add_affected_apps(id);
    for (auto& step : order_steps(actions, graph))
      *plan.add_steps() = std::move(step);
    plan.set_total_steps(plan.steps_size());
    plan.set_current_step(plan.steps_size() > 0 ? 1 : 0);
    if (plan.steps_size() > 0)
      *plan.mutable_current_actions() = plan.steps(0).actions();
    return record;
  }

  // Stores the deployment (the change with it: the point of no return),
  // then installs it and answers.
  void commit(DeploymentRecord record, std::vector<Group> groups_after,
              caf::typed_response_promise<Deployment> rp) {
    auto key = deployment_key(record.plan().id());
    self
      ->request(cfg.store, caf::infinite, put_atom::value, key,
                record.SerializeAsString())
      .then(
        [this, record, groups_after, rp](ok_atom) mutable {
          install(record);
          auto groups_before = std::move(groups);
          groups = std::move(groups_after);
          GroupList list;
          *list.mutable_groups() = {groups.begin(), groups.end()};
          persist("groups", list);
          const auto& d = record.plan();
          keep_group_version(record, groups_before);
          log->info("deployment {}: {} step(s) for {}", d.id(),
                    d.total_steps(),
                    fmt::join(d.affected_apps().begin(),
                              d.affected_apps().end(), ", "));
          rp.deliver(d);
          for (const auto& app : record.target()) {
            ApiPostEvent e;
            e.set_uri("/v2/apps" + app.id());
            *e.mutable_app_definition() = app;
            publish("api_post_event", std::move(e));
          }
          GroupChangeSuccess g;
          g.set_group_id("/");
          g.set_version(d.version());
          publish("group_change_success", std::move(g));
          publish_deployment("deployment_info", d);
          for (const auto& id : d.affected_apps())
            if (auto at = apps.find(id); at != apps.end())
              converge(at->second);
          finish_deployments(); // one with no steps is done
        },
        [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  }

  // Puts the definitions and removals of `record` in place (in memory and
  // under their own keys) and tracks the deployment.
  void install(const DeploymentRecord& record) {
    for (const auto& app : record.target()) {
      auto& entry = apps[app.id()];
      entry.removing = false;
      entry.constraints = constraints_of(app);
      if (entry.app.version_info().last_config_change_at()
          != app.version_info().last_config_change_at()) {
        entry.delay = 0; // a changed app starts without backoff
        entry.not_before = {};
        entry.offers.Clear(); // and with a fresh look at offers
        entry.declined.clear();
      }
      entry.app = app;
      entry.converged = false; // until converge() looks at it
      persist(app_key(app.id()), app);
      keep_version(app);
    }
    for (const auto& id : record.removed()) {
      apps[id].removing = true;
      apps[id].converged = false;
      forget(app_key(id));
      for (const auto& v : versions[id])
        forget(version_key(id, v));
      versions.erase(id);
    }
    deployments[record.plan().id()] = record;
    recompute_held();
  }

  // -- group versions ----------------------------------------------------------------

  static std::string group_version_key(const std::string& version) {
    return "group-versions/" + version;
  }

  // Records the tree after the deployment `record` (installed), which
  // changed the explicit groups from `before`.
  void keep_group_version(const DeploymentRecord& record,
                          const std::vector<Group>& before) {
    std::vector<std::string> changed;
    for (const auto& app : record.target())
      changed.push_back(app.id());
    changed.insert(changed.end(), record.removed().begin(),
                   record.removed().end());
    std::vector<App> live;
    for (auto& [id, app] : live_definitions())
      live.push_back(std::move(app));
    std::vector<std::string> dropped;
    persist(group_version_key(record.plan().version()),
            history.record(record.plan().version(),
                           touched_groups(changed, before, groups), live,
                           groups, &dropped));
    for (const auto& version : dropped)
      forget(group_version_key(version));
  }

  caf::error no_group(const std::string& id) const {
    return make_error(errc::not_found,
                      fmt::format("Group '{}' does not exist", id));
  }

  caf::result<std::vector<std::string>>
  list_group_versions(const std::string& id) {
    if (!loaded)
      return not_loaded();
    auto root = root_group();
    const auto* now = find_group(root, id);
    auto out = history.versions_of(id);
    if (out.empty() && !now)
      return no_group(id);
    if (out.empty())
      out.push_back(now->version());
    return out;
  }

  // Reads the group `id` as it was at `version` (the tree's snapshot, then
  // the definitions its apps had), then calls `on_group(Group)` or
  // `on_error(caf::error)`.
  template <class OnGroup, class OnError>
  void read_group_version(const std::string& id, const std::string& version,
                          OnGroup on_group, OnError on_error) {
    if (!history.has(id, version))
      return on_error(make_error(
        errc::not_found, fmt::format("Group '{}' does not exist in version {}",
                                     id, version)));
    self
      ->request(cfg.store, caf::infinite, get_atom::value,
                group_version_key(version))
      .then(
        [this, id, on_group, on_error](const std::string& bytes) mutable {
          auto kept = std::make_shared<GroupVersion>();
          if (!kept->ParseFromString(bytes))
            return on_error(make_error(errc::io_error,
                                       "a stored group version does not "
                                       "parse"));
          std::vector<AppVersionRef> wanted;
          for (const auto& ref : kept->apps())
            if (in_group(ref.id(), id))
              wanted.push_back(ref);
          auto apps_then = std::make_shared<std::vector<App>>();
          auto failed = std::make_shared<bool>(false);
          auto finish = [kept, apps_then, id, on_group, on_error]() mutable {
            auto root = build_tree(*apps_then, {kept->groups().begin(),
                                                kept->groups().end()});
            stamp_versions(root, {kept->group_versions().begin(),
                                  kept->group_versions().end()});
            const auto* group = find_group(root, id);
            if (!group)
              return on_error(make_error(
                errc::not_found, fmt::format("Group '{}' does not exist", id)));
            on_group(*group);
          };
          if (wanted.empty())
            return finish();
          auto left = std::make_shared<size_t>(wanted.size());
          for (const auto& ref : wanted)
            read_version(
              ref.id(), ref.version(),
              [apps_then, left, failed, finish](App app) mutable {
                apps_then->push_back(std::move(app));
                if (--*left == 0 && !*failed)
                  finish();
              },
              [failed, on_error, ref](caf::error) mutable {
                if (*failed)
                  return;
                *failed = true;
                on_error(make_error(
                  errc::not_found,
                  fmt::format("version {} of app '{}' is no longer kept",
                              ref.version(), ref.id())));
              });
        },
        [on_error](caf::error& err) mutable { on_error(std::move(err)); });
  }

  caf::result<Group> get_group_version(const std::string& id,
                                       const std::string& version) {
    if (!loaded)
      return not_loaded();
    if (!history.has(id, version))
      return make_error(errc::not_found,
                        fmt::format("Group '{}' does not exist in version {}",
                                    id, version));
    auto rp = self->make_response_promise<Group>();
    read_group_version(
      id, version,
      [rp](Group group) mutable { rp.deliver(std::move(group)); },
      [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }

  // PUT /v2/groups/{id} with {"version": ...}: the group as it was then,
  // its apps, groups and dependencies.
  caf::result<Deployment> restore_group_version(const std::string& id,
                                                const std::string& version,
                                                bool force) {
    if (!loaded)
      return not_loaded();
    if (!history.has(id, version))
      return make_error(errc::not_found,
                        fmt::format("Group '{}' does not exist in version {}",
                                    id, version));
    auto rp = self->make_response_promise<Deployment>();
    read_group_version(
      id, version,
      [this, rp, force](Group then) mutable {
        auto change = apply_group_update(restore_update(then),
                                         live_definitions(), groups);
        if (!change) {
          rp.deliver(change.error());
          return;
        }
        auto record = plan_change(*change, force, {});
        if (!record) {
          rp.deliver(record.error());
          return;
        }
        commit(std::move(*record), std::move(change->groups), rp);
      },
      [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }

  // -- app versions ------------------------------------------------------------------

  static constexpr size_t max_versions = 50; // per app, as Marathon keeps

  static std::string version_key(const std::string& id,
                                 const std::string& version) {
    return "versions/" + app_id_key(id) + "/" + version;
  }

  void keep_version(const App& app) {
    auto& list = versions[app.id()];
    if (std::find(list.begin(), list.end(), app.version()) != list.end())
      return;
    list.push_back(app.version());
    persist(version_key(app.id(), app.version()), app);
    while (list.size() > max_versions) {
      forget(version_key(app.id(), list.front()));
      list.erase(list.begin());
    }
  }

  caf::result<std::vector<std::string>> list_versions(const std::string& id) {
    if (!live_app(id))
      return no_app(id);
    const auto& list = versions[id];
    return std::vector<std::string>{list.rbegin(), list.rend()};
  }

  // Whether version `version` of the app `id` is kept.
  caf::error check_version(const std::string& id, const std::string& version) {
    if (!live_app(id))
      return no_app(id);
    const auto& list = versions[id];
    if (std::find(list.begin(), list.end(), version) == list.end())
      return make_error(errc::not_found,
                        fmt::format("App '{}' does not exist in version {}",
                                    id, version));
    return {};
  }

  // Reads a kept version from the store, then calls `on_app(App)` or
  // `on_error(caf::error)`. REQUIRES: check_version() found it.
  template <class OnApp, class OnError>
  void read_version(const std::string& id, const std::string& version,
                    OnApp on_app, OnError on_error) {
    self
      ->request(cfg.store, caf::infinite, get_atom::value,
                version_key(id, version))
      .then(
        [on_app, on_error](const std::string& bytes) mutable {
          App app;
          if (app.ParseFromString(bytes))
            on_app(std::move(app));
          else
            on_error(make_error(errc::io_error,
                                "a stored app version does not parse"));
        },
        [on_error](caf::error& err) mutable { on_error(std::move(err)); });
  }

  caf::result<App> get_version(const std::string& id,
                               const std::string& version) {
    if (auto err = check_version(id, version))
      return err;
    auto rp = self->make_response_promise<App>();
    read_version(
      id, version, [rp](App app) mutable { rp.deliver(std::move(app)); },
      [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }

  // PUT /v2/apps/{id} with {"version": ...}: the app as it was then.
  caf::result<Deployment> restore_version(const std::string& id,
                                          const std::string& version,
                                          bool force) {
    if (!loaded)
      return not_loaded();
    if (auto err = check_version(id, version))
      return err;
    auto rp = self->make_response_promise<Deployment>();
    read_version(
      id, version,
      [this, rp, force](App old) mutable {
        group_change change;
        change.groups = groups;
        change.puts[old.id()] = std::move(old);
        auto record = plan_change(change, force, {});
        if (!record)
          rp.deliver(record.error());
        else
          commit(std::move(*record), std::move(change.groups), rp);
      },
      [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }

  // -- the API -----------------------------------------------------------------------

  caf::result<Deployment> put(App app, bool create, bool force) {
    if (!loaded)
      return not_loaded();
    if (create && live_app(app.id()))
      return make_error(errc::conflict,
                        fmt::format("An app with id [{}] already exists.",
                                    app.id()));
    group_change change;
    change.groups = groups;
    change.puts[app.id()] = std::move(app);
    return deploy(std::move(change), force);
  }

  caf::result<Deployment> remove(const std::string& id, bool force) {
    if (!loaded)
      return not_loaded();
    if (!live_app(id))
      return no_app(id);
    group_change change;
    change.groups = groups;
    change.removes.insert(id);
    return deploy(std::move(change), force);
  }

  caf::result<Deployment> restart(const std::string& id, bool force) {
    if (!loaded)
      return not_loaded();
    auto* current = live_app(id);
    if (!current)
      return no_app(id);
    group_change change;
    change.groups = groups;
    auto app = current->app;
    app.clear_version_info();
    change.puts[id] = std::move(app);
    return deploy(std::move(change), force, {id});
  }

  // -- groups ------------------------------------------------------------------------

  std::map<std::string, App> live_definitions() const {
    std::map<std::string, App> out;
    for (const auto& [id, entry] : apps)
      if (!entry.removing)
        out[id] = entry.app;
    return out;
  }

  Group root_group() const {
    auto root = build_tree(list_apps(), groups);
    history.stamp(root);
    return root;
  }

  caf::result<Deployment> update_group(const GroupUpdate& update, bool create,
                                       bool force) {
    if (!loaded)
      return not_loaded();
    auto root = root_group();
    if (create && update.id() != "/" && find_group(root, update.id()))
      return make_error(errc::conflict,
                        fmt::format("Group {} is already created. Use PUT to "
                                    "change this group.",
                                    update.id()));
    auto change = apply_group_update(update, live_definitions(), groups);
    if (!change)
      return change.error();
    return deploy(std::move(*change), force);
  }

  caf::result<Deployment> remove_group(const std::string& id, bool force) {
    if (!loaded)
      return not_loaded();
    if (id != "/" && !find_group(root_group(), id))
      return make_error(errc::not_found,
                        fmt::format("Group '{}' does not exist", id));
    return deploy(marathon::remove_group(id, live_definitions(), groups),
                  force);
  }

  caf::result<std::vector<Task>> kill_tasks(const std::vector<std::string>& ids,
                                            bool scale) {
    if (!loaded)
      return not_loaded();
    std::vector<Task> out;
    std::set<std::string> touched, scaled;
    for (const auto& id : ids) {
      auto* entry = app_of(id);
      if (!entry || !entry->tasks.count(id) || entry->tasks[id].killing())
        continue;
      out.push_back(entry->tasks[id]);
      kill(*entry, id);
      touched.insert(entry->app.id());
      if (scale && !entry->removing) {
        entry->app.set_instances(std::max(0, entry->app.instances() - 1));
        scaled.insert(entry->app.id());
      }
    }
    for (const auto& id : scaled) {
      auto& app = apps[id].app;
      app.set_version(timestamp());
      app.mutable_version_info()->set_last_scaling_at(app.version());
      persist(app_key(id), app);
      keep_version(app);
    }
    // Without `scale`, the killed tasks are replaced.
    for (const auto& id : touched)
      if (auto at = apps.find(id); at != apps.end())
        converge(at->second);
    return out;
  }

  std::vector<App> list_apps() const {
    std::vector<App> out;
    for (const auto& [id, entry] : apps) {
      if (entry.removing)
        continue;
      App app = entry.app;
      int staged = 0, running = 0, healthy = 0, unhealthy = 0;
      for (const auto& [task_id, task] : entry.tasks) {
        running += task.state() == "TASK_RUNNING";
        if (task.health_check_results_size() > 0
            && task.health_check_results(0).has_alive())
          ++(task.health_check_results(0).alive() ? healthy : unhealthy);
        staged += task.state() == "TASK_STAGING"
                  || task.state() == "TASK_STARTING";
        *app.add_tasks() = task;
      }
      app.set_tasks_staged(staged);
      app.set_tasks_running(running);
      app.set_tasks_healthy(healthy);
      app.set_tasks_unhealthy(unhealthy);
      for (const auto& [d_id, d] : deployments)
        if (std::count(d.plan().affected_apps().begin(),
                       d.plan().affected_apps().end(), id))
          app.add_deployments()->set_id(d_id);
      if (!entry.last_failure.task_id().empty())
        *app.mutable_last_task_failure() = entry.last_failure;
      out.push_back(std::move(app));
    }
    return out;
  }

  std::vector<Deployment> list_deployments() {
    std::vector<Deployment> out;
    for (const auto& [id, d] : deployments) {
      Deployment copy = d.plan();
      std::vector<std::string> why;
      for (const auto& app_id : copy.affected_apps())
        if (auto at = apps.find(app_id);
            at != apps.end() && !at->second.stalled.empty())
          why.push_back(fmt::format("{}: {}", app_id, at->second.stalled));
      copy.set_stalled_because(fmt::format("{}", fmt::join(why, "; ")));
      out.push_back(std::move(copy));
    }
    return out;
  }

  caf::result<Deployment> cancel_deployment(const std::string& id, bool force) {
    if (!loaded)
      return not_loaded();
    auto at = deployments.find(id);
    if (at == deployments.end())
      return make_error(errc::not_found,
                        fmt::format("DeploymentPlan {} does not exist", id));
    DeploymentRecord d = at->second;
    publish_deployment("deployment_failed", d.plan());
    deployments.erase(at);
    forget(deployment_key(id));
    recompute_held();
    if (force)
      return d.plan(); // stopped; the apps keep their definitions
    // Rollback: the apps go back to what they were before it; those it
    // created go.
    group_change change;
    change.groups = groups;
    for (const auto& app_id : d.plan().affected_apps()) {
      auto previous = std::find_if(
        d.previous().begin(), d.previous().end(),
        [&app_id](const App& app) { return app.id() == app_id; });
      if (previous != d.previous().end())
        change.puts[app_id] = *previous;
      else
        change.removes.insert(app_id);
    }
    return deploy(std::move(change), true);
  }
};

} // namespace

marathon_actor spawn_marathon(caf::actor_system& sys, marathon_config cfg) {
  return sys.spawn([cfg = std::move(cfg)](
                     marathon_actor::stateful_pointer<marathon_state> self)
                     -> marathon_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.self = self;
    st.started_at = self->clock().now();
    st.load();
    return {
      [self](put_atom, App& app, bool create, bool force) {
        return self->state.put(std::move(app), create, force);
      },
      [self](erase_atom, const std::string& id, bool force) {
        return self->state.remove(id, force);
      },
      [self](restart_atom, const std::string& id, bool force) {
        return self->state.restart(id, force);
      },
      [self](kill_atom, const std::vector<std::string>& ids, bool scale) {
        return self->state.kill_tasks(ids, scale);
      },
      [self](get_atom, apps_atom) { return self->state.list_apps(); },
      [self](get_atom, deploys_atom) {
        return self->state.list_deployments();
      },
      [self](get_atom, groups_atom) { return self->state.root_group(); },
      [self](put_atom, const GroupUpdate& update, bool create, bool force) {
        return self->state.update_group(update, create, force);
      },
      [self](erase_atom, groups_atom, const std::string& id, bool force) {
        return self->state.remove_group(id, force);
      },
      [self](get_atom, groups_atom, versions_atom, const std::string& id) {
        return self->state.list_group_versions(id);
      },
      [self](get_atom, groups_atom, versions_atom, const std::string& id,
             const std::string& version) {
        return self->state.get_group_version(id, version);
      },
      [self](put_atom, groups_atom, versions_atom, const std::string& id,
             const std::string& version, bool force) {
        return self->state.restore_group_version(id, version, force);
      },
      [self](get_atom, versions_atom, const std::string& id) {
        return self->state.list_versions(id);
      },
      [self](get_atom, versions_atom, const std::string& id,
             const std::string& version) {
        return self->state.get_version(id, version);
      },
      [self](put_atom, versions_atom, const std::string& id,
             const std::string& version, bool force) {
        return self->state.restore_version(id, version, force);
      },
      [self](erase_atom, deploys_atom, const std::string& id, bool force) {
        return self->state.cancel_deployment(id, force);
      },
      [self](get_atom, info_atom) {
        return marathon_info{self->state.framework_id,
                             self->state.subscribed};
      },
      [self](subscribe_atom, events_atom, std::shared_ptr<stream_sink>& sink,
             const std::vector<std::string>& types) {
        self->state.subscribe(std::move(sink), types);
        return ok_atom::value;
      },
      [self](get_atom, queue_atom) { return self->state.queue(); },
      [self](erase_atom, queue_atom, const std::string& id) {
        return self->state.reset_delay(id);
      },
      [self](unreachable_atom) { self->state.check_unreachable(); },
      [self](converge_atom) { self->state.converge_dirty(); },
      [self](kill_atom) {
        auto& st = self->state;
        if (st.subscribed)
          st.retry_kills();
        self->delayed_send(self, st.cfg.kill_retry_interval, kill_atom::value);
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (st.subscribed)
          st.reconcile();
        self->delayed_send(self, st.cfg.reconcile_interval, tick_atom::value);
      },
      // The framework's events.
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
      [self](const call::Event::Failure& f) {
        // An executor's end is followed by its tasks' updates; only a lost
        // agent is news.
        if (!f.has_executor_id())
          self->state.log->warn("agent {} failed", f.agent_id().value());
      },
      [self](const call::Event::Error& e) {
        self->state.log->critical("the master refused Marathon: {}",
                                  e.message());
        self->quit(make_error(errc::conflict, e.message()));
      },
      [](const call::Event::InverseOffers&) {},
      [](const call::Event::RescindInverseOffer&) {},
      [](const call::Event::UpdateOperationStatus&) {},
    };
  });
}

} // namespace dcos::marathon
