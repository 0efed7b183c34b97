// A CPU profile of the node: a sampler (eBPF, or ptrace where eBPF is
// refused) -> SampleStacks (unwind + symbolize, cached) -> ProfileBuilder.
//
// Threads: the sampler hands samples over on its own thread (the eBPF ring's
// poll thread, or the ptrace sampler's); they wait in a bounded queue and are
// unwound on the thread that called run(), so a slow unwind never stalls the
// ring (which would drop ticks in the kernel). A queue that still fills drops
// samples, counted in ProfileInfo::dropped with the sampler's own drops.
//
// One profile at a time per profiler: DESIGN.md §1 allows one probe set per
// node, and the caches (unwinder, modules, symbols) belong to one thread.
// try_acquire() says whether the profiler is free; a second request gets the
// conflict error (409) rather than a second probe set.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "aggregate/profile.h"
#include "common/result.h"
#include "symbolize/kernel_symbols.h"
#include "symbolize/symbolizer.h"
#include "target/node.h"
#include "unwind/module_cache.h"
#include "unwind/unwinder.h"

namespace sonde::aggregate {

struct ProfileRequest {
  target::NodeId node;
  double seconds = 5;
  int hz = 99;
  pid_t tid = 0;                 // 0: every thread
  std::string sampler = "auto";  // "auto" (eBPF, else ptrace), "ebpf" (no fallback), "ptrace"
  size_t stack_bytes = 16 * 1024;
  // CPython nodes: Python frames in place of the interpreter loop's native
  // frames (default), Python frames alone, or native frames only.
  bool python_only = false;
  bool native_only = false;
};

// What the run cost, for logs, response headers and the benchmark.
struct ProfileRunStats {
  uint64_t samples = 0;          // samples that reached the builder
  uint64_t filtered = 0;         // samples of other threads (threads=TID)
  uint64_t queue_dropped = 0;    // samples dropped because unwinding fell behind
  double resolve_us = 0;         // average unwind + symbolize time per sample
  double pc_cache_hit_rate = 0;  // 0..1
  std::string fallback_reason;   // why eBPF was not used ("" when it was)
  std::string python_version;    // the node's CPython when its frames were read
  std::string python_error;      // why they were not ("" when they were, or not Python)
  uint64_t python_samples = 0;   // samples of threads with a Python thread state
  uint64_t python_truncated = 0; // ... whose frame chain the probe could not read to the end
};

struct PythonSession;

class CpuProfiler {
 public:
  class Lease {
   public:
    Lease(Lease&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (p_) p_->busy_ = false;
    }

   private:
    friend class CpuProfiler;
    explicit Lease(CpuProfiler* p) : p_(p) {}
    CpuProfiler* p_;
  };

  CpuProfiler();
  ~CpuProfiler();

  // The right to run one profile; nullopt while another one runs.
  std::optional<Lease> try_acquire();
  // The conflict error a second request gets.
  static Error busy_error();

  // Samples for request.seconds (less when cancel() is called or the node
  // exits: then info.partial) and returns the profile. Blocks the caller.
  Result<Profile> run(const Lease& lease, const ProfileRequest& request, ProfileRunStats* stats = nullptr);
  // Ends a running profile early, keeping its samples (agent shutdown).
  void cancel() { cancel_ = true; }

 private:
  std::atomic<bool> busy_{false}, cancel_{false};
  unwind::ModuleCache modules_;
  unwind::Unwinder unwinder_;
  symbolize::Symbolizer symbolizer_;
  std::unique_ptr<symbolize::KernelSymbols> kernel_;  // read on the first profile
  std::unique_ptr<PythonSession> python_;
};

// The bounds of GET /api/profile (DESIGN.md §1, issue 4): 0 < seconds <= 600, 1 <= hz <= 1000.
inline constexpr double kMaxProfileSeconds = 600;
inline constexpr int kMaxProfileHz = 1000;

}  // namespace sonde::aggregate
