// One thread of the node under ptrace for the few microseconds of a capture.
// This is where "the node is sacred" (DESIGN.md §3) is enforced: a Tracee
// that was seized is detached by its destructor on every path, and a stop
// that never arrives is bounded by a timeout.
//
// Threading: ptrace ties a tracee to the OS thread that seized it. Every
// method of a Tracee, including its destructor, must run on the thread that
// called seize(). capture_process() does a whole capture on one short-lived
// thread of its own, so that when a thread of the node cannot be detached
// (it never reached its stop, e.g. it sits in uninterruptible sleep), the
// kernel detaches it when that capture thread exits (exit_ptrace()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>

#include "common/result.h"

namespace sonde::capture {

class Tracee {
 public:
  enum class State {
    idle,      // not attached (never seized, or detached)
    running,   // seized, the interrupt is requested, the stop not seen yet
    stopped,   // in a ptrace stop: registers and memory can be read
    gone,      // the thread exited (ESRCH / exit reported): nothing to undo
    stuck,     // seized, but no stop arrived and detach is impossible;
               // the kernel detaches it when the seizing thread exits
  };

  explicit Tracee(pid_t tid) : tid_(tid) {}
  Tracee(const Tracee&) = delete;
  Tracee& operator=(const Tracee&) = delete;
  Tracee(Tracee&& o) noexcept;
  Tracee& operator=(Tracee&&) = delete;
  ~Tracee() { release(); }

  pid_t tid() const { return tid_; }
  State state() const { return state_; }

  // PTRACE_SEIZE with no options (the tracee's behaviour is unchanged), then
  // PTRACE_INTERRUPT. Errors: permission (EPERM, with the fix), no_node
  // (ESRCH: the thread is gone, state() == gone).
  Result<void> seize_and_interrupt();

  // Waits until the interrupt stop (PTRACE_EVENT_STOP) arrives or `timeout`
  // passes. A signal-delivery-stop seen on the way is passed on to the
  // thread with PTRACE_CONT(sig) (nothing is lost) and the wait goes on; a
  // group-stop is also a PTRACE_EVENT_STOP and is kept by the kernel after
  // we detach. On timeout the interrupt is re-issued once and waited for
  // again. Errors: no_node (thread exited), io (no stop: state() == stuck).
  Result<void> wait_stop(std::chrono::milliseconds timeout);

  // PTRACE_DETACH if stopped. Safe to call in any state, any number of times.
  // If the thread is seized but not stopped, it tries once more to reach a
  // stop (bounded) and otherwise leaves it to the exit of the seizing thread.
  void release();

  // Monotonic time (ns) at which the stop was observed, and at which the
  // thread was let go (0 until then).
  uint64_t stop_observed_ns() const { return stop_ns_; }
  uint64_t detached_ns() const { return detach_ns_; }

 private:
  // One waitpid poll loop; true when a stop was reached before `deadline`.
  Result<bool> poll_for_stop(std::chrono::steady_clock::time_point deadline);

  pid_t tid_;
  State state_ = State::idle;
  uint64_t stop_ns_ = 0;
  uint64_t detach_ns_ = 0;
};

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

}  // namespace sonde::capture
