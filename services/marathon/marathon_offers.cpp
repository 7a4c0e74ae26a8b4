#include "marathon_state.hpp"

#include <optional>

#include <dcos/offer_answer.hpp>

namespace dcos::marathon {

std::vector<placement_site>
marathon_state::placed_sites(const app_entry& entry) const {
  std::vector<placement_site> out;
  auto add = [&](const std::string& agent_id, const std::string& host) {
    if (auto site = sites.find(agent_id); site != sites.end()) {
      out.push_back(site->second);
    } else {
      placement_site s;
      s.hostname = host;
      out.push_back(std::move(s));
    }
  };
  for (const auto& [id, task] : entry.tasks)
    if (!task.killing())
      add(task.slave_id(), task.host());
  for (const auto& [id, r] : reservations)
    if (r.app_id() == entry.app.id() && !r.releasing()
        && !entry.tasks.count(r.task_id()))
      add(r.agent_id(), r.host());
  return out;
}

void marathon_state::on_offers(const call::Event::Offers& event) {
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
  std::map<std::string, std::vector<std::string>> created; // by offer id
  auto fill = [&](const v1::Offer& offer, resources& available,
                  std::vector<v1::Offer::Operation>& ops) {
    sites[offer.agent_id().value()] = placement_site::of(offer);
    give_back(offer, available, ops);
    std::vector<v1::TaskInfo> launches;
    // What plain launches may take: `available` without the reservations
    // that carry labels (a resident instance's, another framework's on the
    // same role), which Marathon leaves alone. Made once per offer, kept in
    // step with plain launches, made again after a resident fill.
    std::optional<resources> unclaimed;
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
      if (is_resident(entry.app)) {
        count -= fill_resident(entry, count, offer, available, placed, ops,
                               launches, created[offer.id().value()],
                               declined_for);
        unclaimed.reset();
        note_offer(entry, offer, launches.size() > launched_before,
                   declined_for);
        continue;
      }
      if (!unclaimed)
        unclaimed = available.filter([](const resource& r) {
          return !r.is_dynamically_reserved()
                 || r.reservations.back().labels.empty();
        });
      while (count > 0) {
        auto task_id = app_id_key(id) + "." + uuid();
        auto fit = fit_task(entry.app, entry.constraints, offer, *unclaimed,
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
        available -= fit.launch.used;
        *unclaimed -= fit.launch.used;
        record_launch(entry, fit.launch, launches);
        --count;
      }
      note_offer(entry, offer, launches.size() > launched_before,
                 declined_for);
    }
    return launches;
  };
  // Nothing else changed the apps meanwhile: what is still wanted is
  // what these offers could not take, and what waits for a backoff.
  auto want_more = [&] {
    bool more = held_back;
    for (const auto& [id, count] : wanted)
      more = more || count > 0;
    return more;
  };
  send_answers(answer_offers(event.offers(), fill, want_more), created);
  // Reservations being released need offers of their agents.
  if (!want_more() && !suppressed && !releasing_any()) {
    suppressed = true;
    self->send(driver, call::Call::Suppress{});
  }
}

namespace {

constexpr size_t kept_unused_offers = 10; // per app

QueueOfferRange range_of(const v1::Value::Range& r) {
  QueueOfferRange out;
  out.set_begin(static_cast<double>(r.begin()));
  out.set_end(static_cast<double>(r.end()));
  return out;
}

// The offer as Marathon's queue shows it.
QueueOffer short_form(const v1::Offer& offer) {
  QueueOffer out;
  out.set_id(offer.id().value());
  out.set_agent_id(offer.agent_id().value());
  out.set_hostname(offer.hostname());
  for (const auto& r : offer.resources()) {
    auto* res = out.add_resources();
    res->set_name(r.name());
    res->set_role(r.reservations().empty()
                    ? std::string{"*"}
                    : r.reservations(r.reservations_size() - 1).role());
    if (r.has_scalar())
      res->set_scalar(r.scalar().value());
    for (const auto& range : r.ranges().range())
      *res->add_ranges() = range_of(range);
    *res->mutable_set() = r.set().item();
  }
  for (const auto& a : offer.attributes()) {
    auto* attr = out.add_attributes();
    attr->set_name(a.name());
    if (a.has_scalar())
      attr->set_scalar(a.scalar().value());
    for (const auto& range : a.ranges().range())
      *attr->add_ranges() = range_of(range);
    *attr->mutable_set() = a.set().item();
    if (a.has_text())
      attr->set_text(a.text().value());
  }
  return out;
}

} // namespace

void marathon_state::note_offer(app_entry& entry, const v1::Offer& offer,
                                bool used, const std::string& reason) {
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
  UnusedOffer unused;
  *unused.mutable_offer() = short_form(offer);
  if (!reason.empty())
    unused.add_reason(reason);
  unused.set_timestamp(o.last_unused_offer_at());
  entry.unused_offers.push_back(std::move(unused));
  if (entry.unused_offers.size() > kept_unused_offers)
    entry.unused_offers.pop_front();
}

std::vector<QueueItem> marathon_state::queue() {
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
    *item.mutable_last_unused_offers() = {entry.unused_offers.begin(),
                                          entry.unused_offers.end()};
    out.push_back(std::move(item));
  }
  return out;
}

caf::result<ok_atom> marathon_state::reset_delay(const std::string& id) {
  auto* entry = live_app(id);
  if (!entry)
    return no_app(id);
  entry->failures = 0;
  entry->not_before = {};
  return ok_atom::value;
}

} // namespace dcos::marathon
