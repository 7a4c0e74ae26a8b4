// The state of the Marathon actor (marathon_actor.hpp): the apps, their
// tasks, the deployments and versions, and what each event and request
// does to them. Private to the actor; its definitions are split by
// purpose: marathon_state.cpp (time, ids, events, the store),
// marathon_load.cpp, marathon_tasks.cpp (status updates, kills,
// reconciliation), marathon_offers.cpp, marathon_readiness.cpp,
// marathon_deployments.cpp (changes and their steps),
// marathon_versions.cpp (app and group versions) and marathon_api.cpp
// (the requests).
//
// Thread-safety: used by its actor only.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/json.hpp>
#include <dcos/logging.hpp>
#include <dcos/offer_answer.hpp>
#include <dcos/resources.hpp>
#include <dcos/task_state.hpp>
#include <dcos/uuid_text.hpp>

#include "app_definition.hpp"
#include "deployment_plan.hpp"
#include "group_history.hpp"
#include "group_tree.hpp"
#include "marathon_actor.hpp"
#include "rollout.hpp"
#include "task_factory.hpp"

namespace dcos::marathon {

using clock_point = caf::actor_clock::time_point;

// An app and what runs of it.
struct app_entry {
  App app; // the definition, with version and version_info
  std::vector<placement_constraint> constraints;
  std::map<std::string, Task> tasks; // not ended, by id
  bool removing = false;             // deleted: its tasks are being killed
  uint32_t failures = 0; // launches that failed in a row (backoff)
  clock_point not_before{};          // no launch before this
  std::string stalled;               // why the last offer did not fit
  bool converged = false;            // what its last plan_rollout said
  TaskFailure last_failure;
  // While the app waits for launches: since when, and what the offers it
  // saw lacked (Marathon's names), for /v2/queue.
  std::string waiting_since;
  ProcessedOffersSummary offers;
  std::map<std::string, int> declined; // by reason
  std::deque<UnusedOffer> unused_offers; // the last ones, newest last
  // The last readiness check of each new task, by task id.
  std::map<std::string, ReadinessCheckResult> readiness;
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
  // The reservations of resident apps' instances, by id.
  std::map<std::string, Reservation> reservations;
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
    auto a = rng(), b = rng(); // in this order: the same ids for a seed
    return uuid_v4_text(a, b);
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
                             to_marathon_json(event));
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
                 const std::vector<std::string>& types);

  void publish_deployment(const std::string& type, const Deployment& d);

  // Marathon's condition of an instance in `state`.
  static std::string condition_of(v1::TaskState state);

  void publish_status(const app_entry& entry, const Task& task,
                      const v1::TaskStatus& status);

  // -- the store ---------------------------------------------------------------------

  static std::string app_key(const std::string& id) {
    return "apps/" + app_id_key(id);
  }
  static std::string task_key(const std::string& id) { return "tasks/" + id; }
  static std::string deployment_key(const std::string& id) {
    return "deployments/" + id;
  }
  static std::string reservation_key(const std::string& id) {
    return "reservations/" + id;
  }

  // Writes in the background: a lost write of a task is repaired by
  // reconciliation (an unknown task is killed, a lost one replaced).
  // `done`, if given, runs once the write has ended, stored or failed.
  void persist(std::string key, const google::protobuf::Message& msg,
               std::function<void()> done = {});

  void forget(std::string key);

  // A write that failed. A fenced store refuses writes with errc::conflict
  // once another Marathon leads: this one must stop at once.
  void store_failed(const std::string& what, const caf::error& err);

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

  void fail_to_load(const std::string& what, const caf::error& err);

  // Each start of Marathon on a store is a new incarnation, recorded
  // before anything else: the ids it makes (tasks, deployments) come from
  // the seed and the incarnation, so that a Marathon restarted with the
  // same seed (as in the simulation) never repeats its predecessor's.
  void load();

  void load_framework_id();

  void load_tasks();

  void load_reservations();

  void load_groups();

  // The versions kept of each app: their keys are enough.
  void load_versions();

  void start();

  // -- tasks -------------------------------------------------------------------------

  app_entry* app_of(const std::string& task_id);

  void kill(app_entry& entry, const std::string& task_id);

  // One safe step toward the definition of `entry`'s app.
  void converge(app_entry& entry);

  void converge_all();

  void on_update(const v1::TaskStatus& status);

  // Converges the app once the messages already queued are handled: a
  // burst of status updates (a launch of thousands of tasks) is planned
  // for once, not once per update.
  void converge_soon(const std::string& app_id);

  void converge_dirty();

  // Records the executor's health verdict in `status` on `task`; answers
  // whether it changed. Marathon's events: health_status_changed_event on
  // every change, failed_health_check_event when a check failed.
  bool note_health(const app_entry& entry, Task& task,
                   const v1::TaskStatus& status);

  void publish_unhealthy_kill(const app_entry& entry, const Task& task,
                              const v1::TaskStatus& status);

  // Checks the unreachable tasks again when `app`'s strategy says one may
  // turn inactive or be expunged.
  void watch_unreachable(const App& app);

  // Unreachable tasks past inactiveAfterSeconds are replaced; past
  // expungeAfterSeconds they are forgotten (and killed should they come
  // back, as tasks Marathon does not know).
  void check_unreachable();

  // A task ended that Marathon did not kill: remember why, and hold the
  // next launch back by the app's backoff.
  void note_failure(app_entry& entry, const Task& task,
                    const v1::TaskStatus& status);

  // -- offers ------------------------------------------------------------------------

  // Where the app's instances are: its tasks, and its suspended
  // reservations.
  std::vector<placement_site> placed_sites(const app_entry& entry) const;

  void on_offers(const call::Event::Offers& event);

  // Counts an offer `entry` saw while waiting: used, or declined for
  // `reason` (then kept among its last unused offers).
  void note_offer(app_entry& entry, const v1::Offer& offer, bool used,
                  const std::string& reason);

  std::vector<QueueItem> queue();

  // -- resident apps (marathon_resident.cpp) -----------------------------------------

  // The role and principal Marathon reserves with.
  std::string reservation_role() const;
  std::string reservation_principal() const;

  // The id of the reservation of this Marathon that `r` belongs to, or "".
  std::string reservation_of(const resource& r) const;

  // How many reservations `app_id` holds (not being released).
  size_t reservations_held(const std::string& app_id) const;

  // Reservation ids are "<app id key>.<uuid>", as Marathon's task ids:
  // the app an unknown reservation was made for.
  std::string new_reservation_id(const std::string& app_id);
  static std::string app_key_of_reservation(const std::string& id);

  // A suspended instance (its reservation, no task running) as
  // /v2/apps/{id}/tasks lists it: no state, its volumes.
  Task suspended_task(const Reservation& r) const;
  std::vector<Task> suspended_tasks(const app_entry& entry) const;

  // Marks `r` to be destroyed and unreserved when an offer holds it
  // (offers are revived for it).
  void release(Reservation& r);
  void release_all(const std::string& app_id);
  // Whether a reservation marked in the last `release_patience` waits
  // for an offer: until then Marathon does not suppress offers. One on an
  // agent that never comes back must not keep offers coming for ever; it
  // is given back whenever an offer holds it.
  bool releasing_any() const;
  static constexpr double release_patience = 600; // seconds

  // Adds to `ops` the DESTROY and UNRESERVE of what `available` holds of
  // reservations being released, or of reservations no record claims
  // whose app is gone, and takes it out of `available`. A reservation no
  // record claims of an app that lives is kept (its record was lost, but
  // its volume may hold the app's data).
  void give_back(const v1::Offer& offer, resources& available,
                 std::vector<v1::Offer::Operation>& ops);

  // The suspended reservations of `entry` that may be relaunched now: the
  // `count` most recently suspended (a task that just ended gets its own
  // reservation back, not an older one a scale down left behind).
  std::set<std::string> relaunchable(const app_entry& entry,
                                     size_t count) const;

  // Notes that the task on reservation `id` ended (it is suspended).
  void suspend_reservation(const std::string& id, const std::string& task_id);

  // Accepts made in answer to offers; those that create reservations are
  // sent once the reservations are stored (a reservation Marathon made
  // but did not record would be given back: its volume lost).
  void send_answers(offer_answers answers,
                    const std::map<std::string, std::vector<std::string>>&
                      new_reservations);

  // Launches up to `count` tasks of the resident app `entry` on `offer`:
  // on its relaunchable reservations there, then on new ones (RESERVE and
  // CREATE added to `ops`, their ids to `created`) while it holds fewer
  // than its instances. Answers how many; `reason_code` says why a new
  // one did not fit.
  int fill_resident(app_entry& entry, int count, const v1::Offer& offer,
                    resources& available, std::vector<placement_site>& placed,
                    std::vector<v1::Offer::Operation>& ops,
                    std::vector<v1::TaskInfo>& launches,
                    std::vector<std::string>& created,
                    std::string& reason_code);

  bool relaunch_on(app_entry& entry, Reservation& r, const v1::Offer& offer,
                   resources& available, std::vector<v1::TaskInfo>& launches);

  bool reserve_and_launch(app_entry& entry, const v1::Offer& offer,
                          resources& available,
                          const std::vector<placement_site>& placed,
                          std::vector<v1::Offer::Operation>& ops,
                          std::vector<v1::TaskInfo>& launches,
                          std::vector<std::string>& created,
                          std::string& reason_code);

  // A task on reservation `id` was launched (the master had it): the
  // reservation exists on its agent.
  void confirm_reservation(const std::string& id);

  // A status of a resident task: any but one of a launch that never
  // happened confirms its reservation. A launch that never happened
  // (TASK_ERROR, TASK_DROPPED, or TASK_GONE from reconciliation: the
  // master never had it) on a reservation not confirmed may have lost its
  // RESERVE and CREATE too: the reservation is released, so that the
  // instance starts afresh elsewhere if need be. Never once confirmed: its
  // volumes may hold data.
  void note_resident_status(const Task& task, const v1::TaskStatus& status);

  // Keeps a launched task (in memory and the store) and queues its launch.
  void record_launch(app_entry& entry, task_launch& launch,
                     std::vector<v1::TaskInfo>& launches);

  // Whether `app` may replace the current definition of its id: Marathon
  // must have a role to reserve with, and a resident app's reserved
  // resources and volumes do not change. errc::invalid_argument if not.
  caf::error check_resident(const App& app) const;

  // -- readiness ---------------------------------------------------------------------

  // Asks the running task `task_id` whether it is ready (its app's
  // readiness check), until it is: then it counts for deployments.
  void check_readiness(const std::string& task_id);

  void note_readiness(const std::string& task_id, int32_t status,
                      const std::string& content_type,
                      const std::string& body, const std::string& error);

  caf::result<ok_atom> reset_delay(const std::string& id);

  // -- reconciliation ----------------------------------------------------------------

  // A kill can be lost (the master failed over, the agent was cut off);
  // the tasks still being killed are killed again.
  void retry_kills();

  void reconcile();

  void on_subscribed(const call::Event::Subscribed& s);

  // -- deployments -------------------------------------------------------------------

  std::vector<const Deployment*> deployments_of(const std::string& app_id);

  // Refuses a change of `app_id` while a deployment holds it, unless
  // `force`; with `force`, the deployments holding it are cancelled.
  caf::error lock(const std::string& app_id, bool force);

  // -- changes -----------------------------------------------------------------------

  // As the app's last converge() found it (every change of its tasks or
  // definition converges it, now or soon).
  bool converged(const std::string& app_id);

  // The apps whose deployment step has not come yet: their definitions
  // are in place, but nothing is launched or killed for them.
  void recompute_held();

  // Moves each deployment past the steps whose apps have converged,
  // releasing the apps of the next step; a deployment past its last step
  // succeeded.
  void finish_deployments();

  // Turns `change` into one deployment: stamps the definitions with a new
  // version (a config change replaces tasks; an unchanged definition only
  // scales; `restarts` replace their tasks regardless), orders the apps
  // by their dependencies, and commits it. Refused with errc::conflict
  // while another deployment holds an app (unless `force`), with
  // errc::invalid_argument if the dependencies have a cycle.
  caf::result<Deployment> deploy(group_change change, bool force,
                                 const std::set<std::string>& restarts = {});

  // deploy() for a change made after the request was answered with a
  // promise (it read the store first): `rp` gets the deployment or why not.
  void deploy_to(group_change change, bool force,
                 caf::typed_response_promise<Deployment> rp);

  // What deploy() commits: the deployment of `change`.
  caf::expected<DeploymentRecord>
  plan_change(group_change& change, bool force,
              const std::set<std::string>& restarts);

  // Stores the deployment (the change with it: the point of no return),
  // then installs it and answers.
  void commit(DeploymentRecord record, std::vector<Group> groups_after,
              caf::typed_response_promise<Deployment> rp);

  // Puts the definitions and removals of `record` in place (in memory and
  // under their own keys) and tracks the deployment.
  void install(const DeploymentRecord& record);

  // -- group versions ----------------------------------------------------------------

  static std::string group_version_key(const std::string& version) {
    return "group-versions/" + version;
  }

  // Records the tree after the deployment `record` (installed), which
  // changed the explicit groups from `before`; `done` runs once that
  // version's write has ended.
  void keep_group_version(const DeploymentRecord& record,
                          const std::vector<Group>& before,
                          std::function<void()> done);

  caf::error no_group(const std::string& id) const;

  caf::error no_group_version(const std::string& id,
                              const std::string& version) const;

  caf::result<std::vector<std::string>>
  list_group_versions(const std::string& id);

  // Reads the group `id` as it was at `version` (the tree's snapshot, then
  // the definitions its apps had), then calls `on_group(Group)` or
  // `on_error(caf::error)`.
  template <class OnGroup, class OnError>
  void read_group_version(const std::string& id, const std::string& version,
                          OnGroup on_group, OnError on_error) {
    if (!history.has(id, version))
      return on_error(no_group_version(id, version));
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
          auto finish = [this, kept, apps_then, id, on_group,
                         on_error]() mutable {
            auto root = build_tree(*apps_then, {kept->groups().begin(),
                                                kept->groups().end()});
            stamp_versions(root, {kept->group_versions().begin(),
                                  kept->group_versions().end()});
            const auto* group = find_group(root, id);
            if (!group)
              return on_error(no_group(id));
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
                                       const std::string& version);

  // PUT /v2/groups/{id} with {"version": ...}: the group as it was then,
  // its apps, groups and dependencies.
  caf::result<Deployment> restore_group_version(const std::string& id,
                                                const std::string& version,
                                                bool force);

  // -- app versions ------------------------------------------------------------------

  static constexpr size_t max_versions = 50; // per app, as Marathon keeps

  static std::string version_key(const std::string& id,
                                 const std::string& version) {
    return "versions/" + app_id_key(id) + "/" + version;
  }

  void keep_version(const App& app);

  caf::result<std::vector<std::string>> list_versions(const std::string& id);

  // Whether version `version` of the app `id` is kept.
  caf::error check_version(const std::string& id, const std::string& version);

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
          if (app.ParseFromString(bytes)) {
            apply_defaults(&app); // as when the app is loaded
            on_app(std::move(app));
          }
          else
            on_error(make_error(errc::io_error,
                                "a stored app version does not parse"));
        },
        [on_error](caf::error& err) mutable { on_error(std::move(err)); });
  }

  caf::result<App> get_version(const std::string& id,
                               const std::string& version);

  // PUT /v2/apps/{id} with {"version": ...}: the app as it was then.
  caf::result<Deployment> restore_version(const std::string& id,
                                          const std::string& version,
                                          bool force);

  // -- the API -----------------------------------------------------------------------

  caf::result<Deployment> put(App app, bool create, bool force);

  caf::result<Deployment> remove(const std::string& id, bool force);

  caf::result<Deployment> restart(const std::string& id, bool force);

  // -- groups ------------------------------------------------------------------------

  std::map<std::string, App> live_definitions() const;

  Group root_group() const;

  caf::result<Deployment> update_group(const GroupUpdate& update, bool create,
                                       bool force);

  caf::result<Deployment> remove_group(const std::string& id, bool force);

  caf::result<std::vector<Task>> kill_tasks(const std::vector<std::string>& ids,
                                            bool scale, bool wipe);

  std::vector<App> list_apps() const;

  std::vector<Deployment> list_deployments();

  caf::result<Deployment> cancel_deployment(const std::string& id, bool force);
};

} // namespace dcos::marathon
