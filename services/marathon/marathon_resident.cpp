// Resident apps: instances that live on reservations and persistent
// volumes of one agent each, as Marathon runs apps with local persistent
// volumes. An instance's first launch RESERVEs its resources to
// Marathon's role (labelled with the framework and the reservation id),
// CREATEs its volumes and launches on both; every later launch of it
// (after a failure, a kill, a scale down and up, an upgrade) waits for an
// offer that holds that reservation: its agent's. Only removing the app,
// or wiping the instance, gives the reservation back: DESTROY and
// UNRESERVE when an offer holds it.
#include "marathon_state.hpp"

#include <regex>

#include <dcos/persistent_volume.hpp>

namespace dcos::marathon {

namespace {

// The labels of Marathon's reservations, as Marathon names them.
constexpr const char* framework_label = "marathon_framework_id";
constexpr const char* reservation_label_key = "marathon_task_id";

volume_disk disk_kind(const PersistentVolumeInfo& p) {
  if (p.type() == "mount")
    return volume_disk::mount;
  return p.type() == "path" ? volume_disk::path : volume_disk::root;
}

// Whether `disk` meets the volume's constraints on its path (REQUIRES:
// valid ones: ["path", "LIKE"|"UNLIKE", regex]).
bool meets(const PersistentVolumeInfo& p, const resource& disk) {
  auto path = disk_path(disk);
  for (const auto& c : p.constraints()) {
    const auto& parts = c.values();
    bool like = std::regex_match(path, std::regex{parts[2].string_value()});
    if (like != (parts[1].string_value() == "LIKE"))
      return false;
  }
  return true;
}

} // namespace

std::string marathon_state::reservation_role() const {
  return cfg.framework.roles_size() > 0 ? cfg.framework.roles(0)
                                        : std::string{"*"};
}

std::string marathon_state::reservation_principal() const {
  return cfg.framework.principal().empty() ? cfg.framework.name()
                                           : cfg.framework.principal();
}

std::string marathon_state::reservation_of(const resource& r) const {
  if (!r.is_dynamically_reserved() || r.role() != reservation_role()
      || reservation_label(r, framework_label) != framework_id)
    return {};
  return reservation_label(r, reservation_label_key);
}

std::string marathon_state::new_reservation_id(const std::string& app_id) {
  return app_id_key(app_id) + "." + uuid();
}

std::string marathon_state::app_key_of_reservation(const std::string& id) {
  auto dot = id.rfind('.');
  return dot == std::string::npos ? std::string{} : id.substr(0, dot);
}

size_t marathon_state::reservations_held(const std::string& app_id) const {
  size_t n = 0;
  for (const auto& [id, r] : reservations)
    n += r.app_id() == app_id && !r.releasing();
  return n;
}

Task marathon_state::suspended_task(const Reservation& r) const {
  Task t;
  t.set_id(r.task_id());
  t.set_app_id(r.app_id());
  t.set_host(r.host());
  t.set_slave_id(r.agent_id());
  *t.mutable_ports() = r.ports();
  *t.mutable_local_volumes() = r.local_volumes();
  return t;
}

std::vector<Task>
marathon_state::suspended_tasks(const app_entry& entry) const {
  std::vector<Task> out;
  for (const auto& [id, r] : reservations)
    if (r.app_id() == entry.app.id() && !r.releasing()
        && !entry.tasks.count(r.task_id()))
      out.push_back(suspended_task(r));
  return out;
}

void marathon_state::release(Reservation& r) {
  if (r.releasing())
    return;
  log->info("releasing reservation {} of {} on agent {}", r.id(), r.app_id(),
            r.agent_id());
  r.set_releasing(true);
  r.set_releasing_since(now());
  persist(reservation_key(r.id()), r);
  if (suppressed && subscribed) {
    suppressed = false;
    self->send(driver, call::Call::Revive{});
  }
}

void marathon_state::release_all(const std::string& app_id) {
  for (auto& [id, r] : reservations)
    if (r.app_id() == app_id)
      release(r);
}

bool marathon_state::releasing_any() const {
  auto t = now();
  for (const auto& [id, r] : reservations)
    if (r.releasing() && t - r.releasing_since() < release_patience)
      return true;
  return false;
}

void marathon_state::give_back(const v1::Offer& offer, resources& available,
                               std::vector<v1::Offer::Operation>& ops) {
  std::set<std::string> ids, kept;
  auto unclaimed = available.filter([&](const resource& r) {
    auto id = reservation_of(r);
    if (id.empty())
      return false;
    if (auto at = reservations.find(id); at != reservations.end()) {
      if (!at->second.releasing())
        return false;
    } else {
      auto key = app_key_of_reservation(id);
      for (const auto& [app_id, entry] : apps)
        if (!entry.removing && app_id_key(app_id) == key) {
          kept.insert(id);
          return false;
        }
    }
    ids.insert(id);
    return true;
  });
  for (const auto& id : kept)
    log->warn("keeping reservation {} on agent {}: no record claims it, but "
              "its app lives (its volumes may hold the app's data); DESTROY "
              "and UNRESERVE it by hand if it is not needed",
              id, offer.agent_id().value());
  if (unclaimed.empty())
    return;
  for (auto& op : release_operations(unclaimed))
    ops.push_back(std::move(op));
  available -= unclaimed;
  for (const auto& id : ids) {
    log->info("destroying and unreserving reservation {} on agent {}", id,
              offer.agent_id().value());
    if (reservations.erase(id) > 0)
      forget(reservation_key(id));
  }
}

void marathon_state::record_launch(app_entry& entry, task_launch& launch,
                                   std::vector<v1::TaskInfo>& launches) {
  const auto& task_id = launch.task.id();
  app_of_task[task_id] = entry.app.id();
  persist(task_key(task_id), launch.task);
  entry.tasks[task_id] = std::move(launch.task);
  launches.push_back(std::move(launch.info));
}

std::set<std::string> marathon_state::relaunchable(const app_entry& entry,
                                                   size_t count) const {
  std::vector<const Reservation*> suspended;
  for (const auto& [id, r] : reservations)
    if (r.app_id() == entry.app.id() && !r.releasing()
        && !entry.tasks.count(r.task_id()))
      suspended.push_back(&r);
  std::sort(suspended.begin(), suspended.end(),
            [](const Reservation* a, const Reservation* b) {
              return a->suspended_at() != b->suspended_at()
                       ? a->suspended_at() > b->suspended_at()
                       : a->id() < b->id();
            });
  std::set<std::string> out;
  for (size_t i = 0; i < suspended.size() && i < count; ++i)
    out.insert(suspended[i]->id());
  return out;
}

void marathon_state::suspend_reservation(const std::string& id,
                                         const std::string& task_id) {
  auto at = reservations.find(id);
  if (at == reservations.end() || at->second.task_id() != task_id)
    return;
  at->second.set_suspended_at(now());
  persist(reservation_key(id), at->second);
}

void marathon_state::send_answers(
  offer_answers answers,
  const std::map<std::string, std::vector<std::string>>& new_reservations) {
  for (auto& accept : answers.accepts) {
    auto made = new_reservations.find(accept.offer_ids(0).value());
    if (made == new_reservations.end() || made->second.empty()) {
      self->send(driver, std::move(accept));
      continue;
    }
    auto left = std::make_shared<size_t>(made->second.size());
    auto stored = std::make_shared<bool>(true);
    auto shared = std::make_shared<call::Call::Accept>(std::move(accept));
    for (const auto& id : made->second) {
      auto at = reservations.find(id);
      if (at == reservations.end()) {
        *stored = false;
        if (--*left == 0)
          log->error("not accepting offer {}: a reservation made for it is "
                     "gone", shared->offer_ids(0).value());
        continue;
      }
      self->request(cfg.store, caf::infinite, put_atom::value,
                    reservation_key(id), at->second.SerializeAsString())
        .then(
          [this, left, stored, shared](ok_atom) {
            if (--*left > 0)
              return;
            if (*stored)
              self->send(driver, std::move(*shared));
          },
          [this, left, stored, shared, id](caf::error& err) {
            // Not sent: the launches never reach the master, and
            // reconciliation ends them (the reservation is released then).
            *stored = false;
            store_failed(reservation_key(id), err);
            if (--*left == 0)
              log->error("not accepting offer {}: reservation {} could not "
                         "be stored",
                         shared->offer_ids(0).value(), id);
          });
    }
  }
  if (answers.decline.offer_ids_size() > 0)
    self->send(driver, std::move(answers.decline));
}

void marathon_state::confirm_reservation(const std::string& id) {
  auto at = reservations.find(id);
  if (at == reservations.end() || at->second.confirmed())
    return;
  at->second.set_confirmed(true);
  persist(reservation_key(id), at->second);
}

void marathon_state::note_resident_status(const Task& task,
                                          const v1::TaskStatus& status) {
  // Refused, dropped, or unknown to the master (its launch was lost on
  // the way): the launch never happened.
  bool never_launched
    = status.state() == v1::TASK_ERROR || status.state() == v1::TASK_DROPPED
      || (status.state() == v1::TASK_GONE
          && status.reason() == v1::TaskStatus::REASON_RECONCILIATION);
  if (!never_launched) {
    confirm_reservation(task.reservation_id());
    return;
  }
  auto at = reservations.find(task.reservation_id());
  if (at == reservations.end() || at->second.confirmed()
      || at->second.task_id() != task.id())
    return;
  log->warn("the first launch on reservation {} did not happen ({}): it is "
            "released",
            at->first, status.message());
  release(at->second);
}

bool marathon_state::relaunch_on(app_entry& entry, Reservation& r,
                                 const v1::Offer& offer, resources& available,
                                 std::vector<v1::TaskInfo>& launches) {
  auto ours = available.filter(
    [&](const resource& x) { return reservation_of(x) == r.id(); });
  resources volumes;
  for (const auto& v : r.local_volumes()) {
    auto volume = take_volume(ours, v.persistence_id());
    if (!volume) {
      entry.stalled = fmt::format(
        "offer from {}: volume {} of reservation {} is not in it",
        offer.hostname(), v.persistence_id(), r.id());
      return false;
    }
    volumes += *volume;
  }
  // The reservation holds what the definition needs (its resources can
  // not change): take it whatever roles the app accepts otherwise.
  App app = entry.app;
  app.clear_accepted_resource_roles();
  auto task_id = app_id_key(entry.app.id()) + "." + uuid();
  auto fit = fit_task(app, {}, offer, ours, {}, task_id, timestamp());
  if (!fit.fits) {
    entry.stalled = fmt::format("offer from {}: reservation {}: {}",
                                offer.hostname(), r.id(), fit.reason);
    return false;
  }
  available -= fit.launch.used;
  available -= volumes;
  volumes.to_proto(fit.launch.info.mutable_resources());
  auto& task = fit.launch.task;
  task.set_reservation_id(r.id());
  *task.mutable_local_volumes() = r.local_volumes();
  r.set_task_id(task_id);
  r.set_agent_id(offer.agent_id().value());
  r.set_host(offer.hostname());
  r.set_confirmed(true); // the offer holds it
  persist(reservation_key(r.id()), r);
  record_launch(entry, fit.launch, launches);
  return true;
}

bool marathon_state::reserve_and_launch(
  app_entry& entry, const v1::Offer& offer, resources& available,
  const std::vector<placement_site>& placed,
  std::vector<v1::Offer::Operation>& ops,
  std::vector<v1::TaskInfo>& launches, std::vector<std::string>& created,
  std::string& reason_code) {
  auto pool = available.filter(
    [](const resource& x) { return !x.is_reserved() && !x.revocable; });
  auto task_id = app_id_key(entry.app.id()) + "." + uuid();
  auto fit = fit_task(entry.app, entry.constraints, offer, pool, placed,
                      task_id, timestamp());
  if (!fit.fits) {
    entry.stalled = fmt::format("offer from {}: {}", offer.hostname(),
                                fit.reason);
    reason_code = fit.reason_code;
    return false;
  }
  Reservation r;
  r.set_id(new_reservation_id(entry.app.id()));
  r.set_app_id(entry.app.id());
  r.set_agent_id(offer.agent_id().value());
  r.set_host(offer.hostname());
  r.set_task_id(task_id);
  *r.mutable_ports() = fit.launch.task.ports();
  reservation level;
  level.type = reservation::kind::dynamic_reservation;
  level.role = reservation_role();
  level.principal = reservation_principal();
  level.labels = {{framework_label, framework_id},
                  {reservation_label_key, r.id()}};
  auto left = pool - fit.launch.used;
  auto to_reserve = fit.launch.used.push_reservation(level);
  auto task_resources = to_reserve;
  resources disks, volumes;
  for (const auto& v : entry.app.container().volumes()) {
    if (!v.has_persistent())
      continue;
    const auto& p = v.persistent();
    auto disk = take_new_volume_disk(
      left, p.size(), disk_kind(p), p.max_size(),
      [&p](const resource& d) { return meets(p, d); });
    if (!disk) {
      entry.stalled = fmt::format(
        "offer from {}: no {} disk of {} MiB for volume '{}'",
        offer.hostname(), p.type(), p.size(), v.container_path());
      reason_code = "InsufficientDisk";
      return false;
    }
    disks += *disk;
    auto reserved = *disk;
    reserved.reservations.push_back(level);
    to_reserve += reserved;
    auto* local = r.add_local_volumes();
    local->set_container_path(v.container_path());
    local->set_persistence_id(fmt::format(
      "{}#{}#{}", app_id_key(entry.app.id()), v.container_path(), uuid()));
    auto volume = with_volume(reserved, local->persistence_id(),
                              level.principal, v.container_path());
    volumes += volume;
    task_resources += volume;
  }
  ops.emplace_back().set_type(v1::Offer::Operation::RESERVE);
  to_reserve.to_proto(ops.back().mutable_reserve()->mutable_resources());
  if (!volumes.empty()) {
    ops.emplace_back().set_type(v1::Offer::Operation::CREATE);
    volumes.to_proto(ops.back().mutable_create()->mutable_volumes());
  }
  available -= fit.launch.used;
  available -= disks;
  auto& info = fit.launch.info;
  info.clear_resources();
  task_resources.to_proto(info.mutable_resources());
  fit.launch.task.set_reservation_id(r.id());
  *fit.launch.task.mutable_local_volumes() = r.local_volumes();
  log->info("reserving {} on agent {} for an instance of {}", r.id(),
            r.agent_id(), r.app_id());
  created.push_back(r.id()); // stored before the offer is accepted
  reservations[r.id()] = std::move(r);
  record_launch(entry, fit.launch, launches);
  return true;
}

int marathon_state::fill_resident(app_entry& entry, int count,
                                  const v1::Offer& offer,
                                  resources& available,
                                  std::vector<placement_site>& placed,
                                  std::vector<v1::Offer::Operation>& ops,
                                  std::vector<v1::TaskInfo>& launches,
                                  std::vector<std::string>& created,
                                  std::string& reason_code) {
  int launched = 0;
  const auto& agent = offer.agent_id().value();
  // Suspended instances first, each where its reservation is: an offer
  // that holds it (its agent, under a new id after a reboot).
  std::set<std::string> offered;
  for (const auto& r : available)
    if (auto id = reservation_of(r); !id.empty())
      offered.insert(id);
  bool elsewhere = false;
  auto eligible = relaunchable(entry, static_cast<size_t>(count));
  for (const auto& id : eligible) {
    if (count == 0)
      break;
    auto& r = reservations[id];
    if (!offered.count(id)) {
      elsewhere = true;
      continue;
    }
    if (relaunch_on(entry, r, offer, available, launches)) {
      --count;
      ++launched;
    }
  }
  // New instances only while the app holds fewer reservations than it has
  // instances: a task being killed keeps its reservation for its
  // replacement, and a scaled-down app keeps its suspended ones.
  while (count > 0
         && reservations_held(entry.app.id())
              < static_cast<size_t>(entry.app.instances())) {
    if (!reserve_and_launch(entry, offer, available, placed, ops, launches,
                            created, reason_code))
      break;
    if (!entry.constraints.empty())
      placed.push_back(sites[agent]);
    --count;
    ++launched;
  }
  if (launched == 0 && count > 0 && elsewhere && reason_code.empty())
    entry.stalled = fmt::format(
      "waiting for offers of the agents where the app's reserved instances "
      "and their volumes are");
  else if (launched > 0)
    entry.stalled.clear();
  return launched;
}

caf::error marathon_state::check_resident(const App& app) const {
  if (is_resident(app) && reservation_role() == "*")
    return make_error(errc::invalid_argument,
                      "/: Resident apps cannot have the role *: Marathon "
                      "reserves their resources to its role (--mesos_role)");
  if (auto current = apps.find(app.id());
      current != apps.end() && !current->second.removing)
    if (auto bad = resident_update_violations(current->second.app, app);
        !bad.empty())
      return make_error(errc::invalid_argument, fmt::format("{}: {}",
                                                            bad[0].path,
                                                            bad[0].message));
  return {};
}

} // namespace dcos::marathon
