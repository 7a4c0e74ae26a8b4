// Replies already built from the current zone, so that a name asked again
// costs a table lookup and a copy instead of parsing the query and building
// the reply with ldns (the benchmark's hot path: the same 1,000 names asked
// over and over).
//
// The key is the query exactly as received, less its 2-byte ID: the same
// flags, the same question in the same letter case, the same EDNS0 record
// (so the same size limit), hence the same reply but for its ID, which is
// patched in. Replies hold their answers in random order (rudimentary load
// balancing); an entry therefore keeps up to `max_variants` orders, one per
// answer record up to that many, built as they are first needed, and hands
// them out in turn.
//
// Entries belong to one zone: the first lookup against another zone empties
// the cache. When it holds `capacity` entries it is emptied as well (a
// client walking random names cannot make it grow without bound).
//
// Thread-safety: none; each server thread keeps its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone_snapshot.hpp"

namespace dcos::mesos_dns {

class answer_cache {
public:
  /// What a cached reply says, for the server's counters.
  struct reply_info {
    uint16_t qtype = 0;
    uint8_t rcode = 0;
    bool truncated = false;
  };

  static constexpr size_t max_variants = 16;

  explicit answer_cache(size_t capacity = 1 << 16) : capacity_(capacity) {
  }

  /// Writes into `wire` a reply to `query` from `zone` and returns true when
  /// one is cached and due (every variant built already); false otherwise,
  /// and the caller builds a reply and offers it to insert().
  /// REQUIRES: query.size() >= 12 (a whole header).
  bool find(std::string_view query,
            const std::shared_ptr<const zone_snapshot>& zone, std::string& wire,
            reply_info& info);

  /// Keeps `wire`, the reply built for `query` from the zone of the last
  /// find(), as one more variant of its entry.
  /// REQUIRES: find(query, ...) returned false just before.
  void insert(std::string_view query, std::string wire, reply_info info);

  size_t size() const noexcept { return entries_.size(); }

private:
  struct entry {
    reply_info info;
    size_t wanted = 1; // variants to build: answers, up to max_variants
    size_t next = 0;   // the variant handed out next
    std::vector<std::string> variants;
  };

  struct key_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  size_t capacity_;
  std::shared_ptr<const zone_snapshot> zone_;
  std::unordered_map<std::string, entry, key_hash, std::equal_to<>> entries_;
};

} // namespace dcos::mesos_dns
