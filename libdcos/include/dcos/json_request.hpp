// Reading a JSON request body into a protobuf message the way Marathon and
// Metronome answer a bad one: 400 for a body that is not a JSON object, 422
// {"message": "Object is not valid", "details": [{"path", "errors"}]} naming
// the path of every field that is wrong ("/run/cpus", "/schedules(0)/cron",
// "/" for the object as a whole). Shared by the user-space services whose
// REST APIs descend from Marathon's.
//
// Thread-safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>

#include <dcos/http_server.hpp>

namespace dcos {

/// One entry of a 422 answer: the JSON path that is wrong, and why.
struct violation {
  std::string path;    // "/instances", "/constraints(0)", "/" for the object
  std::string message;
};

/// The 422 answer listing `violations`, grouped by path (in path order).
http_response invalid_object(const std::vector<violation>& violations);

/// A JSON answer: `body` with `status`.
http_response json_response(unsigned status, std::string body);

/// The error answer {"message": ...} with `status`.
http_response message_response(unsigned status, std::string_view message);

/// The 400 answer to a body that is not JSON: {"message": "Invalid JSON",
/// "details": [{"path": "/", "errors": [why]}]}.
http_response invalid_json(std::string_view why);

/// Parses `body` as a JSON object. On failure returns nullopt and sets
/// `*refused` to the 400 answer.
std::optional<google::protobuf::Value>
parse_json_object(std::string_view body,
                  std::optional<http_response>* refused);

/// True if `v` is null, 0, "", [] or {}: how a service's own answers carry
/// a part of a definition that is not used.
bool is_empty_value(const google::protobuf::Value& v);

/// "a number", "a string", "an object"... as an error message names the
/// kind of `v`.
std::string_view json_kind_name(const google::protobuf::Value& v);

/// The JSON kind `field` takes ("an array", "a string"...), or "" if `v`
/// has it; null fits every field. An enum takes a string.
std::string_view expected_json_kind(const google::protobuf::FieldDescriptor* field,
                                    const google::protobuf::Value& v);

/// Checks `object` (a JSON object) against `type` all the way down: every
/// field it gives must be one of `type`'s (by JSON name) and of the right
/// kind, an enum's value one of its names, and the same for nested
/// objects, the elements of arrays and the values of maps. Appends a
/// violation for each that is not, with its path under `prefix` ("" for
/// the top): "unknown field", "must be a number, not a string", "'X' is not
/// one of A, B". Fields named in `skip` (top level only) are not checked.
void check_json_fields(const google::protobuf::Value& object,
                       const google::protobuf::Descriptor& type,
                       std::string_view prefix,
                       std::vector<violation>* out,
                       const std::vector<std::string>& skip = {});

} // namespace dcos
