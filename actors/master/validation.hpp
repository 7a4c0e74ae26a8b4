// Validation of what frameworks ask the master to do: launches (tasks and
// task groups) and the reservation/volume operations. Pure functions over
// the master's records (they change nothing but the task info they are
// given, which gets defaults filled in).
//
// Every error names the offending field, e.g.
//   "task 'web.1': resources: cpus:2 exceed what the offers hold (cpus:1)".
#pragma once

#include <map>
#include <string>

#include <caf/expected.hpp>

#include "dcos/resources.hpp"
#include "dcos/wire_types.hpp"
#include "master_state.hpp"

namespace dcos::kernel {

/// An errc::invalid_argument error saying `message` (which names the
/// field), as every refused call of the master's is.
caf::error invalid(std::string message);

/// What a valid launch takes from the offered resources.
struct launch_plan {
  resources task_resources;     // allocated form
  resources executor_resources; // allocated form; empty unless new executor
  bool new_executor = false;
};

/// Checks one task of a LAUNCH (or, with `group_executor`, of a
/// LAUNCH_GROUP) against the framework's tasks, the agent's executors and
/// the resources still unused in the accepted offers. Tasks without
/// allocation_info on their resources get `offer_role`.
caf::expected<launch_plan>
validate_task(v1::TaskInfo& task, const framework_record& fw,
              const agent_record& agent, const resources& remaining,
              const std::string& offer_role,
              const v1::ExecutorInfo* group_executor = nullptr);

/// Checks a whole task group; on success returns the plans in task order and
/// (first) the group executor's own resources if it is new.
caf::expected<std::vector<launch_plan>>
validate_task_group(v1::ExecutorInfo& executor, v1::TaskGroupInfo& group,
                    const framework_record& fw, const agent_record& agent,
                    const resources& remaining, const std::string& offer_role);

/// The resources of a RESERVE/UNRESERVE/CREATE/DESTROY operation, validated
/// for `fw`; `to` is what `from` becomes. Both in allocated form.
struct conversion {
  resources from;
  resources to;
};

caf::expected<conversion>
validate_reserve(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                 const framework_record* fw, const std::string& offer_role);
caf::expected<conversion>
validate_unreserve(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                   const framework_record* fw, const std::string& offer_role);
caf::expected<conversion>
validate_create(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                const agent_record& agent, const std::string& offer_role);
caf::expected<conversion>
validate_destroy(const google::protobuf::RepeatedPtrField<v1::Resource>& xs,
                 const std::string& offer_role);
/// GROW_VOLUME: `volume` (a persistent volume, not on a MOUNT disk, not
/// shared) takes in `addition`, disk of the same reservation and source.
caf::expected<conversion> validate_grow(const v1::Resource& volume,
                                        const v1::Resource& addition);
/// SHRINK_VOLUME: `volume` gives back `subtract` (more than 0, less than
/// its size) as disk of its reservation and source.
caf::expected<conversion> validate_shrink(const v1::Resource& volume,
                                          const v1::Value::Scalar& subtract);

/// Task and executor ids end up in paths: no '/', no whitespace, not "."
/// or "..", not empty.
caf::error validate_id(std::string_view what, const std::string& id);

} // namespace dcos::kernel
