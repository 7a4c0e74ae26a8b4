// The zone as it is served: records built from one cluster snapshot, and
// the holder through which the builder publishes a new zone whole and the
// DNS and HTTP edges read the current one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "record_set.hpp"

namespace dcos::mesos_dns {

struct zone_snapshot {
  record_set records;
  uint32_t serial = 0; // the SOA serial: grows with every zone
};

/// Thread-safety: any thread may publish() and current().
class zone_holder {
public:
  void publish(std::shared_ptr<const zone_snapshot> zone) {
    std::atomic_store(&zone_, std::move(zone));
  }

  /// The current zone; null until the first publish().
  std::shared_ptr<const zone_snapshot> current() const {
    return std::atomic_load(&zone_);
  }

private:
  std::shared_ptr<const zone_snapshot> zone_;
};

} // namespace dcos::mesos_dns
