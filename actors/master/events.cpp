// The operator event stream (SUBSCRIBE on POST /api/v1, or in process with
// a master_subscriber_actor): the whole state first, then each change.
//
// Events are built only when someone follows the stream: a master nobody
// watches pays one emptiness check per change.
#include <algorithm>
#include <chrono>

#include "dcos/error.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

using v1::master::Event;

caf::result<Event>
master_state::subscribe_events(const master_subscriber_actor& subscriber) {
  if (!recovered)
    return make_error(errc::unavailable,
                      "the master is recovering its registry; retry");
  if (!subscriber)
    return make_error(errc::invalid_argument, "subscribe: no subscriber");
  if (find_subscriber(subscriber.address()) == subscribers.end()) {
    subscribers.emplace(next_subscriber++, subscriber);
    self->monitor(subscriber);
  }
  // Too many (clients or proxies that never close, say): the oldest goes,
  // as in Mesos.
  while (subscribers.size() > cfg.max_operator_event_stream_subscribers) {
    auto oldest = subscribers.begin();
    log->warn("too many operator event subscribers (more than {}): closing "
              "the oldest",
              cfg.max_operator_event_stream_subscribers);
    self->demonitor(oldest->second.address());
    self->send_exit(oldest->second, caf::exit_reason::user_shutdown);
    subscribers.erase(oldest);
  }
  Event event;
  event.set_type(Event::SUBSCRIBED);
  auto* subscribed = event.mutable_subscribed();
  *subscribed->mutable_get_state() = get_state();
  subscribed->set_heartbeat_interval_seconds(
    std::chrono::duration<double>(cfg.framework_heartbeat_interval).count());
  log->info("operator event subscriber added ({} now)", subscribers.size());
  return event;
}

std::map<uint64_t, master_subscriber_actor>::iterator
master_state::find_subscriber(const caf::actor_addr& addr) {
  return std::find_if(subscribers.begin(), subscribers.end(),
                      [&](const auto& s) { return s.second.address() == addr; });
}

void master_state::publish(const Event& event) {
  // One message for all: CAF shares it (copy on write), where a send per
  // follower would copy the event each time (the fan-out benchmark went
  // from 16 s to 0.9 s for 100 followers of 10,000 tasks).
  auto shared = caf::make_message(event);
  for (const auto& [seq, subscriber] : subscribers)
    caf::actor_cast<caf::strong_actor_ptr>(subscriber)
      ->enqueue(self->ctrl(), caf::make_message_id(), shared, self->context());
}

void master_state::record_status(task_record& task, v1::TaskStatus status) {
  // A new state, or a new health result: Minuteman follows the stream and
  // puts only healthy tasks behind a VIP.
  bool new_status = !task.last_status.has_task_id()
                    || task.last_status.state() != status.state()
                    || task.last_status.has_healthy() != status.has_healthy()
                    || task.last_status.healthy() != status.healthy();
  task.last_status = std::move(status);
  // (The simulation found the second case: a retried TASK_RUNNING whose
  // latest_state was TASK_FINISHED ended the task in the master's books
  // with no event, and the cluster view kept it running.)
  if (!new_status && task.state == task.published_state)
    return;
  // A task whose end subscribers were told has nothing new to tell: a
  // retried TASK_RUNNING that arrives after TASK_FINISHED (its
  // latest_state TASK_FINISHED) is not a second end.
  if (is_terminal(task.published_state) && task.state == task.published_state)
    return;
  task.published_state = task.state;
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::TASK_UPDATED);
  auto* updated = event.mutable_task_updated();
  updated->mutable_framework_id()->set_value(task.framework_id);
  *updated->mutable_status() = task.last_status;
  updated->set_state(task.state);
  publish(event);
}

void master_state::task_added(task_record& task) {
  task.published_state = task.state;
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::TASK_ADDED);
  *event.mutable_task_added()->mutable_task() = task.to_proto();
  publish(event);
}

void master_state::framework_changed(const framework_record& fw,
                                     Event::Type type) {
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(type);
  auto entry = framework_entry(fw);
  if (type == Event::FRAMEWORK_ADDED)
    *event.mutable_framework_added()->mutable_framework() = std::move(entry);
  else
    *event.mutable_framework_updated()->mutable_framework() = std::move(entry);
  publish(event);
}

void master_state::framework_removed(const v1::FrameworkInfo& info) {
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::FRAMEWORK_REMOVED);
  *event.mutable_framework_removed()->mutable_framework_info() = info;
  publish(event);
}

void master_state::agent_added(const agent_record& agent) {
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::AGENT_ADDED);
  *event.mutable_agent_added()->mutable_agent() = agent_entry(agent);
  publish(event);
}

void master_state::agent_removed(const std::string& agent_id) {
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::AGENT_REMOVED);
  event.mutable_agent_removed()->mutable_agent_id()->set_value(agent_id);
  publish(event);
}

void master_state::heartbeat_subscribers() {
  if (subscribers.empty())
    return;
  Event event;
  event.set_type(Event::HEARTBEAT);
  publish(event);
}

} // namespace dcos::kernel
