#include "detection.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos::kernel {

resources detect_resources(const resources& given,
                           const std::string& work_dir) {
  resources out = given;
  auto add = [&](std::string_view text) {
    auto r = resources::parse(text);
    if (r)
      out += *r;
  };
  if (!given.scalar("cpus"))
    add(fmt::format("cpus:{}", ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (!given.scalar("mem")) {
    double total_mb = static_cast<double>(::sysconf(_SC_PHYS_PAGES))
                      * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
    double mem = total_mb > 2048 ? total_mb - 1024 : total_mb / 2;
    add(fmt::format("mem:{}", static_cast<int64_t>(mem)));
  }
  if (!given.scalar("disk")) {
    struct statvfs fs{};
    double total_mb = 0;
    if (::statvfs(work_dir.c_str(), &fs) == 0)
      total_mb = static_cast<double>(fs.f_blocks)
                 * static_cast<double>(fs.f_frsize) / 1048576.0;
    double disk = total_mb > 10240 ? total_mb - 5120 : total_mb / 2;
    add(fmt::format("disk:{}", static_cast<int64_t>(disk)));
  }
  if (!given.ranges("ports"))
    add("ports:[31000-32000]");
  return out;
}

caf::expected<std::vector<v1::Attribute>>
parse_attributes(std::string_view text) {
  std::vector<v1::Attribute> out;
  while (!text.empty()) {
    auto semi = text.find(';');
    auto item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view{}
                                          : text.substr(semi + 1);
    if (item.empty())
      continue;
    auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return make_error(errc::invalid_argument,
                        fmt::format("attribute '{}' is not name:value", item));
    v1::Attribute a;
    a.set_name(std::string{item.substr(0, colon)});
    auto value = item.substr(colon + 1);
    double number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(),
                                     number);
    if (!value.empty() && value.front() == '[') {
      auto ranges = parse_ranges(value);
      if (!ranges)
        return make_error(errc::invalid_argument,
                          fmt::format("attribute '{}': {}", a.name(),
                                      describe_reason(ranges.error())));
      a.set_type(v1::Value::RANGES);
      for (const auto& r : *ranges) {
        auto* range = a.mutable_ranges()->add_range();
        range->set_begin(r.begin);
        range->set_end(r.end);
      }
    } else if (!value.empty() && value.front() == '{' && value.back() == '}') {
      a.set_type(v1::Value::SET);
      auto body = value.substr(1, value.size() - 2);
      while (!body.empty()) {
        auto comma = body.find(',');
        a.mutable_set()->add_item(std::string{body.substr(0, comma)});
        body = comma == std::string_view::npos ? std::string_view{}
                                               : body.substr(comma + 1);
      }
    } else if (ec == std::errc{} && end == value.data() + value.size()) {
      a.set_type(v1::Value::SCALAR);
      a.mutable_scalar()->set_value(number);
    } else {
      a.set_type(v1::Value::TEXT);
      a.mutable_text()->set_value(std::string{value});
    }
    out.push_back(std::move(a));
  }
  return out;
}

} // namespace dcos::kernel
