#include "dcos/json_request.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/json.hpp"

namespace dcos {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Value;

bool is_free_form(const Descriptor* type) {
  const auto& name = type->full_name();
  return name == "google.protobuf.Value" || name == "google.protobuf.Struct"
         || name == "google.protobuf.ListValue";
}

const FieldDescriptor* field_by_json_name(const Descriptor& type,
                                          const std::string& name) {
  for (int i = 0; i < type.field_count(); ++i)
    if (type.field(i)->json_name() == name)
      return type.field(i);
  return nullptr;
}

// One value of `field` (an element, for a repeated field or a map).
void check_element(const FieldDescriptor* field, const Value& v,
                   const std::string& path, std::vector<violation>* out) {
  if (v.kind_case() == Value::kNullValue)
    return;
  auto wrong = [&](std::string_view kind) {
    out->push_back(
      {path, fmt::format("must be {}, not {}", kind, json_kind_name(v))});
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (!v.has_string_value())
        wrong("a string");
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      if (v.kind_case() != Value::kBoolValue)
        wrong("a boolean");
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (!v.has_string_value()) {
        wrong("a string");
        return;
      }
      const auto* type = field->enum_type();
      if (type->FindValueByName(v.string_value()) != nullptr)
        return;
      std::string names;
      for (int i = 0; i < type->value_count(); ++i)
        names += (i > 0 ? ", " : "") + type->value(i)->name();
      out->push_back({path, fmt::format("'{}' is not one of {}",
                                        v.string_value(), names)});
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const auto* type = field->message_type();
      if (type->full_name() == "google.protobuf.Value")
        return;
      if (type->full_name() == "google.protobuf.ListValue") {
        if (!v.has_list_value())
          wrong("an array");
        return;
      }
      if (!v.has_struct_value()) {
        wrong("an object");
        return;
      }
      if (!is_free_form(type))
        check_json_fields(v, *type, path, out);
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      if (v.kind_case() != Value::kNumberValue)
        wrong("a number");
      return;
    default: // integers
      if (v.kind_case() != Value::kNumberValue)
        wrong("an integer");
      else if (std::trunc(v.number_value()) != v.number_value())
        out->push_back({path, fmt::format("must be an integer, not {}",
                                          v.number_value())});
      return;
  }
}

} // namespace

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http_response message_response(unsigned status, std::string_view message) {
  http_response r;
  r.status = status;
  r.body = "{\"message\":";
  append_json_string(r.body, message);
  r.body += '}';
  return r;
}

http_response invalid_object(const std::vector<violation>& violations) {
  // Marathon groups the errors of one path.
  std::map<std::string, std::vector<std::string>> by_path;
  for (const auto& v : violations)
    by_path[v.path].push_back(v.message);
  http_response r;
  r.status = 422;
  r.body = "{\"message\":\"Object is not valid\",\"details\":[";
  bool first = true;
  for (const auto& [path, errors] : by_path) {
    if (!first)
      r.body += ',';
    first = false;
    r.body += "{\"path\":";
    append_json_string(r.body, path);
    r.body += ",\"errors\":[";
    for (size_t i = 0; i < errors.size(); ++i) {
      if (i > 0)
        r.body += ',';
      append_json_string(r.body, errors[i]);
    }
    r.body += "]}";
  }
  r.body += "]}";
  return r;
}

http_response invalid_json(std::string_view why) {
  auto r = message_response(400, "Invalid JSON");
  r.body.pop_back();
  r.body += ",\"details\":[{\"path\":\"/\",\"errors\":[";
  append_json_string(r.body, why);
  r.body += "]}]}";
  return r;
}

std::optional<Value> parse_json_object(std::string_view body,
                                       std::optional<http_response>* refused) {
  Value parsed;
  auto status = google::protobuf::util::JsonStringToMessage(
    google::protobuf::StringPiece{body.data(), body.size()}, &parsed);
  if (!status.ok() || !parsed.has_struct_value()) {
    *refused = invalid_json(status.ok() ? std::string{"a JSON object is "
                                                      "expected"}
                                        : status.message().as_string());
    return std::nullopt;
  }
  return parsed;
}

bool is_empty_value(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue: return true;
    case Value::kNumberValue: return v.number_value() == 0;
    case Value::kStringValue: return v.string_value().empty();
    case Value::kListValue: return v.list_value().values_size() == 0;
    case Value::kStructValue: return v.struct_value().fields_size() == 0;
    default: return false;
  }
}

std::string_view json_kind_name(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue: return "null";
    case Value::kNumberValue: return "a number";
    case Value::kStringValue: return "a string";
    case Value::kBoolValue: return "a boolean";
    case Value::kListValue: return "an array";
    case Value::kStructValue: return "an object";
    default: return "nothing";
  }
}

std::string_view expected_json_kind(const FieldDescriptor* field,
                                    const Value& v) {
  if (v.kind_case() == Value::kNullValue)
    return {};
  if (field->is_map())
    return v.has_struct_value() ? "" : "an object";
  if (field->is_repeated())
    return v.has_list_value() ? "" : "an array";
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_ENUM:
      return v.has_string_value() ? "" : "a string";
    case FieldDescriptor::CPPTYPE_BOOL:
      return v.kind_case() == Value::kBoolValue ? "" : "a boolean";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return v.has_struct_value() ? "" : "an object";
    default:
      return v.kind_case() == Value::kNumberValue ? "" : "a number";
  }
}

void check_json_fields(const Value& object, const Descriptor& type,
                       std::string_view prefix, std::vector<violation>* out,
                       const std::vector<std::string>& skip) {
  for (const auto& [name, value] : object.struct_value().fields()) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end())
      continue;
    auto path = fmt::format("{}/{}", prefix, name);
    const auto* field = field_by_json_name(type, name);
    if (field == nullptr) {
      out->push_back({path, "unknown field"});
      continue;
    }
    if (value.kind_case() == Value::kNullValue)
      continue;
    if (field->is_map()) {
      if (!value.has_struct_value()) {
        out->push_back({path, fmt::format("must be an object, not {}",
                                          json_kind_name(value))});
        continue;
      }
      const auto* mapped = field->message_type()->map_value();
      for (const auto& [key, element] : value.struct_value().fields())
        check_element(mapped, element, fmt::format("{}/{}", path, key), out);
    } else if (field->is_repeated()) {
      if (!value.has_list_value()) {
        out->push_back({path, fmt::format("must be an array, not {}",
                                          json_kind_name(value))});
        continue;
      }
      const auto& list = value.list_value().values();
      for (int i = 0; i < list.size(); ++i)
        check_element(field, list[i], fmt::format("{}({})", path, i), out);
    } else {
      check_element(field, value, path, out);
    }
  }
}

} // namespace dcos
