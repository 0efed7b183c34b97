#include "serve/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sonde::serve {

int RateLimiter::admit(const std::string& peer_key, Clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard lock(mu_);
  forget_idle(now);
  auto [it, fresh] = buckets_.try_emplace(peer_key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
    b.last = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
}

void RateLimiter::forget_idle(Clock::time_point now) {
  // A bucket refilled to the brim says nothing: drop it, so many short-lived
  // peers do not grow the map. Swept at most once a minute.
  if (now - last_sweep_ < std::chrono::minutes(1)) return;
  last_sweep_ = now;
  double full_after = burst_ / rate_;
  std::erase_if(buckets_, [&](const auto& kv) {
    return std::chrono::duration<double>(now - kv.second.last).count() > full_after;
  });
}

std::string rate_key(const std::string& peer_name) {
  if (peer_name.rfind("unix:", 0) == 0) {
    // "unix:uid=0,pid=42" -> "unix:uid=0"
    auto comma = peer_name.find(',');
    return peer_name.substr(0, comma);
  }
  auto colon = peer_name.rfind(':');
  return colon == std::string::npos ? peer_name : peer_name.substr(0, colon);
}

}  // namespace sonde::serve
