// CPU sampling by eBPF (probes/cpu_sample.bpf.c): on every tick of the
// software cpu-clock event that interrupts a thread of the node, the probe
// copies the thread's user registers, the top of its user stack and its
// kernel stack into a ring buffer; this class turns each record into a
// Sample whose Snapshot the ordinary unwinder takes (DESIGN.md §2). The node
// is never stopped, and nothing is written into it.
//
// One perf event per online CPU (pid -1, cpu N), the probe keeping the node's
// ticks: threads the node starts later are sampled without tracking them, it
// costs CPUs events rather than threads (a node may have hundreds), and the
// kernel never has to inherit events into the node's new threads. The price,
// one tick per CPU that the probe drops for other processes, is a few
// instructions.
//
// The node is sacred (DESIGN.md §3): the program and its perf events are held
// only by file descriptors of this process (close-on-exec, nothing pinned),
// so stop(), the destructor, an exception, or the agent's death (even
// kill -9) removes every one of them: the kernel closes the fds, the events
// go and the program is unloaded.
//
// The ring buffer is drained on a thread of the sampler's own, every
// poll_interval (the probe wakes it early only when the ring fills past a
// quarter), and on_sample runs there, one call at a time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "capture/snapshot.h"
#include "common/result.h"
#include "python/py_raw_frame.h"

struct cpu_sample_bpf;
struct bpf_link;
struct ring_buffer;

namespace sonde::capture {

// CPython nodes: where the probe finds a thread state's frame chain (see
// probes/cpu_sample.h, struct sonde_py_offsets); -1 for a field the version lacks.
struct PythonProbe {
  bool enabled = false;
  int tstate_cframe = -1, cframe_current_frame = -1, tstate_current_frame = -1;
  int frame_previous = -1, frame_code = -1, frame_instr = -1, frame_owner = -1;
  int frame_is_entry = -1, owner_cstack = -1, frame_bytes = 0;
};

struct SamplerOptions {
  int hz = 99;                       // ticks per second per CPU (kernel cap: perf_event_max_sample_rate)
  size_t stack_bytes = 16 * 1024;    // user stack copied above sp per sample, at most 32 KiB
  size_t ring_bytes = 8 << 20;       // ring buffer (rounded up to a power of two)
  std::chrono::milliseconds poll_interval{10};
  // Turn on the kernel's BPF run-time statistics while sampling, so that
  // Stats::probe_run_ns says what the probe cost the node. It is a
  // system-wide switch (every BPF program pays a clock read), so off by default.
  bool measure_probe_cost = false;
  PythonProbe python;  // read the Python frame chain of threads given to set_python_threads()
};

struct Sample {
  Snapshot snapshot;                  // pid = tgid, tid, user registers, stack copy from sp
  uint64_t time_ns = 0;               // CLOCK_MONOTONIC
  int cpu = -1;
  std::vector<uint64_t> kernel_stack; // innermost first; empty when !in_kernel
  bool in_kernel = false;             // the tick interrupted kernel code (registers are the
                                      // user ones saved at kernel entry)
  bool python_thread = false;         // the thread runs a CPython thread state ...
  python::RawStack python;            // ... whose frames the probe read at the tick
};

class EbpfSampler {
 public:
  struct Stats {
    uint64_t samples = 0;      // ticks that hit the node (counted by the probe)
    uint64_t delivered = 0;    // samples handed to on_sample
    uint64_t dropped = 0;      // ticks lost because the ring buffer was full
    uint64_t lost = 0;         // after stop(): samples neither delivered nor dropped
                               // (malformed records; should stay 0)
    uint64_t stack_short = 0;  // samples whose stack copy ended at an unmapped page
                               // (normal at the top of a stack)
    uint64_t probe_ns = 0;     // time the probe spent on the node's ticks: the node's cost
    uint64_t probe_runs = 0;   // probe invocations, all processes (measure_probe_cost)
    uint64_t probe_run_ns = 0; // their total run time (measure_probe_cost)
  };

  // Loads the probe for process `tgid` (a pid in the agent's pid namespace)
  // and starts sampling every online CPU at options.hz. on_sample is called
  // on the sampler's thread. Errors: bad_request (hz, stack_bytes), no_node,
  // permission (eBPF or perf events refused: the message says what to grant),
  // io/internal otherwise. Callers fall back to ptrace sampling on error.
  static Result<std::unique_ptr<EbpfSampler>> start(pid_t tgid, const SamplerOptions& options,
                                                    std::function<void(Sample&&)> on_sample);

  ~EbpfSampler();  // stop()
  EbpfSampler(const EbpfSampler&) = delete;
  EbpfSampler& operator=(const EbpfSampler&) = delete;

  // Detaches the probe from every CPU, delivers what is still in the ring,
  // then unloads the program. Idempotent; on_sample is not called after it
  // returns. Must not be called from on_sample.
  void stop();

  // Live counters while sampling, the final ones after stop(). Call it from
  // the thread that calls stop(), not during it.
  Stats stats() const;
  // CPython nodes: the thread states to read, by OS tid (replaces the
  // previous set; threads that ended are dropped from the probe's map).
  Result<void> set_python_threads(const std::vector<std::pair<pid_t, uint64_t>>& tid_tstate);
  int cpus() const { return cpus_; }  // CPUs sampled

 private:
  EbpfSampler() = default;
  void poll_loop();
  static int on_record(void* self, void* data, size_t size);
  Stats read_counters() const;

  std::function<void(Sample&&)> on_sample_;
  cpu_sample_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  std::vector<bpf_link*> links_;  // one per CPU; each owns its perf event fd
  int cpus_ = 0;
  int stats_fd_ = -1;             // BPF_ENABLE_STATS, while measure_probe_cost
  std::chrono::milliseconds poll_interval_{10};
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> delivered_{0}, malformed_{0};
  bool stopped_ = false;
  Stats final_{};
};

}  // namespace sonde::capture
