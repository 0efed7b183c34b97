#include "malloc_churn.h"

#include <pthread.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "stop_signal.h"

namespace demo::churn {
namespace {

// 128 slots with log-uniform sizes in [16 B, 256 KiB] average ~27 KiB each, so
// ~3.5 MiB stay live: enough for heap reports to show this arena clearly.
constexpr std::size_t kSlots = 128;
constexpr double kMinLog = 4.0;    // 2^4 = 16 B
constexpr double kMaxLog = 18.0;   // 2^18 = 256 KiB
constexpr int kOpsPerPause = 100;  // then sleep: keeps this thread to a few % of a core
constexpr auto kPause = std::chrono::milliseconds(1);

// Touch one byte per page so the live blocks are resident, not just reserved:
// RSS and the allocator's numbers then tell the same story.
void touch(char* p, std::size_t n) {
  for (std::size_t off = 0; off < n; off += 4096) p[off] = static_cast<char>(off);
  p[n - 1] = 1;
}

void run() {
  std::array<void*, kSlots> slots{};
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> pick(0, kSlots - 1);
  std::uniform_real_distribution<double> log_size(kMinLog, kMaxLog);
  while (!stopping().load(std::memory_order_relaxed)) {
    for (int i = 0; i < kOpsPerPause; ++i) {
      std::size_t slot = pick(rng);
      std::free(slots[slot]);
      auto size = static_cast<std::size_t>(std::exp2(log_size(rng)));
      auto* p = static_cast<char*>(std::malloc(size));
      if (p) touch(p, size);
      slots[slot] = p;
    }
    std::this_thread::sleep_for(kPause);
  }
  for (void* p : slots) std::free(p);
}

}  // namespace

std::thread start(std::latch& started) {
  return std::thread([&started] {
    pthread_setname_np(pthread_self(), "malloc-churn");
    // The first malloc happens on this thread, so glibc gives it an arena of its own.
    started.count_down();
    run();
  });
}

}  // namespace demo::churn
