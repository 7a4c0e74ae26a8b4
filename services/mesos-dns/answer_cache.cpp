#include "answer_cache.hpp"

#include <algorithm>

namespace dcos::mesos_dns {

namespace {

std::string_view key_of(std::string_view query) {
  return query.substr(2); // all but the ID
}

size_t answer_count(std::string_view wire) {
  if (wire.size() < 12)
    return 0;
  return (static_cast<uint8_t>(wire[6]) << 8) | static_cast<uint8_t>(wire[7]);
}

} // namespace

bool answer_cache::find(std::string_view query,
                        const std::shared_ptr<const zone_snapshot>& zone,
                        std::string& wire, reply_info& info) {
  if (zone != zone_) {
    entries_.clear();
    zone_ = zone;
  }
  auto i = entries_.find(key_of(query));
  if (i == entries_.end() || i->second.variants.size() < i->second.wanted)
    return false;
  auto& e = i->second;
  wire = e.variants[e.next];
  e.next = (e.next + 1) % e.variants.size();
  wire[0] = query[0];
  wire[1] = query[1];
  info = e.info;
  return true;
}

void answer_cache::insert(std::string_view query, std::string wire,
                          reply_info info) {
  if (wire.size() < 12)
    return;
  auto key = key_of(query);
  auto i = entries_.find(key);
  if (i == entries_.end()) {
    if (entries_.size() >= capacity_)
      entries_.clear();
    i = entries_.emplace(std::string(key), entry{}).first;
    i->second.info = info;
    i->second.wanted =
      std::clamp<size_t>(answer_count(wire), 1, max_variants);
  }
  i->second.variants.push_back(std::move(wire));
}

} // namespace dcos::mesos_dns
