#include "hot_spot.h"

#include <pthread.h>

#include "stop_signal.h"

namespace demo::hot {
namespace {

// Work per "unit". One slice = 3 units heavy + 1 unit light; a unit is ~25 us on
// a current core, so a slice is ~100 us and the stop flag is seen promptly.
constexpr std::uint64_t kUnitSteps = 20000;

// The same serial mixing chain in both functions, so CPU time is proportional to the
// step count alone. Each step depends on the previous one (no vectorising, no closed
// form), and the result is returned and stored, so the optimizer cannot drop it.
[[gnu::always_inline]] inline std::uint64_t mix(std::uint64_t x, std::uint64_t steps) {
  for (std::uint64_t i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    x ^= x >> 29;
  }
  return x;
}

// Written on every slice; volatile so the stores (and the work feeding them) stay.
volatile std::uint64_t g_sink = 0;

}  // namespace

// noinline + noclone: the profiler must see exactly these two symbols, not
// copies like compute_heavy.constprop.0 nor their bodies inlined into the loop.
[[gnu::noinline, gnu::noclone]] std::uint64_t compute_heavy(std::uint64_t seed) {
  return mix(seed, 3 * kUnitSteps);
}

[[gnu::noinline, gnu::noclone]] std::uint64_t compute_light(std::uint64_t seed) {
  return mix(seed, kUnitSteps);
}

std::thread start(std::latch& started) {
  return std::thread([&started] {
    pthread_setname_np(pthread_self(), "hot-spot");
    started.count_down();
    std::uint64_t x = 1;
    while (!stopping().load(std::memory_order_relaxed)) {
      x = compute_heavy(x);
      x = compute_light(x);
      g_sink = x;
    }
  });
}

}  // namespace demo::hot
