// The CPU sampler for nodes where eBPF is refused (no CAP_BPF/CAP_PERFMON, an
// old kernel, a locked-down host): every 1/hz s it takes a ptrace Snapshot
// (capture_process) of each thread of the node that is running at that
// instant, and hands it on as a Sample, the same type the eBPF sampler gives,
// so the profile pipeline does not know which one ran.
//
// Why running threads only: a CPU profile counts where the CPU goes; the eBPF
// probe (cpu-clock) only ever sees threads on a CPU, so sampling sleepers
// would make the two samplers disagree, and stopping every thread of a big
// node at 999 Hz would cost it far more than the few that run.
//
// Each tick stops each running thread for one register read and one stack
// copy (tens of microseconds, DESIGN.md §2); the measured cost is in the
// README. A tick that comes late (the capture took longer than the period) is
// skipped, not made up, and counted. Kernel stacks are not sampled.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "capture/ebpf_sampler.h"
#include "common/result.h"

namespace sonde::capture {

class PtraceSampler {
 public:
  struct Stats {
    uint64_t ticks = 0;         // ticks that looked for running threads
    uint64_t samples = 0;       // snapshots handed to on_sample
    uint64_t missed_ticks = 0;  // ticks skipped because a capture overran the period
    uint64_t failed = 0;        // threads that could not be captured on a tick
    uint64_t stopped_ns = 0;    // sum of the time threads were stopped: the node's cost
  };

  // Reads a stopped thread's Python frame chain (aggregate/python_sampling.h):
  // false when the thread has none. Runs on the sampler's thread, while the
  // thread stays stopped: keep it short.
  using PythonReader = std::function<bool(pid_t, python::RawStack*)>;

  // Checks that ptrace works on `tgid` (one capture of its main thread), then
  // samples on a thread of its own; on_sample runs there. Errors as
  // capture_process (permission with the fix, conflict with a debugger, ...).
  // `python` (CPython nodes): each sample of a Python thread carries its
  // Python frames of the same instant, as the eBPF probe's do.
  static Result<std::unique_ptr<PtraceSampler>> start(pid_t tgid, int hz, size_t stack_bytes,
                                                      std::function<void(Sample&&)> on_sample,
                                                      PythonReader python = nullptr);
  ~PtraceSampler();  // stop()
  PtraceSampler(const PtraceSampler&) = delete;
  PtraceSampler& operator=(const PtraceSampler&) = delete;

  // Ends sampling; on_sample is not called after it returns. Idempotent.
  void stop();
  Stats stats() const;
  // The node exited (every capture says no_node): sampling has ended.
  bool ended() const { return ended_; }

 private:
  PtraceSampler() = default;
  void loop();

  pid_t pid_ = 0;
  int hz_ = 99;
  size_t stack_bytes_ = 0;
  std::function<void(Sample&&)> on_sample_;
  PythonReader python_;
  std::thread thread_;
  std::atomic<bool> stopping_{false}, ended_{false};
  std::atomic<uint64_t> ticks_{0}, samples_{0}, missed_{0}, failed_{0}, stopped_ns_{0};
};

}  // namespace sonde::capture
