// Calls to the services' REST APIs from the dcos tool (Marathon, Metronome):
// one request, its JSON answer, and the service's own error message (with
// the path of each error of a 422) when it refuses. Blocking: a tool, not
// an actor.
#pragma once

#include <string>

#include <caf/expected.hpp>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

namespace dcos::cli {

/// A service's REST endpoint: its name for messages ("Marathon"), and
/// HOST:PORT (the port defaults to `default_port`).
struct rest_service {
  std::string name;
  std::string address;
  uint16_t default_port = 0;
};

/// `method` `target` (with a JSON `body`, if any): the answer on 2xx, else
/// an error with the service's message ("message", and "details" of a
/// 422: path and errors, one per line).
caf::expected<std::string> rest_call(const rest_service& service,
                                     const std::string& method,
                                     const std::string& target,
                                     const std::string& body = {});

/// Parses a JSON object answered by `service`.
caf::expected<google::protobuf::Struct>
parse_answer(const rest_service& service, const std::string& body);

/// `m` as indented JSON.
std::string pretty(const google::protobuf::Message& m);

/// The field `name` of `s`, or a null value.
const google::protobuf::Value& field(const google::protobuf::Struct& s,
                                     const std::string& name);

/// A JSON number as the tools print it ("0.5", "128").
std::string number(const google::protobuf::Value& v);

/// The contents of `file`, or of stdin for "" and "-"; "" if unreadable.
std::string read_input(const std::string& file);

} // namespace dcos::cli
