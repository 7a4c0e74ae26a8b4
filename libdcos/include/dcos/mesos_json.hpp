// Writers for the pieces of Mesos' legacy JSON (the /state endpoints of the
// master and agents, which Mesos-DNS, dashboards and scripts read) that
// several documents share: resources as {"cpus": 4, "ports": "[31000-32000]"},
// attributes, and a task's status entries.
//
// These shapes are not the JSON mapping of any protobuf message (for that use
// dcos::to_json, json.hpp), so they are written with json_writer.
//
// Thread-safety: plain functions; one json_writer per thread.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <dcos/json_writer.hpp>
#include <dcos/v1/resources.pb.h>
#include <dcos/v1/task.pb.h>

namespace dcos {

/// Resources as Mesos prints them in legacy JSON: scalars as numbers,
/// ranges as "[a-b, c-d]", sets as "{a, b}"; every name summed over roles
/// and reservations; cpus, mem, disk and gpus always present (0 if absent).
/// Resources that do not parse are written as an empty object.
void write_resources_object(
  json_writer& w,
  const google::protobuf::RepeatedPtrField<v1::Resource>& resources);

/// Attributes as an object: {"rack": "r1", "level": 2, "ports": "[1-2]"}.
void write_attributes_object(
  json_writer& w,
  const google::protobuf::RepeatedPtrField<v1::Attribute>& attributes);

/// One entry of a task's "statuses" array: state, timestamp, and healthy
/// and container_status when the status has them.
void write_status_entry(json_writer& w, const v1::TaskStatus& status);

} // namespace dcos
