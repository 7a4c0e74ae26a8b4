// Connections: what a node holds as "the master", and what the master holds
// as that agent or scheduler. One actor carries both directions between a
// node and the master, so that, as over one TCP connection, everything the
// master sends to a node (replies included) arrives in the order it was
// sent unless the scenario reorders. Each direction applies the fault plan:
// loss, duplication, delay and partitions. As over TCP, a lost message
// breaks the connection, and a partition delays messages: they are
// retransmitted (every second) until it heals, in order, unless it outlasts
// TCP's patience (15 minutes) and the connection breaks. The model observes
// messages in enqueue, i.e. at the moment they are sent.
//
// A connection monitors both ends and ends with either, as a TCP connection
// does when a peer process dies; the other end then sees its handle go
// down.
#include "world.hpp"

#include <functional>

namespace dcos::sim::detail {

namespace {

using retransmit_atom = caf::atom_constant<caf::atom("retransmit")>;

// How long TCP retransmits through a partition before it gives up (Linux's
// default tcp_retries2 comes to about 15 minutes).
constexpr auto tcp_patience = std::chrono::minutes(15);

// One direction of a connection.
struct direction {
  int from, to;
  caf::actor_clock::time_point last{};
  std::unordered_map<uint64_t, std::function<void()>> held; // delayed
  std::deque<std::function<void()>> cut; // sent into a partition, in order
  caf::actor_clock::time_point cut_since{};
};

using connection_iface = master_actor::extend_with<agent_actor>::extend_with<
  scheduler_actor>::extend<caf::reacts_to<release_atom, uint64_t>,
                           caf::reacts_to<retransmit_atom>>;

class connection final : public connection_iface::base {
public:
  connection(caf::actor_config& cfg, world* w, int node, master_actor master)
    : connection_iface::base(cfg), w_(w), node_(node),
      master_(std::move(master)), up_{node, world::master_node},
      down_{world::master_node, node} {
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    if (closed_) {
      // Lost with the connection; its ends learn that from the down message.
      connection_iface::base::enqueue(std::move(x), eu);
      return;
    }
    auto& m = x->content();
    auto& model = w_->invariants();
    if (m.match_elements<call::Event::Offers>())
      model.offers(node_, m.get_as<call::Event::Offers>(0));
    else if (m.match_elements<call::Event::Rescind>())
      model.rescind(m.get_as<call::Event::Rescind>(0).offer_id());
    else if (m.match_elements<v1::FrameworkID, call::Call::Accept>())
      model.accept_sent(m.get_as<call::Call::Accept>(1));
    else if (m.match_elements<v1::FrameworkID, call::Call::Decline>())
      model.decline(m.get_as<call::Call::Decline>(1));
    else if (m.match_elements<v1::internal::StatusUpdate>())
      model.agent_sent(node_, m.get_as<v1::internal::StatusUpdate>(0));
    else if (m.match_elements<v1::FrameworkID, call::Call::Acknowledge>())
      model.watch(node_, "ACKNOWLEDGE",
                  m.get_as<call::Call::Acknowledge>(1).task_id().value());
    else if (m.match_elements<v1::internal::RunTask>()) {
      model.placed(1);
      model.watch(node_, "RunTask",
                  m.get_as<v1::internal::RunTask>(0).task().task_id().value());
    } else if (m.match_elements<v1::internal::RunTaskGroup>()) {
      const auto& group = m.get_as<v1::internal::RunTaskGroup>(0).task_group();
      model.placed(group.tasks_size());
      for (const auto& t : group.tasks())
        model.watch(node_, "RunTaskGroup", t.task_id().value());
    }
    else if (m.match_elements<shutdown_atom, std::string>())
      model.agent_removed(node_);
    else if (m.match_elements<v1::internal::StatusUpdateAcknowledgement>())
      model.watch(
        node_, "StatusUpdateAcknowledgement",
        m.get_as<v1::internal::StatusUpdateAcknowledgement>(0).task_id().value());
    connection_iface::base::enqueue(std::move(x), eu);
  }

  behavior_type make_behavior() override {
    monitor(master_);
    set_down_handler([this](caf::down_msg& msg) {
      if (msg.source == master_.address()
          || (peer_ && msg.source == peer_.address())) {
        close(msg.reason);
      }
    });
    return {
      // -- node -> master: the scheduler API ------------------------------------
      [this](subscribe_atom a, const scheduler_actor& s,
             const call::Call::Subscribe& msg) {
        attach(s);
        return ask<call::Event::Subscribed>(
          up_, master_, "SUBSCRIBE", a,
          caf::actor_cast<scheduler_actor>(this), msg);
      },
      [this](const v1::FrameworkID& f, const call::Call::Teardown& c) {
        pass(up_, master_, "TEARDOWN", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Accept& c) {
        // Its tasks are launched once the master has the call.
        auto to = master_;
        carry(up_, "ACCEPT", [this, to, f, c] {
          w_->invariants().accept_delivered(node_, f.value(), c);
          send(to, f, c);
        });
      },
      [this](const v1::FrameworkID& f, const call::Call::Decline& c) {
        pass(up_, master_, "DECLINE", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Revive& c) {
        pass(up_, master_, "REVIVE", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Suppress& c) {
        pass(up_, master_, "SUPPRESS", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Kill& c) {
        pass(up_, master_, "KILL", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Shutdown& c) {
        pass(up_, master_, "SHUTDOWN", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Acknowledge& c) {
        pass(up_, master_, "ACKNOWLEDGE", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Reconcile& c) {
        pass(up_, master_, "RECONCILE", f, c);
      },
      [this](const v1::FrameworkID& f, const call::Call::Message& c) {
        pass(up_, master_, "MESSAGE", f, c);
      },
      // -- node -> master: the agent protocol ---------------------------------------
      [this](const agent_actor& a, const v1::internal::RegisterAgent& msg) {
        attach(a);
        return ask_then<v1::internal::AgentRegistered>(
          up_, [this] { w_->invariants().agent_joined(node_); }, master_,
          "RegisterAgent", caf::actor_cast<agent_actor>(this), msg);
      },
      [this](const agent_actor& a, const v1::internal::ReregisterAgent& msg) {
        attach(a);
        return ask_then<v1::internal::AgentRegistered>(
          up_,
          [this] {
            w_->invariants().agent_joined(node_);
            w_->agent_reregistered(node_);
          },
          master_,
          "ReregisterAgent", caf::actor_cast<agent_actor>(this), msg);
      },
      [this](const v1::internal::StatusUpdate& msg) {
        pass(up_, master_, "StatusUpdate", msg);
      },
      [this](const v1::internal::ExecutorToFramework& msg) {
        pass(up_, master_, "ExecutorToFramework", msg);
      },
      [this](const v1::internal::ExitedExecutor& msg) {
        pass(up_, master_, "ExitedExecutor", msg);
      },
      [this](unregister_atom a, const v1::AgentID& id) {
        pass(up_, master_, "Unregister", a, id);
      },
      [this](const v1::master::Call& c) {
        return ask<v1::master::Response>(up_, master_, "operator", c);
      },
      // -- master -> agent ----------------------------------------------------------
      [this](ping_atom a) {
        return ask<pong_atom>(down_, agent(), "ping", a);
      },
      [this](const v1::internal::RunTask& m) {
        pass(down_, agent(), "RunTask", m);
      },
      [this](const v1::internal::RunTaskGroup& m) {
        pass(down_, agent(), "RunTaskGroup", m);
      },
      [this](const v1::internal::KillTask& m) {
        pass(down_, agent(), "KillTask", m);
      },
      [this](const v1::internal::ShutdownExecutor& m) {
        pass(down_, agent(), "ShutdownExecutor", m);
      },
      [this](const v1::internal::ShutdownFramework& m) {
        pass(down_, agent(), "ShutdownFramework", m);
      },
      [this](const v1::internal::StatusUpdateAcknowledgement& m) {
        pass(down_, agent(), "StatusUpdateAck", m);
      },
      [this](const v1::internal::FrameworkToExecutor& m) {
        pass(down_, agent(), "FrameworkToExecutor", m);
      },
      [this](const v1::internal::CheckpointResources& m) {
        pass(down_, agent(), "CheckpointResources", m);
      },
      [this](shutdown_atom a, const std::string& why) {
        pass(down_, agent(), "Shutdown", a, why);
      },
      // -- master -> scheduler ------------------------------------------------------
      [this](const call::Event::Offers& e) {
        pass(down_, scheduler(), "OFFERS", e);
      },
      [this](const call::Event::Rescind& e) {
        pass(down_, scheduler(), "RESCIND", e);
      },
      [this](const call::Event::Update& e) {
        // Seen by the framework when it arrives, not when it is sent.
        auto to = scheduler();
        carry(down_, "UPDATE", [this, to, e] {
          w_->invariants().framework_seen(node_, e.status());
          send(to, e);
        });
      },
      [this](const call::Event::Message& e) {
        pass(down_, scheduler(), "MESSAGE", e);
      },
      [this](const call::Event::Failure& e) {
        pass(down_, scheduler(), "FAILURE", e);
      },
      [this](const call::Event::Error& e) {
        pass(down_, scheduler(), "ERROR", e);
      },
      [this](const call::Event::Heartbeat& e) {
        pass(down_, scheduler(), "HEARTBEAT", e);
      },
      [this](retransmit_atom) {
        retransmitting_ = false;
        for (auto* d : {&up_, &down_}) {
          if (d->cut.empty())
            continue;
          if (w_->reachable(d->from, d->to)) {
            auto cut = std::move(d->cut);
            d->cut.clear();
            for (auto& fn : cut)
              deliver(*d, caf::timespan{0}, std::move(fn));
          } else if (clock().now() - d->cut_since > tcp_patience) {
            close(caf::exit_reason::remote_link_unreachable);
            return;
          }
        }
        retransmit_later();
      },
      [this](release_atom, uint64_t id) {
        for (auto* d : {&up_, &down_})
          if (auto i = d->held.find(id); i != d->held.end()) {
            auto fn = std::move(i->second);
            d->held.erase(i);
            fn();
            return;
          }
      },
    };
  }

private:
  void close(const caf::error& reason) {
    if (closed_)
      return;
    closed_ = true;
    w_->link_down(node_);
    quit(reason);
  }

  // The node end: the agent or scheduler this connection serves.
  template <class Handle>
  void attach(const Handle& h) {
    auto a = caf::actor_cast<caf::actor>(h);
    if (peer_ == a)
      return;
    peer_ = a;
    monitor(peer_);
  }

  agent_actor agent() const { return caf::actor_cast<agent_actor>(peer_); }
  scheduler_actor scheduler() const {
    return caf::actor_cast<scheduler_actor>(peer_);
  }

  // Delivers `fn` as the fault plan says: dropped, at once, or later; FIFO
  // per direction unless the scenario reorders.
  void carry(direction& d, const char* what, std::function<void()> fn) {
    if (!d.cut.empty()) {
      // Behind what waits for the partition to heal.
      w_->link_event(d.from, d.to, what, false);
      d.cut.push_back(std::move(fn));
      return;
    }
    auto r = w_->decide(d.from, d.to);
    w_->link_event(d.from, d.to, what, r.drop);
    if (r.cut) {
      d.cut_since = clock().now();
      d.cut.push_back(std::move(fn));
      retransmit_later();
      return;
    }
    if (r.drop) {
      // TCP delivers in order or not at all: a lost message takes the
      // connection (and whatever else is in flight on it) down with it.
      close(caf::exit_reason::remote_link_unreachable);
      return;
    }
    for (int copy = 0; copy < r.copies; ++copy)
      deliver(d, r.delay, fn);
  }

  // Delivers `fn` after `delay`, FIFO per direction unless the scenario
  // reorders.
  void deliver(direction& d, caf::timespan delay, std::function<void()> fn) {
    auto now = clock().now();
    auto at = now + delay;
    if (!w_->sc().links.reorder && at < d.last)
      at = d.last;
    d.last = at;
    if (at == now && d.held.empty()) {
      fn();
      return;
    }
    auto id = next_id_++;
    d.held.emplace(id, std::move(fn));
    delayed_send(this, at - now, release_atom::value, id);
  }

  void retransmit_later() {
    if (retransmitting_ || (up_.cut.empty() && down_.cut.empty()))
      return;
    retransmitting_ = true;
    delayed_send(this, std::chrono::seconds(1), retransmit_atom::value);
  }

  template <class Target, class... Ts>
  void pass(direction& d, const Target& target, const char* what, Ts... xs) {
    if (!target)
      return;
    carry(d, what, [this, target, xs...] { send(target, xs...); });
  }

  // A request crosses `d`, its reply the other way; either may be lost (the
  // caller's timeout handles that).
  template <class R, class Target, class... Ts>
  caf::result<R> ask(direction& d, const Target& target, const char* what,
                     Ts... xs) {
    return ask_then<R>(d, {}, target, what, xs...);
  }

  // As ask(), and runs `on_reply` (if set) when the reply arrives.
  template <class R, class Target, class... Ts>
  caf::result<R> ask_then(direction& d, std::function<void()> on_reply,
                          const Target& target, const char* what, Ts... xs) {
    auto rp = make_response_promise<R>();
    direction* back = &d == &up_ ? &down_ : &up_;
    carry(d, what, [this, back, on_reply, target, rp, xs...] {
      request(target, caf::infinite, xs...)
        .then(
          [this, back, on_reply, rp](R& reply) mutable {
            carry(*back, "reply", [on_reply, rp, reply]() mutable {
              if (on_reply)
                on_reply();
              rp.deliver(reply);
            });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    });
    return rp;
  }

  world* w_;
  int node_;
  master_actor master_;
  caf::actor peer_;
  direction up_, down_;
  uint64_t next_id_ = 0;
  bool closed_ = false;
  bool retransmitting_ = false;
};

} // namespace

master_actor spawn_connection(world& w, int node, master_actor master) {
  return caf::actor_cast<master_actor>(
    w.sys().spawn<connection>(&w, node, std::move(master)));
}

} // namespace dcos::sim::detail
