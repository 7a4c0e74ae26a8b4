// Marathon app definitions: reading one from a request as Marathon does
// (its defaults, its validation rules and its error answers), and the
// paths that name apps.
//
// Thread-safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dcos/http_server.hpp>
#include <dcos/json_request.hpp>
#include <dcos/placement_constraint.hpp>
#include <google/protobuf/struct.pb.h>

#include "marathon.pb.h"

namespace dcos::marathon {

/// `id` as an absolute path ("web" -> "/web", "/a/b/" -> "/a/b"), relative
/// to `base` ("/" unless the app is read for a group).
std::string absolute_app_id(std::string_view id, std::string_view base = "/");

/// The app's id as the first part of its task ids and its store keys:
/// "/shop/web" -> "shop_web" ('_' never occurs in an app id).
std::string app_id_key(std::string_view absolute_id);

/// The rules that are not about one field alone, and those of each field:
/// violations of `app` (already normalized), empty if it is valid.
std::vector<violation> validate_app(const App& app);

/// Fills in Marathon's defaults for what `app` leaves out: instances 1,
/// cpus 1, mem 128, disk 0, one port definition (port 0), backoff 1 s
/// x1.15 up to 300 s, upgradeStrategy 1/1 (0.5/0 when resident),
/// killSelection YOUNGEST_FIRST, unreachableStrategy 300 s inactive, 600 s
/// expunged (disabled when resident); a persistent volume RW on root
/// disk, residency 3600 s and WAIT_FOREVER (deprecated in Marathon: no
/// effect); for each health check protocol HTTP, path "/", portIndex 0, grace
/// 300 s, interval 60 s, timeout 20 s, 3 failures, delay 15 s.
void apply_defaults(App* app);

/// Reads the app definition in `body` (JSON). `path_id` is the id named by
/// the URL (PUT /v2/apps/{id}; empty for POST): it wins over the body's.
/// On success `*app` is the normalized, defaulted, valid definition with
/// the read-only fields cleared. Otherwise answers what Marathon answers:
/// 400 for a body that is not JSON, 422 (with the paths) for a field of the
/// wrong type, an unknown field or a rule broken.
std::optional<http_response> read_app(std::string_view body,
                                      std::string_view path_id, App* app);

/// Applies a partial definition (PATCH, or PUT with ?partialUpdate=true)
/// to `current`: the fields `body` names replace those of `current`.
/// Answers as read_app() on failure.
std::optional<http_response> patch_app(std::string_view body,
                                       const App& current, App* app);

/// Reads a group update (POST /v2/groups, PUT /v2/groups/{id}): `id`,
/// `apps` (each read as read_app() reads one, ids relative to the group),
/// `groups` (recursively), `dependencies` (relative to the group), and at
/// the top `scaleBy`. `path_id` (from the URL) wins over the body's id.
/// Answers as read_app() on failure; a `version` is refused (a rollback,
/// PUT {"version": ...} alone, is not an update: the HTTP edge routes it).
std::optional<http_response> read_group_update(std::string_view body,
                                               std::string_view path_id,
                                               GroupUpdate* update);

/// The group an app or group is in: "/a/b" -> "/a", "/a" -> "/".
std::string parent_group(std::string_view id);

/// Whether `a` and `b` define the same tasks: equal apart from their
/// instances, versions and what Marathon fills in its answers.
bool same_definition(const App& a, const App& b);

/// Whether `app` is resident: it has a local persistent volume, so its
/// instances live on reserved resources of one agent each.
bool is_resident(const App& app);

/// Marathon's rules for changing a resident app (or making an app
/// resident): its persistent volumes, cpus, mem, disk, requirePorts and
/// host ports stay as they were, because its reservations hold them.
/// Violations of `to` replacing `from`; empty if the change is allowed.
std::vector<violation> resident_update_violations(const App& from,
                                                  const App& to);

/// `msg` as Marathon's JSON (dcos::to_json's marathon style), with a
/// disabled unreachableStrategy printed as Marathon does: "disabled".
std::string to_marathon_json(const google::protobuf::Message& msg);

/// The app's constraints, parsed. REQUIRES: validate_app(app) is empty.
std::vector<placement_constraint> constraints_of(const App& app);

} // namespace dcos::marathon
