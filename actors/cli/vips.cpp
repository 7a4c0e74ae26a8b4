// dcos vips: Minuteman's VIPs and their backends (GET /v1/vips), as a table
// or, with --json, as Minuteman answers.
#include <cstdio>

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>

#include "cli.hpp"
#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/json.hpp"

namespace dcos::cli {

namespace {

std::string text(const google::protobuf::Struct& s, const char* key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end())
    return {};
  const auto& v = it->second;
  if (v.has_number_value())
    return fmt::format("{}", static_cast<int64_t>(v.number_value()));
  if (v.has_bool_value())
    return v.bool_value() ? "true" : "false";
  return v.string_value();
}

} // namespace

int vips(int argc, char** argv) {
  std::string minuteman = "127.0.0.1:62080";
  bool json = false;
  flags f{"dcos vips [--minuteman=HOST:PORT] [--json]",
          "Lists Minuteman's VIPs with their backends."};
  f.add(&minuteman, "minuteman", "HOST:PORT of Minuteman's API");
  f.add(&json, "json", "print Minuteman's JSON");
  parse_or_exit(f, argc, argv);
  auto body = get(minuteman, "/v1/vips");
  if (!body) {
    std::fprintf(stderr, "dcos vips: %s\n",
                 describe_reason(body.error()).c_str());
    return 1;
  }
  if (json) {
    std::puts(body->c_str());
    return 0;
  }
  // The array is parsed as the "vips" field of an object.
  google::protobuf::Struct doc;
  if (auto err = from_json("{\"vips\":" + *body + "}", &doc, "/v1/vips")) {
    std::fprintf(stderr, "dcos vips: %s answered what is not a VIP list: %s\n",
                 minuteman.c_str(), describe_reason(err).c_str());
    return 1;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"VIP", "PROTOCOL", "ADDRESS", "BACKEND", "STATE", "TASK"});
  for (const auto& v : doc.fields().at("vips").list_value().values()) {
    const auto& vip = v.struct_value();
    auto address = fmt::format("{}:{}", text(vip, "ip"), text(vip, "port"));
    const auto& backends = vip.fields().count("backends")
                             ? vip.fields().at("backends").list_value()
                             : google::protobuf::ListValue{};
    if (backends.values_size() == 0)
      rows.push_back({text(vip, "vip"), text(vip, "protocol"), address, "-",
                      "no backend", ""});
    for (const auto& b : backends.values()) {
      const auto& be = b.struct_value();
      rows.push_back({text(vip, "vip"), text(vip, "protocol"), address,
                      fmt::format("{}:{}", text(be, "ip"), text(be, "port")),
                      text(be, "state"), text(be, "task_id")});
    }
  }
  print_table(rows);
  return 0;
}

} // namespace dcos::cli
