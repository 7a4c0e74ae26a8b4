#include "dcos/json.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/error.hpp"

namespace dcos {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void print_message(const Message& msg, json_style style, std::string& out);

void print_double(double x, std::string& out) {
  if (std::isfinite(x))
    fmt::format_to(std::back_inserter(out), "{}", x);
  else
    out += std::isnan(x) ? "\"NaN\"" : (x > 0 ? "\"Infinity\"" : "\"-Infinity\"");
}

void append_base64(std::string& out, const std::string& bytes) {
  static constexpr char alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out += '"';
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8)
                 | uint8_t(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  out += '"';
}

// Prints element `index` of a repeated field, or the singular field when
// index < 0.
void print_value(const Message& msg, const FieldDescriptor* field, int index,
                 json_style style, std::string& out) {
  const Reflection* refl = msg.GetReflection();
  bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      fmt::format_to(std::back_inserter(out), "{}",
                     rep ? refl->GetRepeatedInt32(msg, field, index)
                         : refl->GetInt32(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      fmt::format_to(std::back_inserter(out), "{}",
                     rep ? refl->GetRepeatedInt64(msg, field, index)
                         : refl->GetInt64(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      fmt::format_to(std::back_inserter(out), "{}",
                     rep ? refl->GetRepeatedUInt32(msg, field, index)
                         : refl->GetUInt32(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      fmt::format_to(std::back_inserter(out), "{}",
                     rep ? refl->GetRepeatedUInt64(msg, field, index)
                         : refl->GetUInt64(msg, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      print_double(rep ? refl->GetRepeatedDouble(msg, field, index)
                       : refl->GetDouble(msg, field),
                   out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      print_double(rep ? refl->GetRepeatedFloat(msg, field, index)
                       : refl->GetFloat(msg, field),
                   out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out += (rep ? refl->GetRepeatedBool(msg, field, index)
                  : refl->GetBool(msg, field))
               ? "true"
               : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = rep ? refl->GetRepeatedEnumValue(msg, field, index)
                       : refl->GetEnumValue(msg, field);
      if (auto value = field->enum_type()->FindValueByNumber(number))
        append_json_string(out, value->name());
      else
        fmt::format_to(std::back_inserter(out), "{}", number);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text
        = rep ? refl->GetRepeatedStringReference(msg, field, index, &scratch)
              : refl->GetStringReference(msg, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES)
        append_base64(out, text);
      else
        append_json_string(out, text);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      print_message(rep ? refl->GetRepeatedMessage(msg, field, index)
                        : refl->GetMessage(msg, field),
                    style, out);
      break;
  }
}

void print_map(const Message& msg, const FieldDescriptor* field,
               json_style style, std::string& out) {
  const Reflection* refl = msg.GetReflection();
  const auto* key_field = field->message_type()->map_key();
  const auto* value_field = field->message_type()->map_value();
  out += '{';
  int n = refl->FieldSize(msg, field);
  for (int i = 0; i < n; ++i) {
    if (i > 0)
      out += ',';
    const Message& entry = refl->GetRepeatedMessage(msg, field, i);
    std::string key;
    print_value(entry, key_field, -1, style, key);
    if (key.empty() || key.front() != '"')
      append_json_string(out, key); // JSON keys are always strings
    else
      out += key;
    out += ':';
    print_value(entry, value_field, -1, style, out);
  }
  out += '}';
}

void print_message(const Message& msg, json_style style, std::string& out) {
  // Struct, Value and ListValue stand for free-form JSON (Marathon's
  // constraints are arrays of arrays): protobuf's printer writes them as
  // that JSON, and they hold no 64-bit integers to print differently.
  if (msg.GetDescriptor()->file()->name() == "google/protobuf/struct.proto") {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(msg, &json);
    out += json;
    return;
  }
  const Reflection* refl = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(msg, &fields); // set fields only, in field-number order
  if (style == json_style::marathon) {
    // Marathon prints its lists and maps even when they are empty.
    const auto* descriptor = msg.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      if (field->is_repeated() && refl->FieldSize(msg, field) == 0)
        fields.push_back(field);
    }
    std::sort(fields.begin(), fields.end(),
              [](const FieldDescriptor* a, const FieldDescriptor* b) {
                return a->number() < b->number();
              });
  }
  out += '{';
  bool first = true;
  for (const auto* field : fields) {
    if (!first)
      out += ',';
    first = false;
    append_json_string(out, style == json_style::mesos ? field->name()
                                                       : field->json_name());
    out += ':';
    if (field->is_map()) {
      print_map(msg, field, style, out);
    } else if (field->is_repeated()) {
      out += '[';
      int n = refl->FieldSize(msg, field);
      for (int i = 0; i < n; ++i) {
        if (i > 0)
          out += ',';
        print_value(msg, field, i, style, out);
      }
      out += ']';
    } else {
      print_value(msg, field, -1, style, out);
    }
  }
  out += '}';
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}",
                         static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  out += '"';
}

std::string to_json(const Message& msg, json_style style) {
  std::string out;
  print_message(msg, style, out);
  return out;
}

caf::error from_json(std::string_view text, Message* out,
                     std::string_view what) {
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
    google::protobuf::StringPiece{text.data(), text.size()}, out, options);
  if (status.ok())
    return {};
  out->Clear();
  return make_error(errc::parse_error,
                    fmt::format("{}: {}", what, status.message().as_string()));
}

} // namespace dcos
