#include "dcos/uuid_text.hpp"

namespace dcos {

namespace {

// Writes `value`'s lowest `width` hex digits at `out`.
char* put_hex(char* out, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i, value >>= 4)
    out[i] = "0123456789abcdef"[value & 0xf];
  return out + width;
}

} // namespace

// Written by hand rather than with fmt: Metronome makes one per run and
// task, and fmt's parsing of the pattern cost more than the rest of it.
std::string uuid_v4_text(uint64_t high, uint64_t low) {
  std::string text(36, '-');
  put_hex(text.data(), high >> 32, 8);
  put_hex(text.data() + 9, (high >> 16) & 0xffff, 4);
  text[14] = '4';
  put_hex(text.data() + 15, high & 0xfff, 3);
  put_hex(text.data() + 19, 0x8000 | ((low >> 48) & 0x3fff), 4);
  put_hex(text.data() + 24, low & 0xffffffffffffull, 12);
  return text;
}

} // namespace dcos
