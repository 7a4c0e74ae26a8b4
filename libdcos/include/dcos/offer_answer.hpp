// Answering one batch of offers with the launches a framework has waiting:
// the step after match_offer (offer_match.hpp) in the launch machinery the
// user-space schedulers share (Marathon's apps, Metronome's job runs), as
// Marathon's offer matcher answers.
//
//  - Each offer some tasks were matched to is accepted with one LAUNCH of
//    them (after the operations they need), refusing the offer's remainder
//    for 1 s (it comes back with the
//    next allocation, for what still waits).
//  - The offers nothing was matched to are declined in one call: for 1 s
//    while launches still wait once every offer was visited (an agent that
//    fits nothing now may fit after a kill, or a backoff ends), else for
//    120 s, Marathon's --decline_offer_duration (a framework with nothing
//    to launch is not offered what it does not want).
//
// Suppressing offers when nothing waits stays with the framework: only it
// knows whether anything will wait soon.
//
// Thread-safety: plain functions; send_offer_answers() in the sending
// actor's turn.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include <dcos/resources.hpp>
#include <dcos/scheduler_driver_actor.hpp>

namespace dcos {

struct offer_answers {
  std::vector<call::Call::Accept> accepts; // one per offer used
  call::Call::Decline decline;             // no offer ids: nothing declined
};

/// The tasks to launch on `offer`; their resources are taken out of
/// `available` (what is left of the offer), which the filler updates. The
/// filler adds to `operations` what must happen first (RESERVE and CREATE
/// for tasks on persistent volumes; DESTROY and UNRESERVE to give
/// reservations back), in order: the offer is accepted with those, then
/// one LAUNCH of the tasks (if any).
using offer_filler = std::function<std::vector<v1::TaskInfo>(
  const v1::Offer& offer, resources& available,
  std::vector<v1::Offer::Operation>& operations)>;

/// Visits every offer in order with `fill`, then asks `still_waiting()`
/// once, and answers as above.
offer_answers
answer_offers(const google::protobuf::RepeatedPtrField<v1::Offer>& offers,
              const offer_filler& fill,
              const std::function<bool()>& still_waiting);

/// Sends `answers` to the driver from `self`.
template <class Self>
void send_offer_answers(Self* self, const scheduler_driver_actor& driver,
                        offer_answers answers) {
  for (auto& accept : answers.accepts)
    self->send(driver, std::move(accept));
  if (answers.decline.offer_ids_size() > 0)
    self->send(driver, std::move(answers.decline));
}

} // namespace dcos
