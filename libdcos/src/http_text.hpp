// Small text helpers shared by the HTTP client and server (private).
#pragma once

#include <cctype>
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

} // namespace dcos::http_text
