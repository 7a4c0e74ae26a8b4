#include "dcos/api_encoding.hpp"

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "dcos/error.hpp"
#include "dcos/json.hpp"

namespace dcos {

std::optional<http_response> parse_call(const http_request& req,
                                        google::protobuf::Message* call) {
  // Mesos' wording, which clients and scripts match on.
  const auto& name = call->GetDescriptor()->name();
  if (req.content_type_is(protobuf_media_type)) {
    if (!call->ParseFromString(req.body))
      return json_error(400, fmt::format("Failed to parse body into {} "
                                         "protobuf",
                                         name));
    return std::nullopt;
  }
  if (!req.content_type_is(json_media_type))
    return json_error(415, fmt::format("Expecting 'Content-Type' of {} or {}",
                                       json_media_type, protobuf_media_type));
  auto what = fmt::format("Failed to convert JSON into {} protobuf", name);
  auto err = from_json(req.body, call, what);
  if (!err)
    return std::nullopt;
  // Only a refused body pays for telling bad JSON from a bad call.
  google::protobuf::Value any;
  if (auto syntax = from_json(req.body, &any, "Failed to parse body into JSON"))
    err = std::move(syntax);
  return json_error(400, describe_reason(err));
}

std::optional<bool> answer_in_protobuf(const http_request& req) {
  if (req.accepts(json_media_type))
    return false;
  if (req.accepts(protobuf_media_type))
    return true;
  return std::nullopt;
}

http_response not_acceptable() {
  return json_error(406, fmt::format("Expecting 'Accept' to allow '{}' or "
                                     "'{}'",
                                     protobuf_media_type, json_media_type));
}

std::optional<bool> read_call(const http_request& req,
                              google::protobuf::Message* call,
                              const http_responder& respond) {
  if (auto refused = parse_call(req, call)) {
    respond(std::move(*refused));
    return std::nullopt;
  }
  auto protobuf = answer_in_protobuf(req);
  if (!protobuf)
    respond(not_acceptable());
  return protobuf;
}

std::string encode_answer(const google::protobuf::Message& msg,
                          bool protobuf) {
  return protobuf ? msg.SerializeAsString() : to_json(msg);
}

} // namespace dcos
