// Service specs: the YAML file that describes a stateful service to the
// SDK, in dcos-commons' schema (svc.yml). A spec names the pods (groups of
// tasks that share resources and volumes and are placed together), how many
// instances of each to run, and the plans that deploy, update, back up or
// restore them (dcos/plan.hpp):
//
//   name: redis
//   scheduler: {principal: redis-principal, user: root}
//   pods:
//     node:
//       count: 3
//       placement: '[["hostname", "UNIQUE"]]'
//       volume: {path: data, type: ROOT, size: 512}
//       tasks:
//         server:
//           goal: RUNNING
//           cmd: redis-server --port $PORT_REDIS --dir data
//           cpus: 0.5
//           memory: 256
//           ports: {redis: {port: 0, env-key: PORT_REDIS, vip: {port: 6379}}}
//   plans:
//     deploy:
//       strategy: serial
//       phases:
//         nodes: {pod: node, strategy: serial-canary}
//
// The keys and their meaning are dcos-commons' (its YAML reference), with
// these differences: an unknown key is an error at every level (dcos-commons
// ignores them under a pod), and the features libdcos does not offer yet
// (secrets, networks, rlimits, GPUs, TLS, labels) are refused as unknown
// keys rather than ignored.
//
// Every error names the YAML path and line of what is wrong:
// "pods.node.count (line 5): must not be negative". A spec that parses
// is consistent: every phase names a pod of the spec, every step names
// tasks of its pod, every task has resources (its own or a resource set's)
// and a command.
//
// Thread-safety: plain functions.
#pragma once

#include <map>
#include <string>

#include <vector>

#include <caf/expected.hpp>

#include <dcos/placement_constraint.hpp>
#include <dcos/v1/service.pb.h>

namespace dcos {

/// Parses a spec from YAML text. Fails with errc::invalid_argument saying
/// what is wrong and where. Config templates are not read (they are named
/// relative to the spec's file; see load_service_spec). The text is not a
/// template: render it first if it has {{VARIABLES}}.
caf::expected<v1::ServiceSpec> parse_service_spec(const std::string& yaml);

/// Reads the spec in the file at `path`, renders it as a mustache template
/// with `env` (as dcos-commons renders svc.yml from the scheduler's
/// environment: `count: {{NODE_COUNT}}`; see dcos/config_template.hpp),
/// parses it, and reads the config templates it names (relative to the
/// file's directory) into the spec. Error lines are those of the rendered
/// text, the file's own unless a section spans lines. Fails with
/// errc::not_found if the file cannot be read.
caf::expected<v1::ServiceSpec>
load_service_spec(const std::string& path,
                  const std::map<std::string, std::string>& env = {});

/// The pod named `name` in `spec`, or nullptr.
const v1::ServiceSpec::Pod* find_pod(const v1::ServiceSpec& spec,
                                     const std::string& name);

/// The task named `name` in `pod`, or nullptr.
const v1::ServiceSpec::Task* find_task(const v1::ServiceSpec::Pod& pod,
                                       const std::string& name);

/// The placement rules of `pod` (its `placement`, kept in Marathon's JSON
/// form). Fails with errc::invalid_argument only for a pod that did not
/// come from parse_service_spec().
caf::expected<std::vector<placement_constraint>>
pod_placement(const v1::ServiceSpec::Pod& pod);

/// "<pod>-<index>", the name of a pod instance.
std::string pod_instance_name(const std::string& pod, uint32_t index);

/// "<pod>-<index>-<task>", the name of a task of a pod instance.
std::string pod_task_name(const std::string& pod, uint32_t index,
                          const std::string& task);

} // namespace dcos
