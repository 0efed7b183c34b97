// Requests per second per peer, as a token bucket: a peer may burst to twice
// its rate, then is told 429 with how long to wait. One client polling in a
// loop must not keep the agent (and through it the node) busy for everyone.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sonde::serve {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // rate 0: no limit.
  explicit RateLimiter(double per_second) : rate_(per_second), burst_(std::max(1.0, 2 * per_second)) {}

  // 0 when the request may go on, else the seconds to wait (at least 1, for Retry-After).
  int admit(const std::string& peer_key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void forget_idle(Clock::time_point now);
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_sweep_{};
};

// The key a peer is counted under: its address without the port on TCP (a
// client opening new connections is the same client), its uid on the socket.
std::string rate_key(const std::string& peer_name);

}  // namespace sonde::serve
