// The allocator's interface: the master tells it about agents, frameworks and
// returned resources; it answers with offers (offer_batch) to the client
// given at spawn time.
//
// These messages never leave the master's process (the allocator runs beside
// the master, also in the simulation), so they carry compact C++ types, not
// protobuf messages; CAF is told they are local-only.
//
// Resource amounts handed to the allocator for a framework carry the role
// they are allocated to (resource::allocation_role), as offers do.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/timestamp.hpp>
#include <caf/typed_actor.hpp>

#include <dcos/atoms.hpp>
#include <dcos/resources.hpp>

namespace dcos::alloc {

/// Scalar amounts by resource name, in thousandths (as resource::milli).
using quantities = std::map<std::string, int64_t>;

// -- agents --------------------------------------------------------------------

/// A new or re-registered agent with what its tasks already use.
struct add_agent {
  std::string agent_id;
  resources total; // including reservations and volumes
  std::vector<std::pair<std::string, resources>> used; // framework -> used
};

struct remove_agent {
  std::string agent_id;
};

/// The agent's total changed (RESERVE, UNRESERVE, CREATE, DESTROY) while
/// its free resources were not offered.
struct update_agent {
  std::string agent_id;
  resources total;
};

/// Inactive agents are kept but get no offers (disconnected, draining).
struct activate_agent {
  std::string agent_id;
  bool active = true;
};

// -- frameworks ----------------------------------------------------------------

struct add_framework {
  std::string framework_id;
  std::vector<std::string> roles;
  std::vector<std::string> suppressed_roles;
  bool active = true;
  std::vector<std::pair<std::string, resources>> used; // agent -> used
};

struct remove_framework {
  std::string framework_id;
};

/// Inactive frameworks (disconnected, failing over) get no offers.
struct activate_framework {
  std::string framework_id;
  bool active = true;
};

struct update_framework {
  std::string framework_id;
  std::vector<std::string> roles;
  std::vector<std::string> suppressed_roles;
};

/// Resources allocated to a framework come back (declined, unused part of an
/// accepted offer, rescinded, task ended). With `refuse`, the framework is
/// not offered those resources on that agent again for that long.
struct recover {
  std::string framework_id;
  std::string agent_id;
  resources amount;
  std::optional<caf::timespan> refuse;
};

/// Allocated resources changed shape without changing owner: `from` became
/// `to` (an accepted RESERVE, UNRESERVE, CREATE or DESTROY).
struct convert {
  std::string framework_id;
  std::string agent_id;
  resources from;
  resources to;
};

/// An operator changes free resources of an agent (RESERVE_RESOURCES,
/// UNRESERVE_RESOURCES): `from` (unallocated form) becomes `to`, in the
/// agent's total and free resources at once. Answers false, changing
/// nothing, if `from` is not free right now.
struct convert_free {
  std::string agent_id;
  resources from;
  resources to;
};

/// No offers for `roles` (all of the framework's roles if empty).
struct suppress {
  std::string framework_id;
  std::vector<std::string> roles;
};

/// Offers again for `roles` (all if empty), and forget the framework's
/// filters for them.
struct revive {
  std::string framework_id;
  std::vector<std::string> roles;
};

// -- operator settings ---------------------------------------------------------

struct set_weights {
  std::vector<std::pair<std::string, double>> weights;
};

/// Quota of one role: `guarantees` are allocated before fair sharing (and
/// held back from other roles until met); `limits` are never exceeded.
/// Empty maps remove the quota.
struct set_quota {
  std::string role;
  quantities guarantees;
  quantities limits;
};

// -- output --------------------------------------------------------------------

/// Resources allocated to one framework in one allocation pass, per agent.
/// The allocator counts them as allocated until they are recovered.
struct offer_batch {
  std::string framework_id;
  std::vector<std::pair<std::string, resources>> agents;
};

/// Counters for /metrics.
struct allocator_stats {
  uint64_t allocation_runs = 0;
  double last_run_ms = 0;
  double total_run_ms = 0;
  uint64_t offers_made = 0;     // (framework, agent) pairs offered
  uint64_t events = 0;          // messages handled
  uint64_t filters_active = 0;
};

/// Asks for an immediate pass over every agent (tests, benchmarks); the
/// reply comes after the pass and its offers were sent.
struct allocate_now {};

} // namespace dcos::alloc

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::add_agent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::remove_agent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::update_agent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::activate_agent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::add_framework)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::remove_framework)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::activate_framework)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::update_framework)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::recover)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::convert)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::convert_free)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::suppress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::revive)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::set_weights)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::set_quota)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::offer_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::allocator_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dcos::alloc::allocate_now)

namespace dcos {

/// Where offers go: the master (or a test).
using allocator_client = caf::typed_actor<caf::reacts_to<alloc::offer_batch>>;

using allocator_actor = caf::typed_actor<
  caf::reacts_to<alloc::add_agent>, caf::reacts_to<alloc::remove_agent>,
  caf::reacts_to<alloc::update_agent>, caf::reacts_to<alloc::activate_agent>,
  caf::reacts_to<alloc::add_framework>,
  caf::reacts_to<alloc::remove_framework>,
  caf::reacts_to<alloc::activate_framework>,
  caf::reacts_to<alloc::update_framework>, caf::reacts_to<alloc::recover>,
  caf::reacts_to<alloc::convert>,
  caf::replies_to<alloc::convert_free>::with<bool>,
  caf::reacts_to<alloc::suppress>,
  caf::reacts_to<alloc::revive>, caf::reacts_to<alloc::set_weights>,
  caf::reacts_to<alloc::set_quota>,
  caf::replies_to<alloc::allocate_now>::with<alloc::allocator_stats>,
  caf::replies_to<metrics_atom>::with<alloc::allocator_stats>>;

struct allocator_config {
  /// Period of the full allocation pass; events (new agent, returned
  /// resources, new framework, revive) trigger extra passes in between,
  /// coalesced so that a burst of events costs one pass.
  caf::timespan allocation_interval = std::chrono::seconds(1);
  /// Seeds the agent shuffle of each pass.
  uint64_t seed = 0;
};

/// Spawns the hierarchical weighted-DRF allocator; offers go to `client`.
allocator_actor spawn_allocator(caf::actor_system& sys,
                                allocator_client client,
                                allocator_config cfg = {});

} // namespace dcos
