#include "dcos/scheduler_driver_actor.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/logging.hpp"
#include "dcos/scheduler_actor.hpp"

namespace dcos {

namespace {

// The calls, the master's events (scheduler_actor), and internal triggers:
// (re)connect, subscribe again to a recovering master, and the heartbeat
// watchdog.
using driver_impl = scheduler_driver_actor::extend<
  caf::reacts_to<call::Event::Offers>, caf::reacts_to<call::Event::Rescind>,
  caf::reacts_to<call::Event::Update>, caf::reacts_to<call::Event::Message>,
  caf::reacts_to<call::Event::Failure>, caf::reacts_to<call::Event::Error>,
  caf::reacts_to<call::Event::Heartbeat>,
  caf::reacts_to<call::Event::InverseOffers>,
  caf::reacts_to<call::Event::RescindInverseOffer>,
  caf::reacts_to<call::Event::UpdateOperationStatus>,
  caf::reacts_to<subscribe_atom>, caf::reacts_to<subscribe_atom, master_actor>,
  caf::reacts_to<tick_atom, uint64_t>>;

struct driver_state {
  static inline const char* name = "dcos.scheduler_driver";
  // Not an aggregate: CAF would otherwise try to build the state from the
  // actor pointer (C++20 parenthesized aggregate initialization).
  driver_state() = default;
  framework_actor framework;
  v1::FrameworkInfo info;
  detector_actor detector;
  scheduler_options opts;
  master_actor master;      // the last master found
  bool subscribed = false;
  bool connecting = false;
  caf::timespan backoff{};
  caf::timespan heartbeat_interval = std::chrono::seconds(15);
  caf::actor_clock::time_point last_heard{};
  uint64_t watchdog = 0;
  std::shared_ptr<spdlog::logger> log = logging::get("scheduler");
};

using driver_self = driver_impl::stateful_pointer<driver_state>;

void connect(driver_self self);

void arm_watchdog(driver_self self) {
  auto& st = self->state;
  st.last_heard = self->clock().now();
  self->delayed_send(self, st.heartbeat_interval, tick_atom::value,
                     ++st.watchdog);
}

// The master is gone (or silent): tell the framework, look for it again.
void lost(driver_self self, const std::string& why) {
  auto& st = self->state;
  if (!st.subscribed)
    return;
  st.log->warn("lost the master framework_id={}: {}", st.info.id().value(),
               why);
  st.subscribed = false;
  ++st.watchdog; // the old watchdog stops
  self->send(st.framework, disconnected_atom::value);
  connect(self);
}

void retry(driver_self self, const std::string& why) {
  auto& st = self->state;
  st.connecting = false;
  st.log->warn("cannot subscribe: {} (retrying in {}ms)", why,
               std::chrono::duration_cast<std::chrono::milliseconds>(st.backoff)
                 .count());
  self->delayed_send(self, st.backoff, subscribe_atom::value);
  st.backoff = std::min(st.backoff * 2, st.opts.max_backoff);
}

void subscribe(driver_self self, master_actor master) {
  auto& st = self->state;
  if (master != st.master) {
    if (st.master)
      self->demonitor(st.master.address());
    st.master = master;
    self->monitor(st.master);
  }
  call::Call::Subscribe call;
  *call.mutable_framework_info() = st.info;
  for (const auto& role : st.opts.suppressed_roles)
    call.add_suppressed_roles(role);
  self
    ->request(master, st.opts.subscribe_timeout, subscribe_atom::value,
              caf::actor_cast<scheduler_actor>(self), std::move(call))
    .then(
      [self](call::Event::Subscribed& subscribed) {
        auto& st = self->state;
        st.connecting = false;
        st.subscribed = true;
        st.backoff = st.opts.min_backoff;
        *st.info.mutable_id() = subscribed.framework_id();
        if (subscribed.heartbeat_interval_seconds() > 0)
          st.heartbeat_interval = std::chrono::duration_cast<caf::timespan>(
            std::chrono::duration<double>(
              subscribed.heartbeat_interval_seconds()));
        arm_watchdog(self);
        st.log->info("subscribed framework_id={}", st.info.id().value());
        self->send(st.framework, std::move(subscribed));
      },
      [self](caf::error& err) {
        auto code = code_of(err);
        if (code == errc::invalid_argument || code == errc::conflict) {
          // The master will not take us: say why and end.
          call::Event::Error error;
          error.set_message(describe_reason(err));
          self->send(self->state.framework, std::move(error));
          self->quit(err);
          return;
        }
        if (code == errc::unavailable) {
          // The master is recovering its registry (a new leader, a
          // restart): a matter of milliseconds to seconds, not a failure to
          // back off from, or the framework would stay unknown to it (and
          // its tasks' updates dropped) for up to max_backoff. Asked
          // again directly: the detector would look the master up anew.
          auto& st = self->state;
          self->delayed_send(self, st.opts.min_backoff / 10,
                             subscribe_atom::value, st.master);
          return;
        }
        retry(self, code == static_cast<errc>(0) ? self->system().render(err)
                                                 : describe(err));
      });
}

void connect(driver_self self) {
  auto& st = self->state;
  if (st.connecting || st.subscribed)
    return;
  st.connecting = true;
  self->request(st.detector, caf::infinite, detect_atom::value, st.master)
    .then([self](master_actor& master) { subscribe(self, std::move(master)); },
          [self](caf::error& err) {
            retry(self, "detector: " + self->system().render(err));
          });
}

// Sends a call to the master, stamped with our framework id.
template <class Call>
void call_master(driver_self self, Call call, std::string_view name) {
  auto& st = self->state;
  if (!st.subscribed) {
    st.log->warn("dropping {}: not subscribed", name);
    return;
  }
  self->send(st.master, st.info.id(), std::move(call));
}

driver_impl::behavior_type driver(driver_self self, framework_actor framework,
                                  v1::FrameworkInfo info,
                                  detector_actor detector,
                                  scheduler_options opts) {
  auto& st = self->state;
  st.framework = std::move(framework);
  st.info = std::move(info);
  st.detector = std::move(detector);
  st.opts = std::move(opts);
  st.backoff = st.opts.min_backoff;
  self->monitor(st.framework);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.framework.address())
      self->quit(); // the framework ended: so do we (it may fail over)
    else if (st.master && msg.source == st.master.address())
      lost(self, "the link to the master went down");
  });
  connect(self);
  auto heard = [self] { self->state.last_heard = self->clock().now(); };
  return {
    // -- calls from the framework -----------------------------------------------
    [self](call::Call::Accept& c) { call_master(self, std::move(c), "ACCEPT"); },
    [self](call::Call::Decline& c) { call_master(self, std::move(c), "DECLINE"); },
    [self](call::Call::Revive& c) { call_master(self, std::move(c), "REVIVE"); },
    [self](call::Call::Suppress& c) {
      call_master(self, std::move(c), "SUPPRESS");
    },
    [self](call::Call::Kill& c) { call_master(self, std::move(c), "KILL"); },
    [self](call::Call::Shutdown& c) {
      call_master(self, std::move(c), "SHUTDOWN");
    },
    [self](call::Call::Acknowledge& c) {
      call_master(self, std::move(c), "ACKNOWLEDGE");
    },
    [self](call::Call::Reconcile& c) {
      call_master(self, std::move(c), "RECONCILE");
    },
    [self](call::Call::Message& c) { call_master(self, std::move(c), "MESSAGE"); },
    [self](call::Call::AcceptInverseOffers& c) {
      call_master(self, std::move(c), "ACCEPT_INVERSE_OFFERS");
    },
    [self](call::Call::DeclineInverseOffers& c) {
      call_master(self, std::move(c), "DECLINE_INVERSE_OFFERS");
    },
    [self](call::Call::Request& c) { call_master(self, std::move(c), "REQUEST"); },
    [self](call::Call::AcknowledgeOperationStatus& c) {
      call_master(self, std::move(c), "ACKNOWLEDGE_OPERATION_STATUS");
    },
    [self](call::Call::ReconcileOperations& c) {
      call_master(self, std::move(c), "RECONCILE_OPERATIONS");
    },
    [self](call::Call::UpdateFramework& c) -> caf::result<v1::FrameworkInfo> {
      auto& st = self->state;
      if (!st.subscribed)
        return make_error(errc::unavailable,
                          "UPDATE_FRAMEWORK: not subscribed; retry after "
                          "Subscribed");
      *c.mutable_framework_info()->mutable_id() = st.info.id();
      auto suppressed = std::vector<std::string>(c.suppressed_roles().begin(),
                                                 c.suppressed_roles().end());
      auto rp = self->make_response_promise<v1::FrameworkInfo>();
      self->request(st.master, st.opts.subscribe_timeout, st.info.id(),
                    std::move(c))
        .then(
          [self, rp, suppressed](v1::FrameworkInfo& info) mutable {
            // A later re-subscription must not undo the update.
            self->state.info = info;
            self->state.opts.suppressed_roles = std::move(suppressed);
            rp.deliver(std::move(info));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](call::Call::Teardown& c) {
      call_master(self, std::move(c), "TEARDOWN");
      self->quit();
    },
    // -- events from the master ---------------------------------------------------
    [self, heard](call::Event::Offers& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::Rescind& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::Update& e) {
      heard();
      auto& st = self->state;
      bool ack = st.opts.auto_acknowledge && !e.status().uuid().empty();
      call::Call::Acknowledge acknowledge;
      if (ack) {
        *acknowledge.mutable_agent_id() = e.status().agent_id();
        *acknowledge.mutable_task_id() = e.status().task_id();
        acknowledge.set_uuid(e.status().uuid());
      }
      self->send(st.framework, std::move(e));
      if (ack)
        call_master(self, std::move(acknowledge), "ACKNOWLEDGE");
    },
    [self, heard](call::Event::Message& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::Failure& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::Error& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [heard](call::Event::Heartbeat&) { heard(); },
    [self, heard](call::Event::InverseOffers& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::RescindInverseOffer& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    [self, heard](call::Event::UpdateOperationStatus& e) {
      heard();
      self->send(self->state.framework, std::move(e));
    },
    // -- internal -----------------------------------------------------------------
    [self](subscribe_atom) { connect(self); },
    [self](subscribe_atom, master_actor& master) {
      // Still connecting to the same master (not lost meanwhile).
      if (self->state.connecting && master == self->state.master)
        subscribe(self, std::move(master));
    },
    [self](tick_atom, uint64_t generation) {
      auto& st = self->state;
      if (generation != st.watchdog || !st.subscribed)
        return;
      auto silent = self->clock().now() - st.last_heard;
      if (silent > st.heartbeat_interval * st.opts.missed_heartbeats) {
        lost(self, fmt::format("no heartbeat for {}s",
                               std::chrono::duration<double>(silent).count()));
        return;
      }
      self->delayed_send(self, st.heartbeat_interval, tick_atom::value,
                         generation);
    },
  };
}

} // namespace

scheduler_driver_actor
spawn_scheduler_driver(caf::actor_system& sys, framework_actor framework,
                       v1::FrameworkInfo info, detector_actor detector,
                       scheduler_options opts) {
  return caf::actor_cast<scheduler_driver_actor>(
    sys.spawn(driver, std::move(framework), std::move(info),
              std::move(detector), std::move(opts)));
}

} // namespace dcos
