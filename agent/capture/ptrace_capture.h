// Capture by ptrace: a Snapshot (registers + a copy of the live stack) of
// every thread of the node, each thread stopped only for its register read
// and one process_vm_readv (DESIGN.md §2 "capture copies, it does not walk").
//
// Guarantees (DESIGN.md §3, the node is sacred):
//  - every seized thread is detached on every path (Tracee's destructor);
//  - each stop is bounded by stop_timeout; a thread whose stop never comes
//    (uninterruptible sleep) is reported as an error and is detached by the
//    kernel when the capture thread exits (see tracee.h);
//  - a signal that arrives during the stop is passed on, a group-stop
//    (SIGSTOP) stays in effect after we detach;
//  - the tracee's behaviour is unchanged: PTRACE_SEIZE with no options.
// capture_process() runs the whole capture on a short-lived thread of its
// own (ptrace ties tracees to the seizing OS thread), so it may be called
// from any thread, but do not run two captures of the same pid at once (the
// second one's SEIZE fails with EPERM). Nothing else in the agent may call
// waitpid(-1, ..., __WALL) while a capture runs: it could take our stops.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "capture/snapshot.h"
#include "common/result.h"

namespace sonde::capture {

struct CaptureOptions {
  // Bytes of stack copied per thread, from sp towards the end of its mapping.
  size_t max_stack_bytes = 512 * 1024;
  // false: one thread at a time (each stopped for its own copy only).
  // true: stop all threads, copy all, then let all go (one instant for the
  //       whole process; each thread is stopped longer, and a thread that
  //       does not stop holds the others for up to 1.25 x stop_timeout).
  bool consistent = false;
  // Longest wait for one thread's stop after PTRACE_INTERRUPT (the wait is
  // retried once with a quarter of it before the thread is given up).
  std::chrono::milliseconds stop_timeout{500};
  // Only these threads (the ptrace CPU sampler takes the running ones only);
  // empty: every thread listed in /proc/PID/task.
  std::vector<pid_t> tids;
  // Called with each thread's tid while it is stopped, after its stack copy:
  // for reads that must see the same instant as the copy (the Python frame
  // chain, agent/python/). Keep it short: the thread stays stopped meanwhile.
  std::function<void(pid_t)> while_stopped;
};

struct ThreadResult {
  pid_t tid = 0;
  // The thread exited between listing and its stop: skipped, no snapshot.
  bool vanished = false;
  // A snapshot with stopped_ns set, or why this thread has none (vanished:
  // no_node; did not stop in time: io; ...).
  Result<Snapshot> snapshot;
};

// Captures every thread listed in /proc/PID/task when the capture starts
// (threads born later are not in the list), in the list's order.
// Fails as a whole only when the process cannot be captured at all: no such
// pid (no_node), attaching refused (permission, with the fix: root /
// CAP_SYS_PTRACE / yama ptrace_scope), already traced by a debugger
// (conflict), pid is the agent itself (bad_request).
Result<std::vector<ThreadResult>> capture_process(pid_t pid, const CaptureOptions& options = {});

}  // namespace sonde::capture
