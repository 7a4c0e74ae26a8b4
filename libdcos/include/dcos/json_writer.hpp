// A small streaming JSON writer for documents that are not the JSON mapping
// of one protobuf message (Mesos' legacy /state shapes, metrics snapshots).
// For protobuf messages use dcos::to_json (json.hpp).
//
// Commas and quoting are handled; the caller keeps objects and arrays
// balanced. Keys are only valid directly inside an object.
//
// Thread-safety: one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dcos {

class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view name);
  json_writer& value(std::string_view text);
  json_writer& value(const char* text) { return value(std::string_view{text}); }
  json_writer& value(double x);
  json_writer& value(int64_t x);
  json_writer& value(uint64_t x);
  json_writer& value(int x) { return value(static_cast<int64_t>(x)); }
  json_writer& value(bool x);
  json_writer& null();
  /// Inserts already-encoded JSON (e.g. dcos::to_json of a message).
  json_writer& raw(std::string_view json);

  /// key(name).value(x)
  template <class T>
  json_writer& field(std::string_view name, const T& x) {
    return key(name).value(x);
  }

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

private:
  void separate();

  std::string out_;
  std::vector<bool> first_; // per open container: nothing written yet
  bool after_key_ = false;
};

} // namespace dcos
