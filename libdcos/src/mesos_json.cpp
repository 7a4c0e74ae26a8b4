#include "dcos/mesos_json.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "dcos/json.hpp"
#include "dcos/resources.hpp"

namespace dcos {

namespace {

// "[a-b, c-d]", as Mesos prints ranges.
template <class Ranges>
std::string ranges_text(const Ranges& ranges) {
  std::string text = "[";
  bool first = true;
  for (const auto& r : ranges) {
    text += fmt::format("{}{}-{}", first ? "" : ", ", r.begin, r.end);
    first = false;
  }
  return text + "]";
}

// "{a, b}", as Mesos prints sets.
template <class Items>
std::string set_text(const Items& items) {
  return fmt::format("{{{}}}", fmt::join(items, ", "));
}

} // namespace

void write_resources_object(
  json_writer& w,
  const google::protobuf::RepeatedPtrField<v1::Resource>& wire) {
  auto parsed = resources::from_proto(wire);
  w.begin_object();
  if (parsed) {
    auto flat = parsed->flatten();
    // Mesos always shows these four, even at zero.
    static const char* const always[] = {"cpus", "mem", "disk", "gpus"};
    for (const char* name : always)
      w.field(name, flat.scalar(name).value_or(0));
    for (const auto& r : flat) {
      if (r.type == resource::kind::scalar) {
        if (std::find(std::begin(always), std::end(always), r.name)
            == std::end(always))
          w.field(r.name, r.scalar());
      } else if (r.type == resource::kind::ranges) {
        w.field(r.name, ranges_text(r.ranges));
      } else {
        w.field(r.name, set_text(r.items));
      }
    }
  }
  w.end_object();
}

void write_attributes_object(
  json_writer& w,
  const google::protobuf::RepeatedPtrField<v1::Attribute>& attributes) {
  w.begin_object();
  for (const auto& a : attributes) {
    w.key(a.name());
    switch (a.type()) {
      case v1::Value::SCALAR: w.value(a.scalar().value()); break;
      case v1::Value::TEXT: w.value(a.text().value()); break;
      case v1::Value::RANGES: {
        std::vector<value_range> ranges;
        for (const auto& r : a.ranges().range())
          ranges.push_back({r.begin(), r.end()});
        w.value(ranges_text(ranges));
        break;
      }
      case v1::Value::SET: w.value(set_text(a.set().item())); break;
      default: w.null();
    }
  }
  w.end_object();
}

void write_status_entry(json_writer& w, const v1::TaskStatus& status) {
  w.begin_object();
  w.field("state", v1::TaskState_Name(status.state()));
  w.field("timestamp", status.timestamp());
  if (status.has_healthy())
    w.field("healthy", status.healthy());
  if (status.has_check_status())
    w.key("check_status").raw(to_json(status.check_status()));
  if (status.has_container_status())
    w.key("container_status").raw(to_json(status.container_status()));
  w.end_object();
}

} // namespace dcos
