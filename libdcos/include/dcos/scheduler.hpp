// The scheduler SDK, callback style: derive from dcos::scheduler, override
// what you care about, and run it with a dcos::scheduler_driver.
//
//   struct my_scheduler : dcos::scheduler {
//     void offers(dcos::scheduler_driver& d,
//                 const std::vector<dcos::v1::Offer>& offers) override { ... }
//     void update(dcos::scheduler_driver& d,
//                 const dcos::v1::TaskStatus& status) override { ... }
//   };
//   my_scheduler s;
//   dcos::scheduler_driver driver{sys, s, info, detector};
//   return driver.join();
//
// Callbacks run one at a time on an actor's thread: never block in them.
// Driver calls are thread-safe and may be made from callbacks. With the
// default options every status update is acknowledged after update()
// returns (set auto_acknowledge = false to call acknowledge() yourself).
// Built on scheduler_driver_actor.hpp, which has the full semantics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include <dcos/scheduler_driver_actor.hpp>

namespace dcos {

class scheduler_driver;

class scheduler {
public:
  virtual ~scheduler() = default;

  /// Subscribed, or re-subscribed after the master was lost and found.
  virtual void subscribed(scheduler_driver& driver,
                          const call::Event::Subscribed& info);
  virtual void disconnected(scheduler_driver& driver);
  virtual void offers(scheduler_driver& driver,
                      const std::vector<v1::Offer>& offers);
  virtual void rescind(scheduler_driver& driver, const v1::OfferID& offer);
  virtual void update(scheduler_driver& driver, const v1::TaskStatus& status);
  virtual void message(scheduler_driver& driver, const v1::AgentID& agent,
                       const v1::ExecutorID& executor,
                       const std::string& data);
  virtual void failure(scheduler_driver& driver,
                       const call::Event::Failure& failure);
  /// The master rejected the framework, or an update_framework(), or the
  /// framework failed over elsewhere.
  virtual void error(scheduler_driver& driver, const std::string& message);
  /// The machines of these agents are scheduled for maintenance: answer
  /// with accept_inverse_offers() if your tasks there will be gone in time,
  /// decline_inverse_offers() if not. Ignored by default (the operator's
  /// maintenance status then shows no answer from this framework).
  virtual void inverse_offers(scheduler_driver& driver,
                              const std::vector<v1::InverseOffer>& offers);
  virtual void rescind_inverse_offer(scheduler_driver& driver,
                                     const v1::OfferID& inverse_offer);
  /// What became of an operation that asked for feedback (an `id`); one
  /// with a uuid is acknowledged after this returns when auto_acknowledge
  /// is set.
  virtual void operation_status(scheduler_driver& driver,
                                const v1::OperationStatus& status);
};

class scheduler_driver {
public:
  /// Starts subscribing at once. `sched` must outlive the driver.
  scheduler_driver(caf::actor_system& sys, scheduler& sched,
                   v1::FrameworkInfo info, detector_actor detector,
                   scheduler_options opts = {});
  scheduler_driver(const scheduler_driver&) = delete;
  scheduler_driver& operator=(const scheduler_driver&) = delete;
  /// stop() and join().
  ~scheduler_driver();

  // -- calls -------------------------------------------------------------------------
  void accept(std::vector<v1::OfferID> offers,
              std::vector<v1::Offer::Operation> operations,
              v1::Filters filters = {});
  /// ACCEPT with one LAUNCH of `tasks`.
  void launch(const v1::OfferID& offer, std::vector<v1::TaskInfo> tasks,
              v1::Filters filters = {});
  /// ACCEPT with one LAUNCH_GROUP.
  void launch_group(const v1::OfferID& offer, v1::ExecutorInfo executor,
                    v1::TaskGroupInfo group, v1::Filters filters = {});
  void decline(std::vector<v1::OfferID> offers, v1::Filters filters = {});
  void kill(const v1::TaskID& task, const v1::AgentID& agent = {});
  void acknowledge(const v1::TaskStatus& status);
  /// Explicit reconciliation of (task, agent) pairs; implicit if empty.
  void reconcile(
    const std::vector<std::pair<v1::TaskID, v1::AgentID>>& tasks = {});
  void suppress(std::vector<std::string> roles = {});
  void revive(std::vector<std::string> roles = {});
  void message(const v1::AgentID& agent, const v1::ExecutorID& executor,
               std::string data);
  void shutdown_executor(const v1::AgentID& agent,
                         const v1::ExecutorID& executor);
  void accept_inverse_offers(std::vector<v1::OfferID> inverse_offers,
                             v1::Filters filters = {});
  void decline_inverse_offers(std::vector<v1::OfferID> inverse_offers,
                              v1::Filters filters = {});
  void acknowledge_operation_status(const v1::OperationStatus& status);
  /// Explicit reconciliation of (operation, agent) pairs; implicit if
  /// empty.
  void reconcile_operations(
    const std::vector<std::pair<v1::OperationID, v1::AgentID>>& operations
    = {});
  /// REQUEST: accepted, and ignored by the allocator (as in Mesos).
  void request(std::vector<v1::Request> requests);
  /// Changes the framework's info (its id, user, principal and
  /// checkpointing stay) and suppressed roles; a refusal arrives at
  /// error(), as with Mesos' driver.
  void update_framework(v1::FrameworkInfo info,
                        std::vector<std::string> suppressed_roles = {});

  // -- lifetime ---------------------------------------------------------------------
  /// Removes the framework (its tasks are killed) and ends the driver.
  void teardown();
  /// Ends the driver but keeps the framework: its tasks run on and a new
  /// driver with the same framework id may take over within the
  /// failover_timeout.
  void stop();
  /// Waits until the driver ended; 0 unless the master rejected the
  /// framework. Do not call from a callback.
  int join();

  /// The typed handle behind this driver.
  const scheduler_driver_actor& handle() const noexcept { return driver_; }

private:
  struct shared;
  std::shared_ptr<shared> shared_;
  caf::actor_system& sys_;
  scheduler_driver_actor driver_;
  framework_actor adapter_;
};

} // namespace dcos
