// Taps on the link between an agent and its executors, so that the model
// sees what crosses it: when the agent acknowledges an executor's status
// update, the agent has taken the update over, and it must reach the
// framework ("no update lost").
//
// A tap forwards every message it is sent, unchanged (in enqueue, with its
// sender and request id), to the actor behind it: at once, so it adds no
// step to the run, or after the scenario's `executor_link_delay`, through
// the clock, in the order sent (the link is a local socket). The agent's
// tap puts an executor's tap in place of the executor's handle when the
// executor registers, so that the agent's messages to the executor pass one
// too. Each tap ends with the actor behind it, with the same reason, so
// that monitors see what they saw before.
#include "world.hpp"

namespace dcos::sim::detail {

namespace {

using namespace v1::internal;

// One direction of the link: delivers in the order sent, after the
// scenario's latency.
class direction {
public:
  explicit direction(world* w) : w_(w) {
  }

  // Forwards `x` to `to` if it is one of the link's messages; system
  // messages (down, exit) stay with the tap itself.
  bool forward_if(caf::mailbox_element_ptr& x, caf::execution_unit* eu,
                  const caf::strong_actor_ptr& to, bool is_interface) {
    if (!is_interface || !to)
      return false;
    auto delay = w_->pick(w_->sc().executor_link_delay);
    if (delay.count() == 0) {
      to->get()->enqueue(std::move(x), eu);
      return true;
    }
    auto& clock = w_->sys().clock();
    due_ = std::max(due_, clock.now() + delay); // FIFO
    clock.schedule_message(due_, to, std::move(x));
    return true;
  }

private:
  world* w_;
  caf::actor_clock::time_point due_;
};

// A tap in front of `target` at one end of the link. `End` names the
// handle it stands in for, picks the link's messages out (showing the model
// what it must see on the way), and lists the handlers of the handle's
// interface, which never run: enqueue passes every such message on.
template <class End>
class tap final : public End::handle::base {
public:
  using handle = typename End::handle;
  using super = typename handle::base;

  tap(caf::actor_config& cfg, world* w, int agent, handle target)
    : super(cfg), w_(w), agent_(agent), target_(std::move(target)),
      link_(w) {
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    auto to = caf::actor_cast<caf::strong_actor_ptr>(target_);
    bool ours = End::observe(*w_, agent_, x, to != nullptr);
    if (!link_.forward_if(x, eu, to, ours))
      super::enqueue(std::move(x), eu);
  }

  typename super::behavior_type make_behavior() override {
    this->monitor(target_);
    this->set_down_handler(
      [this](caf::down_msg& msg) { this->quit(msg.reason); });
    return End::handlers();
  }

  // An agent outlives thousands of its executors' taps: each takes its
  // monitor off the agent as it ends, or the agent would keep an entry (and
  // the dead tap's memory with it) per executor it ever ran.
  void on_exit() override {
    if (target_)
      this->demonitor(target_.address());
    super::on_exit();
  }

private:
  world* w_;
  int agent_;
  handle target_;
  direction link_;
};

// The executor's end: what the agent sends it. The model learns which
// updates the agent has acknowledged.
struct executor_end {
  using handle = executor_actor;

  static bool observe(world& w, int agent, caf::mailbox_element_ptr& x,
                      bool /* connected */) {
    auto& m = x->content();
    if (m.match_elements<StatusUpdateAcknowledgement>())
      w.invariants().executor_acked(agent,
                                    m.get_as<StatusUpdateAcknowledgement>(0));
    return m.match_elements<RunTask>() || m.match_elements<RunTaskGroup>()
           || m.match_elements<KillTask>()
           || m.match_elements<StatusUpdateAcknowledgement>()
           || m.match_elements<FrameworkToExecutor>()
           || m.match_elements<shutdown_atom, std::string>();
  }

  static handle::behavior_type handlers() {
    return {
      [](const RunTask&) {},
      [](const RunTaskGroup&) {},
      [](const KillTask&) {},
      [](const StatusUpdateAcknowledgement&) {},
      [](const FrameworkToExecutor&) {},
      [](shutdown_atom, const std::string&) {},
    };
  }
};

// The agent's end: what executors send it. The model learns of every
// update sent; a registration gets the executor's handle replaced by a tap
// of its own, when the agent is still there to receive it.
struct agent_end {
  using handle = agent_executor_actor;

  static bool observe(world& w, int agent, caf::mailbox_element_ptr& x,
                      bool connected) {
    auto& m = x->content();
    if (m.match_elements<StatusUpdate>())
      w.invariants().executor_sent(agent, m.get_as<StatusUpdate>(0));
    bool registers = m.match_elements<executor_actor, RegisterExecutor>();
    bool reregisters = m.match_elements<executor_actor, ReregisterExecutor>();
    bool ours = registers || reregisters || m.match_elements<StatusUpdate>()
                || m.match_elements<ExecutorToFramework>();
    // (`m` belongs to the element that with_tap replaces.)
    if (connected && registers)
      x = with_tap<RegisterExecutor>(w, agent, std::move(x));
    else if (connected && reregisters)
      x = with_tap<ReregisterExecutor>(w, agent, std::move(x));
    return ours;
  }

  static handle::behavior_type handlers() {
    return {
      [](const executor_actor&, const RegisterExecutor&)
        -> caf::result<ExecutorRegistered> {
        return caf::sec::unexpected_message;
      },
      [](const executor_actor&, const ReregisterExecutor&)
        -> caf::result<ExecutorRegistered> {
        return caf::sec::unexpected_message;
      },
      [](const StatusUpdate&) {},
      [](const ExecutorToFramework&) {},
    };
  }

  // The same registration, with the executor behind a tap of its own.
  template <class Registration>
  static caf::mailbox_element_ptr with_tap(world& w, int agent,
                                           caf::mailbox_element_ptr x) {
    auto& m = x->content();
    auto executor = w.track(w.sys().spawn<tap<executor_end>>(
      &w, agent, m.get_as<executor_actor>(0)));
    return caf::make_mailbox_element(
      std::move(x->sender), x->mid, std::move(x->stages),
      caf::actor_cast<executor_actor>(executor), m.get_as<Registration>(1));
  }
};

} // namespace

agent_executor_actor spawn_agent_tap(world& w, int agent,
                                     agent_executor_actor target) {
  return w.sys().spawn<tap<agent_end>>(&w, agent, std::move(target));
}

} // namespace dcos::sim::detail
