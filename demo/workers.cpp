#include "workers.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "stop_signal.h"

namespace demo::workers {
namespace {

std::mutex g_mutex;
std::condition_variable g_cv;
int g_jobs = 0;  // never incremented: the workers stay parked, as in an idle pool

}  // namespace

// noinline: stacks of the workers must show this frame above the futex wait.
[[gnu::noinline]] bool wait_for_job() {
  std::unique_lock lock(g_mutex);
  g_cv.wait(lock, [] { return g_jobs > 0 || stopping().load(); });
  return !stopping().load();
}

std::vector<std::thread> start(int count, std::latch& started) {
  std::vector<std::thread> out;
  for (int i = 1; i <= count; ++i) {
    out.emplace_back([i, &started] {
      std::string name = "worker-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      started.count_down();
      while (wait_for_job()) {
      }
    });
  }
  return out;
}

void wake_all() {
  { std::lock_guard lock(g_mutex); }  // orders the stop flag before the wake-up
  g_cv.notify_all();
}

}  // namespace demo::workers
