#include "dcos/recordio.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace dcos::recordio {

std::string encode(std::string_view record) {
  auto framed = fmt::format("{}\n", record.size());
  framed.append(record);
  return framed;
}

decoder::decoder(size_t max_record_size) : max_record_size_(max_record_size) {
}

bool decoder::at_boundary() const {
  return !reading_body_ && length_.empty();
}

caf::expected<std::vector<std::string>> decoder::fail(std::string message) {
  failure_ = std::move(message);
  return make_error(errc::corrupt_payload, failure_);
}

caf::expected<std::vector<std::string>>
decoder::decode(std::string_view bytes) {
  if (!failure_.empty())
    return make_error(errc::corrupt_payload, failure_);
  std::vector<std::string> records;
  while (!bytes.empty()) {
    if (reading_body_) {
      auto take = std::min(bytes.size(), body_size_ - body_.size());
      body_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (body_.size() == body_size_) {
        records.push_back(std::move(body_));
        body_.clear();
        reading_body_ = false;
      }
      continue;
    }
    auto newline = bytes.find('\n');
    length_.append(bytes.substr(0, newline));
    // 20 digits hold any size_t; more can only be garbage.
    if (length_.size() > 20
        || !std::all_of(length_.begin(), length_.end(),
                        [](char c) { return c >= '0' && c <= '9'; }))
      return fail(fmt::format("RecordIO record length '{}' is not a decimal "
                              "number",
                              length_.substr(0, 32)));
    if (newline == std::string_view::npos)
      break; // the length goes on in the next chunk
    bytes.remove_prefix(newline + 1);
    if (length_.empty())
      return fail("RecordIO record length is empty");
    size_t size = 0;
    auto [end, ec] = std::from_chars(length_.data(),
                                     length_.data() + length_.size(), size);
    if (ec != std::errc{} || size > max_record_size_)
      return fail(fmt::format("RecordIO record length {} exceeds the "
                              "maximum of {} bytes",
                              length_, max_record_size_));
    length_.clear();
    if (size == 0) {
      records.emplace_back(); // an empty record is complete at once
      continue;
    }
    reading_body_ = true;
    body_size_ = size;
    body_.reserve(size);
  }
  return records;
}

} // namespace dcos::recordio
