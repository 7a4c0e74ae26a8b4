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

#include "dcos/error.hpp"

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
  scheduler_actor>::extend_with<master_subscriber_actor>::
  extend<caf::reacts_to<release_atom, uint64_t>,
         caf::reacts_to<retransmit_atom>>;

class connection final : public connection_iface::base {
public:
  connection(caf::actor_config& cfg, world* w, int node, int master_node,
             master_actor master)
    : connection_iface::base(cfg), w_(w), node_(node),
      master_(std::move(master)), up_{node, master_node},
      down_{master_node, node} {
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
      [this](const v1::FrameworkID&, const call::Call::Teardown&) {
        pass(up_, master_, "TEARDOWN");
      },
      [this](const v1::FrameworkID&, const call::Call::Accept&) {
        // Its tasks are launched once the master has the call.
        auto msg = take_message();
        carry(up_, "ACCEPT", [this, msg] {
          w_->invariants().accept_delivered(
            node_, msg.get_as<call::Call::Accept>(1));
          forward(master_, msg);
        });
      },
      [this](const v1::FrameworkID&, const call::Call::Decline&) {
        pass(up_, master_, "DECLINE");
      },
      [this](const v1::FrameworkID&, const call::Call::Revive&) {
        pass(up_, master_, "REVIVE");
      },
      [this](const v1::FrameworkID&, const call::Call::Suppress&) {
        pass(up_, master_, "SUPPRESS");
      },
      [this](const v1::FrameworkID&, const call::Call::Kill&) {
        pass(up_, master_, "KILL");
      },
      [this](const v1::FrameworkID&, const call::Call::Shutdown&) {
        pass(up_, master_, "SHUTDOWN");
      },
      [this](const v1::FrameworkID&, const call::Call::Acknowledge&) {
        pass(up_, master_, "ACKNOWLEDGE");
      },
      [this](const v1::FrameworkID&, const call::Call::Reconcile&) {
        pass(up_, master_, "RECONCILE");
      },
      [this](const v1::FrameworkID&, const call::Call::Message&) {
        pass(up_, master_, "MESSAGE");
      },
      [this](const v1::FrameworkID&, const call::Call::AcceptInverseOffers&) {
        pass(up_, master_, "ACCEPT_INVERSE_OFFERS");
      },
      [this](const v1::FrameworkID&, const call::Call::DeclineInverseOffers&) {
        pass(up_, master_, "DECLINE_INVERSE_OFFERS");
      },
      [this](const v1::FrameworkID&, const call::Call::Request&) {
        pass(up_, master_, "REQUEST");
      },
      [this](const v1::FrameworkID&,
             const call::Call::AcknowledgeOperationStatus&) {
        pass(up_, master_, "ACKNOWLEDGE_OPERATION_STATUS");
      },
      [this](const v1::FrameworkID&, const call::Call::ReconcileOperations&) {
        pass(up_, master_, "RECONCILE_OPERATIONS");
      },
      [this](const v1::FrameworkID& id, const call::Call::UpdateFramework& c) {
        return ask<v1::FrameworkInfo>(up_, master_, "UPDATE_FRAMEWORK", id, c);
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
      [this](const v1::internal::StatusUpdate&) {
        pass(up_, master_, "StatusUpdate");
      },
      [this](const v1::internal::UpdateOperationStatus&) {
        pass(up_, master_, "UpdateOperationStatus");
      },
      [this](const v1::internal::ExecutorToFramework&) {
        pass(up_, master_, "ExecutorToFramework");
      },
      [this](const v1::internal::ExitedExecutor&) {
        pass(up_, master_, "ExitedExecutor");
      },
      [this](unregister_atom, const v1::AgentID&) {
        pass(up_, master_, "Unregister");
      },
      [this](const v1::master::Call& c) {
        return ask<v1::master::Response>(up_, master_, "operator", c);
      },
      // The operator event stream (a service's cluster view): this
      // connection subscribes in the node's stead, so that the events, like
      // every other message, cross the link with its faults, in order.
      [this](subscribe_atom a, const master_subscriber_actor& s) {
        attach(s);
        return ask<v1::master::Event>(
          up_, master_, "SUBSCRIBE (operator)", a,
          caf::actor_cast<master_subscriber_actor>(this));
      },
      // -- master -> agent ----------------------------------------------------------
      [this](ping_atom a) {
        return ask<pong_atom>(down_, agent(), "ping", a);
      },
      [this](const v1::internal::RunTask&) {
        pass(down_, agent(), "RunTask");
      },
      [this](const v1::internal::RunTaskGroup&) {
        pass(down_, agent(), "RunTaskGroup");
      },
      [this](const v1::internal::KillTask&) {
        pass(down_, agent(), "KillTask");
      },
      [this](const v1::internal::ShutdownExecutor&) {
        pass(down_, agent(), "ShutdownExecutor");
      },
      [this](const v1::internal::ShutdownFramework&) {
        pass(down_, agent(), "ShutdownFramework");
      },
      [this](const v1::internal::StatusUpdateAcknowledgement&) {
        pass(down_, agent(), "StatusUpdateAck");
      },
      [this](const v1::internal::FrameworkToExecutor&) {
        pass(down_, agent(), "FrameworkToExecutor");
      },
      [this](const v1::internal::CheckpointResources&) {
        pass(down_, agent(), "CheckpointResources");
      },
      [this](const v1::internal::AcknowledgeOperationStatus&) {
        pass(down_, agent(), "AcknowledgeOperationStatus");
      },
      [this](const v1::internal::DrainAgent&) {
        pass(down_, agent(), "DrainAgent");
      },
      [this](shutdown_atom, const std::string&) {
        pass(down_, agent(), "Shutdown");
      },
      // -- master -> scheduler ------------------------------------------------------
      [this](const call::Event::Offers&) {
        pass(down_, scheduler(), "OFFERS");
      },
      [this](const call::Event::Rescind&) {
        pass(down_, scheduler(), "RESCIND");
      },
      [this](const call::Event::Update&) {
        // Seen by the framework when it arrives, not when it is sent.
        auto to = peer_;
        auto msg = take_message();
        carry(down_, "UPDATE", [this, to, msg] {
          w_->invariants().framework_seen(
            node_, msg.get_as<call::Event::Update>(0).status());
          forward(to, msg);
        });
      },
      [this](const call::Event::Message&) {
        pass(down_, scheduler(), "MESSAGE");
      },
      [this](const call::Event::Failure&) {
        pass(down_, scheduler(), "FAILURE");
      },
      [this](const call::Event::Error&) {
        pass(down_, scheduler(), "ERROR");
      },
      [this](const call::Event::Heartbeat&) {
        pass(down_, scheduler(), "HEARTBEAT");
      },
      [this](const call::Event::InverseOffers&) {
        pass(down_, scheduler(), "INVERSE_OFFERS");
      },
      [this](const call::Event::RescindInverseOffer&) {
        pass(down_, scheduler(), "RESCIND_INVERSE_OFFER");
      },
      [this](const call::Event::UpdateOperationStatus&) {
        pass(down_, scheduler(), "UPDATE_OPERATION_STATUS");
      },
      // -- master -> operator event subscriber ----------------------------------------
      [this](const v1::master::Event&) {
        pass(down_, caf::actor_cast<master_subscriber_actor>(peer_),
             "operator event");
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

  // Carries the message being handled on to `target` across `d`.
  template <class Target>
  void pass(direction& d, const Target& target, const char* what) {
    if (!target)
      return;
    auto to = caf::actor_cast<caf::actor>(target);
    auto msg = take_message();
    carry(d, what, [this, to, msg] { forward(to, msg); });
  }

  // The message being handled, moved out of its mailbox element rather than
  // copied: a message is shared, so the copies the fault plan makes (and
  // the messages held for later) cost a reference count, not a deep copy
  // of a task group.
  // REQUIRES: called once per handled message; the handler reads none of
  // its arguments afterwards (they are moved from).
  caf::message take_message() {
    return current_mailbox_element()->move_content_to_message();
  }

  // Sends `msg` as this connection, unchanged and still shared. (A typed
  // actor may not send() to an untyped handle, so it is enqueued directly.)
  template <class Target>
  void forward(const Target& to, const caf::message& msg) {
    if (to)
      to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{ctrl()},
                                            caf::make_message_id(), {}, msg),
                  context());
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

master_actor spawn_connection(world& w, int node, int master_node,
                              master_actor master) {
  return caf::actor_cast<master_actor>(
    w.sys().spawn<connection>(&w, node, master_node, std::move(master)));
}

} // namespace dcos::sim::detail
