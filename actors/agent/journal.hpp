// The framing of the agent's journal: each record is
//   [u32 length][u32 FNV-1a of the payload][payload: JournalRecord]
// little-endian. A crash during an append can leave a torn or garbage tail;
// parsing stops at the first record that does not check out.
#pragma once

#include <string>
#include <vector>

#include "dcos/wire_types.hpp"

namespace dcos::kernel {

void encode_record(const v1::internal::JournalRecord& rec, std::string& out);

/// Decodes records from the start of `bytes`; `valid` is set to the length
/// of the prefix that decoded (the rest is a torn tail).
std::vector<v1::internal::JournalRecord> decode_records(const std::string& bytes,
                                                        size_t* valid);

} // namespace dcos::kernel
