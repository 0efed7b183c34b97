#include "python/py_linetable.h"

#include <cstdint>

namespace sonde::python {

namespace {

// 6-bit groups, least significant first; bit 6 says another group follows.
unsigned read_varint(std::string_view t, size_t& at) {
  unsigned value = 0;
  for (int shift = 0; at < t.size() && shift < 32; shift += 6) {
    auto b = uint8_t(t[at++]);
    value |= unsigned(b & 63) << shift;
    if (!(b & 64)) break;
  }
  return value;
}

int read_signed_varint(std::string_view t, size_t& at) {
  unsigned v = read_varint(t, at);
  return (v & 1) ? -int(v >> 1) : int(v >> 1);
}

}  // namespace

int line_for_offset(std::string_view t, int first_line, long byte_offset) {
  if (byte_offset < 0) return first_line;
  int line = first_line;
  long end = 0;
  size_t at = 0;
  while (at < t.size()) {
    auto first = uint8_t(t[at]);
    if (!(first & 0x80)) return 0;  // not at an entry start: the bytes are not a line table
    int code = (first >> 3) & 15;
    end += 2 * ((first & 7) + 1);  // code units are 2 bytes
    size_t operands = at + 1;
    if (code == 14 || code == 13) line += read_signed_varint(t, operands);  // long form, no-column form
    else if (code >= 10 && code <= 12) line += code - 10;                    // one-line forms
    // 0..9: short forms (same line); 15: no location
    if (byte_offset < end) return code == 15 ? -1 : line;
    for (++at; at < t.size() && !(uint8_t(t[at]) & 0x80); ++at) {
    }
  }
  return 0;
}

}  // namespace sonde::python
