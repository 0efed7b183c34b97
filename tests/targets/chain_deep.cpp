// target_chain_cpp: C++ frames the symbolizer must name and demangle, including
// a template member and an inlined frame. Threads cpp-1 and cpp-2 park in
//   Outer::run() -> Holder<int>::hold(int) -> park_inline() [inlined]
//     -> block_forever() -> std::condition_variable::wait (futex)
// all in namespace sonde_targets::deep. Built -O2 without frame pointers, so
// only .eh_frame (and DWARF for the inlined frame) describe these stacks.
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "target_util.h"

namespace sonde_targets::deep {

namespace {
std::mutex g_mutex;
std::condition_variable g_cv;
bool g_released = false;  // never set: the wait is forever
}  // namespace

[[gnu::noinline, gnu::noclone]] int block_forever() {
  std::unique_lock lock(g_mutex);
  g_cv.wait(lock, [] { return g_released; });
  return 1;
}

// Inlined into hold(): DWARF records it as an inlined subroutine at the call site.
[[gnu::always_inline]] inline int park_inline() {
  int r = block_forever();
  asm volatile("");  // keeps the call from becoming a tail call
  return r + 1;
}

template <typename T>
struct Holder {
  T base;
  [[gnu::noinline, gnu::noclone]] T hold(T extra);
};

template <typename T>
T Holder<T>::hold(T extra) {
  T r = static_cast<T>(park_inline());
  asm volatile("");
  return r + extra + base;
}

template struct Holder<int>;

struct Outer {
  int seed;
  [[gnu::noinline, gnu::noclone]] int run();
};

int Outer::run() {
  Holder<int> holder{seed};
  int r = holder.hold(seed + 1);
  asm volatile("");
  return r + 1;
}

}  // namespace sonde_targets::deep

namespace {
pid_t g_tids[2];
}

int main() {
  target_exit_on_sigterm();
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([i] {
      target_name_self(("cpp-" + std::to_string(i + 1)).c_str());
      __atomic_store_n(&g_tids[i], target_tid(), __ATOMIC_RELEASE);
      sonde_targets::deep::Outer outer{i};
      volatile int r = outer.run();
      (void)r;
    });
  }
  target_wait_parked(g_tids, 2);
  target_ready();
  for (auto& t : threads) t.join();
  return 0;
}
