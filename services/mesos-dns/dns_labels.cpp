#include "dns_labels.hpp"

#include <algorithm>

namespace dcos::mesos_dns {

namespace {

std::string_view trim_left(std::string_view s, std::string_view chars) {
  auto first = s.find_first_not_of(chars);
  return first == std::string_view::npos ? std::string_view{}
                                         : s.substr(first);
}

std::string_view trim_right(std::string_view s, std::string_view chars) {
  auto last = s.find_last_not_of(chars);
  return last == std::string_view::npos ? std::string_view{}
                                        : s.substr(0, last + 1);
}

} // namespace

std::string dns_label(std::string_view name, label_spec spec) {
  std::string mapped;
  mapped.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z')
      mapped += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      mapped += c;
    else if (c == '-' || c == '.' || c == '_')
      mapped += '-';
  }
  size_t max = spec == label_spec::rfc952 ? 24 : 63;
  std::string_view left = spec == label_spec::rfc952 ? "-0123456789" : "-";
  std::string_view right = "-";
  // As Mesos-DNS' trimCut: cut to `max`, drop the trailing dashes this
  // leaves, and fill the room they leave from what follows the cut.
  auto trimmed = trim_left(mapped, left);
  auto size = std::min(trimmed.size(), max);
  auto head = trim_right(trimmed.substr(0, size), right);
  std::string out{head};
  if (head.size() == size)
    return out;
  auto tail = trim_left(trimmed.substr(size), right);
  out += tail.substr(0, std::min(tail.size(), size - head.size()));
  return out;
}

std::string domain_fragment(std::string_view name, label_spec spec) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    auto part = name.substr(start, dot == std::string_view::npos
                                     ? std::string_view::npos
                                     : dot - start);
    auto label = dns_label(part, spec);
    if (!label.empty()) {
      if (!out.empty())
        out += '.';
      out += label;
    }
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return out;
}

} // namespace dcos::mesos_dns
