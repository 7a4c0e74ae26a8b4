// Error codes of libdcos, carried inside caf::error.
//
// Every fallible libdcos call returns caf::expected<T> or caf::error; nothing
// throws across a libdcos boundary. An error made here carries one
// human-readable sentence that names the offending field or token, e.g.
//   invalid_argument: --port: '70000' is not a port number
// describe() returns that sentence for any caf::error, ours or CAF's.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace dcos {

enum class errc : uint8_t {
  invalid_argument = 1, // input failed validation
  parse_error,          // text, JSON or YAML could not be parsed
  not_found,            // the named object does not exist
  conflict,             // the request contradicts existing state
  unavailable,          // a peer or resource cannot be reached now
  io_error,             // the operating system refused an operation
  corrupt_payload,      // bytes on the wire or on disk failed to decode
};

/// The CAF error category of errc values.
constexpr caf::atom_value error_category = caf::atom("dcos");

std::string to_string(errc code);

/// Makes an error whose context is `message`.
caf::error make_error(errc code, std::string message);

/// Makes an error without further context (used by CAF's implicit conversion).
caf::error make_error(errc code);

/// Returns a one-line description: "<code>: <message>" for libdcos errors,
/// CAF's own rendering for others, and "none" for the empty error.
std::string describe(const caf::error& err);

/// Returns only the sentence of a libdcos error (no "<code>: " prefix), for
/// errors that are wrapped into a larger message; describe() otherwise.
std::string describe_reason(const caf::error& err);

/// Returns the errc of `err`, or 0 if `err` is not a libdcos error.
errc code_of(const caf::error& err);

} // namespace dcos
