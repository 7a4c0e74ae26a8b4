#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <dcos/error.hpp>
#include <dcos/recordio.hpp>

using dcos::recordio::decoder;
using dcos::recordio::encode;

namespace {

using records = std::vector<std::string>;

// Decodes `stream` fed in chunks of `chunk` bytes; fails the test on error.
records decode_in_chunks(const std::string& stream, size_t chunk) {
  decoder d;
  records all;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    auto got = d.decode(std::string_view{stream}.substr(at, chunk));
    REQUIRE_MESSAGE(got, dcos::describe(got.error()));
    all.insert(all.end(), got->begin(), got->end());
  }
  CHECK(d.at_boundary());
  return all;
}

} // namespace

TEST_CASE("a record is its decimal length, a line feed and its bytes") {
  CHECK(encode(R"({"type":"HEARTBEAT"})") == "20\n{\"type\":\"HEARTBEAT\"}");
  CHECK(encode("") == "0\n");
  // Binary (protobuf) records may hold line feeds and NULs.
  CHECK(encode(std::string("a\n\0b", 4)) == std::string("4\na\n\0b", 6));
}

TEST_CASE("records come back whole however the stream is cut") {
  records sent{R"({"type":"SUBSCRIBED"})", "", std::string("x\n\0y", 4),
               std::string(1000, 'z'), "12345678901"};
  std::string stream;
  for (auto& r : sent)
    stream += encode(r);
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7},
                       size_t{64}, stream.size()}) {
    CAPTURE(chunk);
    CHECK(decode_in_chunks(stream, chunk) == sent);
  }
}

TEST_CASE("a stream cut inside a record is not at a boundary") {
  decoder d;
  auto got = d.decode("5\nab");
  REQUIRE(got);
  CHECK(got->empty());
  CHECK_FALSE(d.at_boundary());
  got = d.decode("cde3");
  REQUIRE(got);
  CHECK(*got == records{"abcde"});
  CHECK_FALSE(d.at_boundary()); // "3" begins the next length
}

TEST_CASE("a corrupt length is an error that names it, and sticks") {
  SUBCASE("not digits") {
    decoder d;
    auto got = d.decode("1x\nab");
    REQUIRE_FALSE(got);
    CHECK(dcos::code_of(got.error()) == dcos::errc::corrupt_payload);
    CHECK(dcos::describe(got.error()).find("'1x'") != std::string::npos);
    // The decoder stays failed: valid bytes after garbage are not trusted.
    CHECK_FALSE(d.decode("1\na"));
  }
  SUBCASE("empty") {
    decoder d;
    CHECK_FALSE(d.decode("\nab"));
  }
  SUBCASE("over the maximum") {
    decoder d{10};
    auto ok = d.decode("10\n0123456789");
    REQUIRE(ok);
    CHECK(ok->size() == 1);
    auto got = d.decode("11\n");
    REQUIRE_FALSE(got);
    CHECK(dcos::describe(got.error()).find("maximum of 10") != std::string::npos);
  }
  SUBCASE("too many digits to be a size") {
    decoder d;
    CHECK_FALSE(d.decode("999999999999999999999999\n"));
  }
  SUBCASE("a JSON body where a length belongs") {
    decoder d;
    CHECK_FALSE(d.decode(R"({"type":"SUBSCRIBE"})"));
  }
}
