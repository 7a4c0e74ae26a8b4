#include "dcos/cluster_view_actor.hpp"

#include <caf/all.hpp>

#include "dcos/cluster_state.hpp"
#include "dcos/error.hpp"
#include "dcos/logging.hpp"

namespace dcos {

namespace {

using v1::master::Event;

// The events, and internal triggers: (re)connect, the heartbeat watchdog
// and the coalescing timer.
using view_impl = master_subscriber_actor::extend<
  caf::reacts_to<subscribe_atom>, caf::reacts_to<tick_atom, uint64_t>,
  caf::reacts_to<ok_atom>>;

struct view_state {
  static inline const char* name = "dcos.cluster_view";
  view_state() = default; // not an aggregate (see scheduler_driver_actor)
  detector_actor detector;
  cluster_observer_actor observer;
  cluster_view_options opts;
  master_actor master; // the last master found
  v1::MasterInfo leader;
  std::unique_ptr<cluster_state> state;
  bool subscribed = false;
  bool connecting = false;
  bool flush_pending = false;
  uint64_t generation = 0;
  caf::timespan backoff{};
  caf::timespan heartbeat_interval = std::chrono::seconds(15);
  caf::actor_clock::time_point last_heard{};
  uint64_t watchdog = 0;
  std::shared_ptr<spdlog::logger> log = logging::get("cluster_view");
};

using view_self = view_impl::stateful_pointer<view_state>;

void connect(view_self self);

void publish(view_self self) {
  auto& st = self->state;
  st.flush_pending = false;
  cluster_snapshot snapshot;
  snapshot.state = std::make_shared<const v1::master::Response::GetState>(
    st.state->get());
  snapshot.leader = st.leader;
  snapshot.generation = ++st.generation;
  self->send(st.observer, std::move(snapshot));
}

void changed(view_self self) {
  auto& st = self->state;
  if (st.flush_pending)
    return;
  st.flush_pending = true;
  self->delayed_send(self, st.opts.coalesce, ok_atom::value);
}

void arm_watchdog(view_self self) {
  auto& st = self->state;
  st.last_heard = self->clock().now();
  self->delayed_send(self, st.heartbeat_interval, tick_atom::value,
                     ++st.watchdog);
}

void retry(view_self self, const std::string& why) {
  auto& st = self->state;
  st.connecting = false;
  st.log->warn("cannot follow the master: {} (retrying in {}ms)", why,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 st.backoff)
                 .count());
  self->delayed_send(self, st.backoff, subscribe_atom::value);
  st.backoff = std::min(st.backoff * 2, st.opts.max_backoff);
}

void lost(view_self self, const std::string& why) {
  auto& st = self->state;
  if (!st.subscribed)
    return;
  st.log->warn("lost the master's event stream: {}", why);
  st.subscribed = false;
  ++st.watchdog;
  self->send(st.observer, disconnected_atom::value);
  connect(self);
}

std::string reason(view_self self, const caf::error& err) {
  return code_of(err) == static_cast<errc>(0) ? self->system().render(err)
                                              : describe(err);
}

void subscribe(view_self self) {
  auto& st = self->state;
  self
    ->request(st.master, st.opts.request_timeout, subscribe_atom::value,
              caf::actor_cast<master_subscriber_actor>(self))
    .then(
      [self](Event& event) {
        auto& st = self->state;
        st.connecting = false;
        if (event.type() != Event::SUBSCRIBED) {
          retry(self, "the master's first event is not SUBSCRIBED");
          return;
        }
        st.subscribed = true;
        st.backoff = st.opts.min_backoff;
        if (event.subscribed().heartbeat_interval_seconds() > 0)
          st.heartbeat_interval = std::chrono::duration_cast<caf::timespan>(
            std::chrono::duration<double>(
              event.subscribed().heartbeat_interval_seconds()));
        st.state->apply(event);
        st.log->info("following master {} ({} agents, {} tasks)",
                     st.leader.pid(),
                     st.state->get().get_agents().agents_size(),
                     st.state->get().get_tasks().tasks_size());
        arm_watchdog(self);
        publish(self); // at once: the whole state replaces the old one
      },
      [self](caf::error& err) {
        if (code_of(err) == errc::unavailable) {
          // Recovering its registry: ask it again soon, not after backoff.
          auto& st = self->state;
          st.connecting = false;
          self->delayed_send(self, st.opts.min_backoff / 10,
                             subscribe_atom::value);
          return;
        }
        retry(self, "SUBSCRIBE: " + reason(self, err));
      });
}

void ask_leader(view_self self) {
  auto& st = self->state;
  v1::master::Call call;
  call.set_type(v1::master::Call::GET_MASTER);
  self->request(st.master, st.opts.request_timeout, std::move(call))
    .then(
      [self](v1::master::Response& response) {
        self->state.leader = response.get_master().master_info();
        subscribe(self);
      },
      [self](caf::error& err) {
        retry(self, "GET_MASTER: " + reason(self, err));
      });
}

void connect(view_self self) {
  auto& st = self->state;
  if (st.connecting || st.subscribed)
    return;
  st.connecting = true;
  self->request(st.detector, caf::infinite, detect_atom::value, st.master)
    .then(
      [self](master_actor& master) {
        auto& st = self->state;
        if (master != st.master) {
          if (st.master)
            self->demonitor(st.master.address());
          st.master = std::move(master);
          self->monitor(st.master);
        }
        ask_leader(self);
      },
      [self](caf::error& err) {
        retry(self, "detector: " + self->system().render(err));
      });
}

view_impl::behavior_type view(view_self self, detector_actor detector,
                              cluster_observer_actor observer,
                              cluster_view_options opts) {
  auto& st = self->state;
  st.detector = std::move(detector);
  st.observer = std::move(observer);
  st.opts = opts;
  st.backoff = st.opts.min_backoff;
  st.state = std::make_unique<cluster_state>(st.opts.max_completed_tasks);
  self->monitor(st.observer);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.observer.address())
      self->quit();
    else if (st.master && msg.source == st.master.address())
      lost(self, "the link to the master went down");
  });
  connect(self);
  return {
    [self](const Event& event) {
      auto& st = self->state;
      // Only the master we follow counts: a deposed one may still send.
      if (!st.subscribed || !st.master
          || caf::actor_cast<caf::actor_addr>(self->current_sender())
               != st.master.address())
        return;
      st.last_heard = self->clock().now();
      if (event.type() == Event::SUBSCRIBED) {
        st.state->apply(event);
        publish(self);
      } else if (st.state->apply(event)) {
        changed(self);
      }
    },
    [self](subscribe_atom) { connect(self); },
    [self](ok_atom) {
      if (self->state.flush_pending)
        publish(self);
    },
    [self](tick_atom, uint64_t watchdog) {
      auto& st = self->state;
      if (watchdog != st.watchdog || !st.subscribed)
        return;
      auto silent = self->clock().now() - st.last_heard;
      if (silent >= st.heartbeat_interval * st.opts.missed_heartbeats) {
        lost(self, "no event for " + std::to_string(st.opts.missed_heartbeats)
                     + " heartbeat intervals");
        return;
      }
      self->delayed_send(self, st.heartbeat_interval, tick_atom::value,
                         ++st.watchdog);
    },
  };
}

} // namespace

master_subscriber_actor spawn_cluster_view(caf::actor_system& sys,
                                           detector_actor detector,
                                           cluster_observer_actor observer,
                                           cluster_view_options opts) {
  return caf::actor_cast<master_subscriber_actor>(
    sys.spawn(view, std::move(detector), std::move(observer), opts));
}

} // namespace dcos
