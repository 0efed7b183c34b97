// One process-wide "shutting down" flag that every demo thread polls or waits on,
// so SIGTERM/SIGINT end the node within a few milliseconds.
#pragma once

#include <atomic>

namespace demo {

inline std::atomic<bool>& stopping() {
  static std::atomic<bool> flag{false};
  return flag;
}

}  // namespace demo
