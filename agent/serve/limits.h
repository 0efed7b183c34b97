// What one client may ask of the agent before it is refused.
#pragma once

#include <chrono>
#include <cstddef>

namespace sonde::serve {

struct Limits {
  std::size_t header_bytes = 16 * 1024;      // larger: 431
  std::size_t body_bytes = 1024 * 1024;      // larger: 413
  std::chrono::milliseconds read_timeout{30000};   // a whole request; slower: 408
  std::chrono::milliseconds write_timeout{60000};
  std::size_t max_connections = 256;         // more at once: 503 and close
  double rate_per_second = 100;              // per peer, burst twice that; more: 429 (0: no limit)
};

}  // namespace sonde::serve
