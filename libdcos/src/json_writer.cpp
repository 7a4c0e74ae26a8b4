#include "dcos/json_writer.hpp"

#include <cmath>

#include <fmt/format.h>

#include "dcos/json.hpp"

namespace dcos {

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back())
      out_ += ',';
    first_.back() = false;
  }
}

json_writer& json_writer::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_object() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

json_writer& json_writer::begin_array() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

json_writer& json_writer::end_array() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view text) {
  separate();
  append_json_string(out_, text);
  return *this;
}

json_writer& json_writer::value(double x) {
  separate();
  if (std::isfinite(x))
    fmt::format_to(std::back_inserter(out_), "{}", x);
  else
    out_ += "null";
  return *this;
}

json_writer& json_writer::value(int64_t x) {
  separate();
  fmt::format_to(std::back_inserter(out_), "{}", x);
  return *this;
}

json_writer& json_writer::value(uint64_t x) {
  separate();
  fmt::format_to(std::back_inserter(out_), "{}", x);
  return *this;
}

json_writer& json_writer::value(bool x) {
  separate();
  out_ += x ? "true" : "false";
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

} // namespace dcos
