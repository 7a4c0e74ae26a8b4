#include "rest_call.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/util/json_util.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/json.hpp"

namespace dcos::cli {

using google::protobuf::Struct;
using google::protobuf::Value;

caf::expected<std::string> rest_call(const rest_service& service,
                                     const std::string& method,
                                     const std::string& target,
                                     const std::string& body) {
  auto where = parse_host_port(service.address, service.default_port);
  if (!where)
    return where.error();
  http_call req;
  req.method = method;
  req.host = where->first;
  req.port = where->second;
  req.target = target;
  req.body = body;
  if (!body.empty())
    req.content_type = "application/json";
  auto reply = http_fetch(req);
  if (!reply)
    return reply.error();
  if (reply->status >= 200 && reply->status < 300)
    return reply->body;
  // The service says what is wrong in "message" (and "details" for 422).
  Struct answer;
  std::string why = reply->body;
  if (!from_json(reply->body, &answer, service.name + "'s answer")) {
    auto message = answer.fields().find("message");
    if (message != answer.fields().end())
      why = message->second.string_value();
    if (auto details = answer.fields().find("details");
        details != answer.fields().end())
      for (const auto& d : details->second.list_value().values()) {
        const auto& f = d.struct_value().fields();
        std::vector<std::string> errors;
        if (auto e = f.find("errors"); e != f.end())
          for (const auto& x : e->second.list_value().values())
            errors.push_back(x.string_value());
        why += fmt::format("\n  {}: {}",
                           f.count("path") ? f.at("path").string_value() : "",
                           fmt::join(errors, "; "));
      }
  }
  return make_error(errc::invalid_argument,
                    fmt::format("{} answered {}: {}", service.name,
                                reply->status, why));
}

caf::expected<Struct> parse_answer(const rest_service& service,
                                   const std::string& body) {
  Struct out;
  if (auto err = from_json(body, &out, service.name + "'s answer"))
    return err;
  return out;
}

std::string pretty(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

const Value& field(const Struct& s, const std::string& name) {
  static const Value none;
  auto at = s.fields().find(name);
  return at == s.fields().end() ? none : at->second;
}

std::string number(const Value& v) {
  return fmt::format("{}", v.number_value());
}

std::string read_input(const std::string& file) {
  if (file.empty() || file == "-")
    return {std::istreambuf_iterator<char>(std::cin), {}};
  std::ifstream in{file};
  if (!in)
    return {};
  return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace dcos::cli
