// The agent's periodic jobs on its io_context (steady timers, one strand):
// each job ticks at its interval; a tick is skipped (and logged) while the
// job's previous run is still going or, for a job that takes a capture, while
// another capture holds the gate; a failed run is logged and retried at the
// next tick. Safe mode (disabled) arms no timer at all; POST /api/scheduler
// flips it at run time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "schedule/capture_gate.h"
#include "schedule/job.h"

namespace sonde::schedule {

struct JobStatus {
  std::string name;
  double interval_seconds = 0;
  bool takes_capture = false;
  bool running = false;
  int64_t runs = 0;
  int64_t failures = 0;
  int64_t skipped = 0;
  double last_run = 0;        // epoch seconds of the last start, 0: never
  std::string last_error;     // of the last failed run
};

class Scheduler {
 public:
  Scheduler(boost::asio::io_context& io, CaptureGate& gate);
  ~Scheduler();

  // One call adds a job, before or after start().
  void add(Job job);
  // Arms the jobs' timers unless `disabled` (safe mode); `why` is shown by GET /api/scheduler.
  void start(bool disabled, const std::string& why);
  // Cancels every timer for good (shutdown); runs in flight end on their own.
  void stop();

  // Safe mode at run time: true cancels every timer (a run in flight ends on
  // its own), false re-arms them with a first tick right away.
  void set_disabled(bool disabled, const std::string& why);
  bool disabled() const { return disabled_.load(); }
  std::string reason() const;
  std::vector<JobStatus> jobs() const;
  CaptureGate& gate() { return gate_; }

 private:
  struct Slot;
  void arm(const std::shared_ptr<Slot>& slot, bool now);
  void tick(const std::shared_ptr<Slot>& slot, uint64_t generation);
  void finished(const std::shared_ptr<Slot>& slot, Result<void> r);
  void skip(const std::shared_ptr<Slot>& slot, const std::string& why);

  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  CaptureGate& gate_;
  std::atomic<bool> disabled_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;  // guards slots_ and each slot's status, read by jobs()
  std::vector<std::shared_ptr<Slot>> slots_;
  std::string reason_;
};

}  // namespace sonde::schedule
