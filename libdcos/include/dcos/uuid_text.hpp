// UUIDs in their text form, as Marathon and Metronome show them.
//
// Thread-safety: uuid_v4_text() is a pure function. The caller draws the
// random bits from its own seeded source, so that a simulated service's
// ids repeat with its seed.
#pragma once

#include <cstdint>
#include <string>

namespace dcos {

/// A version 4 (random) UUID as 36 characters, 8-4-4-4-12 lowercase hex
/// digits, made from two 64-bit draws: `high` gives the first three groups,
/// `low` the last two. Six bits are overwritten with the version (4) and
/// the variant (10 in binary).
std::string uuid_v4_text(uint64_t high, uint64_t low);

} // namespace dcos
