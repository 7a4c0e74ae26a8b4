// A framework for integration tests that drive offers step by step: it
// keeps every offer until the test thread takes it, and records every
// status update and error. Run it with a dcos::scheduler_driver.
#pragma once

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dcos/scheduler.hpp"
#include "dcos/task_state.hpp"
#include "support/processes.hpp"

namespace dcos::test {

struct offer_holder : scheduler {
  std::mutex mtx;
  std::vector<v1::Offer> held;
  std::vector<v1::TaskStatus> updates;
  std::vector<std::string> errors;

  void offers(scheduler_driver&, const std::vector<v1::Offer>& offers) override {
    std::lock_guard guard{mtx};
    held.insert(held.end(), offers.begin(), offers.end());
  }

  void rescind(scheduler_driver&, const v1::OfferID& id) override {
    std::lock_guard guard{mtx};
    held.erase(std::remove_if(held.begin(), held.end(),
                              [&](const auto& o) {
                                return o.id().value() == id.value();
                              }),
               held.end());
  }

  void update(scheduler_driver&, const v1::TaskStatus& s) override {
    std::lock_guard guard{mtx};
    updates.push_back(s);
  }

  void error(scheduler_driver&, const std::string& message) override {
    std::lock_guard guard{mtx};
    errors.push_back(message);
  }

  /// Waits until the held offers (one agent: they may be accepted together)
  /// have a resource `pred` accepts, then hands all of them over.
  std::vector<v1::Offer>
  take_offers(const std::function<bool(const v1::Resource&)>& pred) {
    std::vector<v1::Offer> taken;
    eventually(
      [&] {
        std::lock_guard guard{mtx};
        for (const auto& o : held)
          for (const auto& r : o.resources())
            if (pred(r)) {
              taken.swap(held);
              return true;
            }
        return false;
      },
      30s);
    return taken;
  }

  /// The last update of `task_id` once it is terminal.
  std::optional<v1::TaskStatus> wait_terminal(const std::string& task_id) {
    std::optional<v1::TaskStatus> last;
    eventually(
      [&] {
        std::lock_guard guard{mtx};
        for (auto i = updates.rbegin(); i != updates.rend(); ++i)
          if (i->task_id().value() == task_id) {
            last = *i;
            return is_terminal(i->state());
          }
        return false;
      },
      60s);
    return last;
  }
};

inline std::vector<v1::OfferID> ids_of(const std::vector<v1::Offer>& offers) {
  std::vector<v1::OfferID> out;
  for (const auto& o : offers)
    out.push_back(o.id());
  return out;
}

/// Every resource of `offers` that `pred` accepts.
inline std::vector<v1::Resource>
find(const std::vector<v1::Offer>& offers,
     const std::function<bool(const v1::Resource&)>& pred) {
  std::vector<v1::Resource> out;
  for (const auto& o : offers)
    for (const auto& r : o.resources())
      if (pred(r))
        out.push_back(r);
  return out;
}

} // namespace dcos::test
