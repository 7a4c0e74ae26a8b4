// RecordIO: the framing of Mesos' streaming HTTP APIs.
//
// The scheduler API's event stream (POST /api/v1/scheduler, SUBSCRIBE) and
// the operator API's (POST /api/v1, SUBSCRIBE) send one event per record:
// the record's length in bytes as decimal ASCII digits, a line feed, then
// exactly that many bytes (a JSON object or a serialized protobuf): the
// event {"type":"HEARTBEAT"} goes out as `20\n{"type":"HEARTBEAT"}`. No
// separator follows a record; the next record's length comes at once.
//
// Thread-safety: encode() is a pure function. A decoder is a value with no
// shared state: one per stream, used by one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace dcos::recordio {

/// `record` framed as one RecordIO record: "<length>\n<record>".
std::string encode(std::string_view record);

/// The largest record a decoder accepts unless told otherwise (64 MiB): a
/// length beyond it is taken as a corrupt stream, not a reason to buffer.
inline constexpr size_t default_max_record_size = size_t{64} << 20;

/// Splits a RecordIO byte stream back into its records, however the bytes
/// are cut into chunks on the way (a length may span chunks, a chunk may
/// hold many records).
class decoder {
public:
  /// REQUIRES: max_record_size > 0.
  explicit decoder(size_t max_record_size = default_max_record_size);

  /// Takes the next bytes of the stream and returns the records they
  /// complete, in stream order (possibly none). A length that is not
  /// decimal digits, is empty, or exceeds the maximum is an error
  /// (errc::corrupt_payload naming the offending text); after an error the
  /// decoder stays failed and every later call returns the same error.
  caf::expected<std::vector<std::string>> decode(std::string_view bytes);

  /// True if no record is partly read: a stream that ends here ended on a
  /// record boundary.
  bool at_boundary() const;

private:
  caf::expected<std::vector<std::string>> fail(std::string message);

  size_t max_record_size_;
  std::string length_;      // digits of the current length, before its '\n'
  bool reading_body_ = false;
  size_t body_size_ = 0;    // the current record's length, once read
  std::string body_;        // the current record's bytes so far
  std::string failure_;     // set once the stream is known to be corrupt
};

} // namespace dcos::recordio
