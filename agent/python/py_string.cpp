#include "python/py_string.h"

#include <cstring>
#include <vector>

#include "python/py_field.h"
#include "python/py_threads.h"

namespace sonde::python {

namespace {

// UCS-1/2/4 code points to UTF-8.
void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xc0 | (c >> 6));
    out += char(0x80 | (c & 63));
  } else if (c < 0x10000) {
    out += char(0xe0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 63));
    out += char(0x80 | (c & 63));
  } else {
    out += char(0xf0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 63));
    out += char(0x80 | ((c >> 6) & 63));
    out += char(0x80 | (c & 63));
  }
}

}  // namespace

Result<std::string> read_str(const memory::RemoteMemory& mem, const PyRuntime& rt, uint64_t object) {
  const auto& l = rt.layout;
  if (!plausible_pointer(object)) return fail(ErrorCode::io, "bad string pointer");
  std::vector<uint8_t> head(size_t(l.unicode_compact_size));
  if (auto r = mem.read(object, head.data(), head.size()); !r) return std::unexpected(r.error());
  if (rt.unicode_type && field<uint64_t>(head, l.object_type) != rt.unicode_type) return fail(ErrorCode::io, "not a str");
  uint32_t state = field<uint32_t>(head, l.unicode_state);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  long length = field<int64_t>(head, l.unicode_length);
  if (!compact || (kind != 1 && kind != 2 && kind != 4) || length < 0 || length > kMaxString)
    return fail(ErrorCode::io, "unexpected str layout");
  uint64_t data = object + uint64_t(ascii ? l.unicode_ascii_size : l.unicode_compact_size);
  std::string raw(size_t(length) * kind, '\0');
  if (auto r = mem.read(data, raw.data(), raw.size()); !r) return std::unexpected(r.error());
  if (kind == 1 && ascii) return raw;
  std::string out;
  for (long i = 0; i < length; ++i) {
    uint32_t c = 0;
    std::memcpy(&c, raw.data() + i * kind, kind);
    append_utf8(out, c);
  }
  return out;
}

}  // namespace sonde::python
