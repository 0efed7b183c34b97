#include "capture/tracee.h"

#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "capture/ptrace_errors.h"

namespace sonde::capture {

uint64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Tracee::Tracee(Tracee&& o) noexcept
    : tid_(o.tid_), state_(o.state_), stop_ns_(o.stop_ns_), detach_ns_(o.detach_ns_) {
  o.state_ = State::idle;  // the moved-from object must not detach
}

Result<void> Tracee::seize_and_interrupt() {
  // No options: the tracee keeps its exact behaviour (no exit/exec/clone
  // events, no syscall stops), and SEIZE itself does not stop it.
  if (::ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
    Error e = attach_error(tid_, errno);
    if (e.code == ErrorCode::no_node) state_ = State::gone;
    return std::unexpected(std::move(e));
  }
  state_ = State::running;
  if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) {
    int err = errno;
    if (err == ESRCH) {
      // Seized but gone before the interrupt: an exiting thread; the kernel
      // has nothing left to detach.
      state_ = State::gone;
      return fail(ErrorCode::no_node, "thread " + std::to_string(tid_) + " exited during capture");
    }
    return fail(ErrorCode::internal, "PTRACE_INTERRUPT of thread " + std::to_string(tid_) +
                                         " failed: " + std::strerror(err));
  }
  return {};
}

Result<bool> Tracee::poll_for_stop(std::chrono::steady_clock::time_point deadline) {
  // The stop normally arrives within microseconds: yield first (on a small
  // machine the tracee needs our CPU to reach its stop), then sleep with a
  // growing pause so a slow stop does not cost a spinning core.
  auto start = std::chrono::steady_clock::now();
  long pause_us = 10;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid_, &status, __WALL | WNOHANG);
    if (r < 0) {
      if (errno == EINTR) continue;
      // ECHILD: no longer our tracee (it exited and was reaped).
      state_ = State::gone;
      return fail(ErrorCode::no_node, "thread " + std::to_string(tid_) + " exited during capture");
    }
    if (r == tid_) {
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        state_ = State::gone;
        return fail(ErrorCode::no_node, "thread " + std::to_string(tid_) + " exited during capture");
      }
      if (WIFSTOPPED(status)) {
        int event = status >> 16;
        int sig = WSTOPSIG(status);
        if (event == PTRACE_EVENT_STOP) {
          // Our interrupt, or a group-stop (SIGSTOP & co.): either way the
          // thread is stopped; a group-stop is restored by the kernel at detach.
          stop_ns_ = monotonic_ns();
          state_ = State::stopped;
          return true;
        }
        if (event == 0) {
          // A signal-delivery-stop that raced our interrupt: hand the signal
          // on untouched; the interrupt stays pending and traps next.
          if (::ptrace(PTRACE_CONT, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0 &&
              errno == ESRCH) {
            state_ = State::gone;
            return fail(ErrorCode::no_node, "thread " + std::to_string(tid_) + " exited during capture");
          }
          continue;
        }
        // Any other event cannot happen without options; treat it as a stop
        // we can read and detach from.
        stop_ns_ = monotonic_ns();
        state_ = State::stopped;
        return true;
      }
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (now - start < std::chrono::microseconds(200)) {
      ::sched_yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      if (pause_us < 1000) pause_us *= 2;
    }
  }
}

Result<void> Tracee::wait_stop(std::chrono::milliseconds timeout) {
  if (state_ == State::stopped) return {};
  if (state_ != State::running)
    return fail(ErrorCode::internal, "wait_stop on a thread that is not seized");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto got = poll_for_stop(deadline);
  if (!got) return std::unexpected(got.error());
  if (*got) return {};
  // The interrupt may have been consumed by a stop we passed on; ask again
  // once, with a short second bound.
  ::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
  got = poll_for_stop(std::chrono::steady_clock::now() + timeout / 4 + std::chrono::milliseconds(1));
  if (!got) return std::unexpected(got.error());
  if (*got) return {};
  state_ = State::stuck;
  return fail(ErrorCode::io, "thread " + std::to_string(tid_) + " did not stop within " +
                                 std::to_string(timeout.count()) +
                                 " ms (uninterruptible sleep?); skipped, it runs on untouched");
}

void Tracee::release() {
  if (state_ == State::running || state_ == State::stuck) {
    // PTRACE_DETACH needs a stopped tracee. Ask for the stop once more with a
    // short bound; if it still does not come, the kernel detaches the thread
    // when our capture thread exits (see tracee.h).
    ::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
    auto got = poll_for_stop(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    if (!got || !*got) {
      if (got) state_ = State::stuck;
      return;
    }
  }
  if (state_ != State::stopped) return;
  // Detach with signal 0: nothing is injected; signals that arrived while
  // the thread was stopped stay pending and are delivered as usual.
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr) != 0 && errno == ESRCH) {
    // SIGKILLed while stopped: the thread is already leaving.
  }
  detach_ns_ = monotonic_ns();
  state_ = State::idle;
}

}  // namespace sonde::capture
