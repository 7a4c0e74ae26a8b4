// Small text helpers shared by the HTTP client and server (private).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/string.hpp>

namespace dcos::http_text {

/// Beast 1.74 speaks boost::string_view; the rest of libdcos std's.
inline std::string_view view(boost::beast::string_view text) {
  return {text.data(), text.size()};
}

/// ASCII lower case (header names).
inline std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// HOST:PORT for a Host header, an IPv6 address in brackets.
inline std::string authority(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

} // namespace dcos::http_text
