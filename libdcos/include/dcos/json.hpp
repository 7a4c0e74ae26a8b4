// JSON for protobuf messages, in the two dialects libdcos speaks.
//
// Parsing is protobuf's own JSON mapping (it accepts snake_case and camelCase
// names, numbers or strings for 64-bit integers, enum names).
//
// Printing walks the message by reflection instead of using protobuf's
// printer, because the proto3 mapping prints 64-bit integers as strings
// ("begin": "31000") where Mesos and its clients expect numbers. Otherwise the
// output follows the mapping: fields that are unset (or proto3 defaults
// without presence) are omitted, enums print by name, bytes as base64, maps
// as objects; google.protobuf.Struct, Value and ListValue as the free-form
// JSON they hold.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <google/protobuf/message.h>

namespace dcos {

enum class json_style {
  mesos,    // snake_case field names, as in the Mesos HTTP APIs
  marathon, // lowerCamelCase field names, and lists and maps printed even
            // when empty, as in the Marathon REST API
};

/// Prints `msg` as a JSON object.
std::string to_json(const google::protobuf::Message& msg,
                    json_style style = json_style::mesos);

/// Parses `text` into `*out` (cleared first). On failure `*out` is left
/// cleared and the error says `what` was being parsed and why, e.g.
/// "request body: invalid JSON at offset 12".
caf::error from_json(std::string_view text, google::protobuf::Message* out,
                     std::string_view what);

/// Appends `text` as a JSON string literal (quoted, escaped) to `out`.
void append_json_string(std::string& out, std::string_view text);

} // namespace dcos
