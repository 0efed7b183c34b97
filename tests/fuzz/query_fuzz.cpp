// Query strings and form bodies come straight from clients: split, decode and
// read them as the routes do, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto split = sonde::protocol::split_target(text)) {
    for (const auto& [k, v] : split->second) {
      (void)sonde::protocol::param_number(split->second, k, -1e9, 1e9);
      (void)sonde::protocol::param_bool(split->second, k);
    }
  }
  (void)sonde::protocol::parse_params(text);
  (void)sonde::protocol::url_decode(text, true);
  (void)sonde::protocol::url_decode(text, false);
  return 0;
}
