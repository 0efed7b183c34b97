// Captures asked for over the API (stack dumps, heap walks, profiles) run one
// at a time per node, in arrival order, through the capture gate that the
// scheduler and incident bundles share. A few may wait; more are refused at
// once (the route says 409 busy), so a crowd of clients cannot pile up work
// that freezes the node again and again, nor tie up the worker threads.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "schedule/capture_gate.h"

namespace sonde::schedule {

class CaptureQueue {
 public:
  CaptureQueue(CaptureGate& gate, boost::asio::thread_pool& workers, std::size_t max_waiting = 4)
      : gate_(gate), workers_(workers), max_waiting_(max_waiting) {}

  // Queues the job (run on a worker, holding the gate); false, and the job is
  // dropped, when max_waiting jobs already wait behind a running one.
  bool post(std::string who, std::function<void()> job);
  std::size_t waiting() const;

 private:
  void run_next();
  struct Job {
    std::string who;
    std::function<void()> run;
  };
  CaptureGate& gate_;
  boost::asio::thread_pool& workers_;
  const std::size_t max_waiting_;
  mutable std::mutex mu_;
  std::deque<Job> queue_;
  bool running_ = false;  // a job is on a worker: only one at a time
};

}  // namespace sonde::schedule
