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

class executor_tap final : public executor_actor::base {
public:
  executor_tap(caf::actor_config& cfg, world* w, int agent,
               executor_actor executor)
    : executor_actor::base(cfg), w_(w), agent_(agent),
      executor_(std::move(executor)), link_(w) {
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    auto& m = x->content();
    if (m.match_elements<StatusUpdateAcknowledgement>())
      w_->invariants().executor_acked(
        agent_, m.get_as<StatusUpdateAcknowledgement>(0));
    bool ours = m.match_elements<RunTask>() || m.match_elements<RunTaskGroup>()
                || m.match_elements<KillTask>()
                || m.match_elements<StatusUpdateAcknowledgement>()
                || m.match_elements<FrameworkToExecutor>()
                || m.match_elements<shutdown_atom, std::string>();
    if (!link_.forward_if(
          x, eu, caf::actor_cast<caf::strong_actor_ptr>(executor_), ours))
      executor_actor::base::enqueue(std::move(x), eu);
  }

  behavior_type make_behavior() override {
    monitor(executor_);
    set_down_handler([this](caf::down_msg& msg) { quit(msg.reason); });
    // Never run: enqueue passes every such message on.
    return {
      [](const RunTask&) {},
      [](const RunTaskGroup&) {},
      [](const KillTask&) {},
      [](const StatusUpdateAcknowledgement&) {},
      [](const FrameworkToExecutor&) {},
      [](shutdown_atom, const std::string&) {},
    };
  }

private:
  world* w_;
  int agent_;
  executor_actor executor_;
  direction link_;
};

class agent_tap final : public agent_executor_actor::base {
public:
  agent_tap(caf::actor_config& cfg, world* w, int agent,
            agent_executor_actor target)
    : agent_executor_actor::base(cfg), w_(w), agent_(agent),
      target_(std::move(target)), link_(w) {
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    auto& m = x->content();
    if (m.match_elements<StatusUpdate>())
      w_->invariants().executor_sent(agent_, m.get_as<StatusUpdate>(0));
    auto to = caf::actor_cast<caf::strong_actor_ptr>(target_);
    bool registers = m.match_elements<executor_actor, RegisterExecutor>();
    bool reregisters = m.match_elements<executor_actor, ReregisterExecutor>();
    bool ours = registers || reregisters || m.match_elements<StatusUpdate>()
                || m.match_elements<ExecutorToFramework>();
    // (`m` belongs to the element that with_tap replaces.)
    if (to && registers)
      x = with_tap<RegisterExecutor>(std::move(x));
    else if (to && reregisters)
      x = with_tap<ReregisterExecutor>(std::move(x));
    if (!link_.forward_if(x, eu, to, ours))
      agent_executor_actor::base::enqueue(std::move(x), eu);
  }

  behavior_type make_behavior() override {
    monitor(target_);
    set_down_handler([this](caf::down_msg& msg) { quit(msg.reason); });
    // Never run: enqueue passes every such message on.
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

private:
  // The same registration, with the executor behind a tap of its own.
  template <class Registration>
  caf::mailbox_element_ptr with_tap(caf::mailbox_element_ptr x) {
    auto& m = x->content();
    auto tap = w_->track(w_->sys().spawn<executor_tap>(
      w_, agent_, m.get_as<executor_actor>(0)));
    return caf::make_mailbox_element(
      std::move(x->sender), x->mid, std::move(x->stages),
      caf::actor_cast<executor_actor>(tap), m.get_as<Registration>(1));
  }

  world* w_;
  int agent_;
  agent_executor_actor target_;
  direction link_;
};

} // namespace

agent_executor_actor spawn_agent_tap(world& w, int agent,
                                     agent_executor_actor target) {
  return w.sys().spawn<agent_tap>(&w, agent, std::move(target));
}

} // namespace dcos::sim::detail
