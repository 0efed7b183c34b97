#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "schedule/capture_queue.h"

using namespace sonde::schedule;
using namespace std::chrono_literals;

TEST_CASE("captures run one at a time; four may wait, the next is refused") {
  CaptureGate gate;
  boost::asio::thread_pool workers(2);
  CaptureQueue q(gate, workers, 4);
  std::atomic<bool> release{false};
  std::atomic<int> running{0}, max_running{0}, done{0};
  auto job = [&] {
    int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {}
    while (!release) std::this_thread::sleep_for(1ms);
    --running;
    ++done;
  };
  CHECK(q.post("a", job));  // runs
  while (!gate.busy()) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < 4; ++i) CHECK(q.post("w", job));
  CHECK(q.waiting() == 4);
  CHECK_FALSE(q.post("x", job));  // 409 busy
  release = true;
  workers.join();
  CHECK(done == 5);
  CHECK(max_running == 1);
  CHECK_FALSE(gate.busy());
}

TEST_CASE("a capture waits for a scheduled capture that holds the gate") {
  CaptureGate gate;
  boost::asio::thread_pool workers(2);
  CaptureQueue q(gate, workers);
  std::atomic<bool> ran{false};
  {
    auto lease = gate.try_acquire("scheduled");
    REQUIRE(lease);
    CHECK(q.post("api", [&] { ran = true; }));
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(ran);
  }
  workers.join();
  CHECK(ran);
}
