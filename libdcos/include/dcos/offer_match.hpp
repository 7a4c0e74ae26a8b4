// Whether one more task fits into what is left of an offer, and with which
// of its resources: the offer matcher's step, part of the launch machinery
// every scheduler of the user space shares (DESIGN.md; Marathon's apps and
// Metronome's job runs go through it). The caller builds its own TaskInfo
// from the match.
//
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <vector>

#include <dcos/placement_constraint.hpp>
#include <dcos/resources.hpp>
#include <dcos/v1/offer.pb.h>

namespace dcos {

/// A host port a task needs.
struct host_port_request {
  int fixed = 0;             // 0: any port of the offer (the lowest free)
  std::string fixed_by;      // the field that fixes it, for messages
};

/// What one task needs.
struct task_demand {
  double cpus = 0;
  double mem = 0;
  double disk = 0;
  double gpus = 0;
  /// The roles whose resources it may use; empty: any the offer has.
  std::vector<std::string> accepted_roles;
  std::vector<host_port_request> host_ports;
};

/// What matching gave: the resources to use, or why the offer does not do.
struct offer_match {
  bool fits = false;
  resources used;               // allocated to the offer's role(s)
  std::vector<int> host_ports;  // one per request, in order
  std::string reason;           // when it does not fit: a sentence
  // ...and Marathon's name for it, as its launch queue counts them:
  // UnfulfilledConstraint, InsufficientCpus, InsufficientMemory,
  // InsufficientDisk, InsufficientGpus, InsufficientPorts or
  // UnfulfilledRole.
  std::string reason_code;
};

/// Matches `demand` against `available` (what is left of `offer`), on the
/// offer's site, given the sites of the other instances `constraints`
/// count. Reserved resources are used before unreserved ones; a fixed host
/// port must be offered, the others get the lowest free ports.
offer_match match_offer(const task_demand& demand,
                        const std::vector<placement_constraint>& constraints,
                        const v1::Offer& offer, const resources& available,
                        const std::vector<placement_site>& placed);

} // namespace dcos
