// The request and answer encodings of Mesos' v1 HTTP APIs (the master's
// POST /api/v1 and /api/v1/scheduler, the agent's POST /api/v1), by Mesos'
// rules: a body is JSON (Mesos' mapping)
// or a serialized protobuf, as its Content-Type says; an answer is JSON if
// the Accept header admits it (or is absent), else protobuf if admitted.
//
// Thread-safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include <dcos/http_server.hpp>

namespace dcos {

inline constexpr std::string_view json_media_type = "application/json";
inline constexpr std::string_view protobuf_media_type
  = "application/x-protobuf";

/// Parses the request's body into `*call` by its Content-Type. Returns the
/// response that refuses the request instead: 415 for a Content-Type that is
/// neither JSON nor protobuf, 400 (naming the problem) for a body that does
/// not parse.
std::optional<http_response> parse_call(const http_request& req,
                                        google::protobuf::Message* call);

/// True to answer in protobuf, false in JSON; no value if the Accept header
/// admits neither (the caller answers not_acceptable()).
std::optional<bool> answer_in_protobuf(const http_request& req);

/// The 406 answer for a request whose Accept admits neither encoding.
http_response not_acceptable();

/// parse_call() and answer_in_protobuf() in one: whether to answer in
/// protobuf, or nothing once `respond` has been given the refusal.
std::optional<bool> read_call(const http_request& req,
                              google::protobuf::Message* call,
                              const http_responder& respond);

/// `msg` encoded for the answer: serialized protobuf or Mesos JSON.
std::string encode_answer(const google::protobuf::Message& msg,
                          bool protobuf);

} // namespace dcos
