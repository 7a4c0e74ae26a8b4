#include <dcos/offer_answer.hpp>

namespace dcos {

namespace {

constexpr double refuse_while_waiting_s = 1;
constexpr double refuse_when_idle_s = 120; // Marathon's default
constexpr double refuse_remainder_s = 1;

} // namespace

offer_answers
answer_offers(const google::protobuf::RepeatedPtrField<v1::Offer>& offers,
              const offer_filler& fill,
              const std::function<bool()>& still_waiting) {
  offer_answers out;
  for (const auto& offer : offers) {
    auto available = resources::from_proto(offer.resources());
    std::vector<v1::Offer::Operation> operations;
    auto launches = available ? fill(offer, *available, operations)
                              : std::vector<v1::TaskInfo>{};
    if (launches.empty() && operations.empty()) {
      *out.decline.add_offer_ids() = offer.id();
      continue;
    }
    call::Call::Accept accept;
    *accept.add_offer_ids() = offer.id();
    for (auto& op : operations)
      *accept.add_operations() = std::move(op);
    if (!launches.empty()) {
      auto* op = accept.add_operations();
      op->set_type(v1::Offer::Operation::LAUNCH);
      for (auto& task : launches)
        *op->mutable_launch()->add_task_infos() = std::move(task);
    }
    accept.mutable_filters()->set_refuse_seconds(refuse_remainder_s);
    out.accepts.push_back(std::move(accept));
  }
  if (out.decline.offer_ids_size() > 0)
    out.decline.mutable_filters()->set_refuse_seconds(
      still_waiting() ? refuse_while_waiting_s : refuse_when_idle_s);
  return out;
}

} // namespace dcos
