#include <doctest/doctest.h>

#include "serve/rate_limiter.h"

using sonde::serve::RateLimiter;
using namespace std::chrono_literals;

TEST_CASE("rate limit: a burst of twice the rate, then Retry-After, refilled with time") {
  RateLimiter rl(5);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 10; ++i) CHECK(rl.admit("10.0.0.1", t) == 0);
  CHECK(rl.admit("10.0.0.1", t) == 1);
  CHECK(rl.admit("10.0.0.2", t) == 0);  // another peer has its own bucket
  CHECK(rl.admit("10.0.0.1", t + 200ms) == 0);  // one token back after 1/5 s
  CHECK(rl.admit("10.0.0.1", t + 200ms) > 0);
  CHECK(rl.admit("10.0.0.1", t + 10min) == 0);  // idle buckets are swept, a fresh one is full
  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) CHECK(off.admit("x", t) == 0);
  RateLimiter slow(0.1);
  CHECK(slow.admit("y", t) == 0);
  CHECK(slow.admit("y", t) == 10);  // 1 / 0.1 s
}

TEST_CASE("rate key: TCP peers by address, socket peers by uid") {
  CHECK(sonde::serve::rate_key("127.0.0.1:5555") == "127.0.0.1");
  CHECK(sonde::serve::rate_key("::1:5555") == "::1");
  CHECK(sonde::serve::rate_key("unix:uid=0,pid=42") == "unix:uid=0");
}
