// target_spin: one thread "spinner" splitting its CPU 3:1 between spin::heavy()
// and spin::light() (same method as the demo's hot spot: the same serial work,
// three units in heavy for each unit in light). For CPU-profile accuracy tests.
#include <pthread.h>

#include <cstdint>
#include <thread>

#include "target_util.h"

namespace spin {
namespace {

constexpr std::uint64_t kUnitSteps = 20000;  // ~25 us: a 3+1 slice is ~100 us

[[gnu::always_inline]] inline std::uint64_t mix(std::uint64_t x, std::uint64_t steps) {
  for (std::uint64_t i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    x ^= x >> 29;
  }
  return x;
}

}  // namespace

volatile std::uint64_t g_sink = 0;  // the result is stored, so the work stays

[[gnu::noinline, gnu::noclone]] std::uint64_t heavy(std::uint64_t seed) {
  return mix(seed, 3 * kUnitSteps);
}

[[gnu::noinline, gnu::noclone]] std::uint64_t light(std::uint64_t seed) {
  return mix(seed, kUnitSteps);
}

[[gnu::noinline, gnu::noclone]] void spin_forever() {
  std::uint64_t x = 1;
  for (;;) {
    x = heavy(x);
    x = light(x);
    g_sink = x;
  }
}

}  // namespace spin

namespace {
int g_started = 0;
}

int main() {
  target_exit_on_sigterm();
  std::thread spinner([] {
    target_name_self("spinner");
    target_started(&g_started);
    spin::spin_forever();
  });
  target_wait_started(&g_started, 1);
  target_ready();
  spinner.join();
  return 0;
}
