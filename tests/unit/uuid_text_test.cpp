// The text form of random UUIDs that Marathon and Metronome give out.
#include <doctest/doctest.h>

#include <dcos/uuid_text.hpp>

using dcos::uuid_v4_text;

TEST_CASE("a version 4 UUID: its bits in 8-4-4-4-12 hex, version and variant "
          "set") {
  CHECK(uuid_v4_text(0x0123456789abcdefull, 0xfedcba9876543210ull)
        == "01234567-89ab-4def-bedc-ba9876543210");
  CHECK(uuid_v4_text(0, 0) == "00000000-0000-4000-8000-000000000000");
  CHECK(uuid_v4_text(~0ull, ~0ull) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
}
