// One field out of bytes read from the node in a single read (a struct
// header): zero when the offset is missing (-1) or past what was read.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace sonde::python {

template <class T>
T field(const std::vector<uint8_t>& bytes, long offset) {
  T v{};
  if (offset >= 0 && size_t(offset) + sizeof(T) <= bytes.size()) std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

}  // namespace sonde::python
