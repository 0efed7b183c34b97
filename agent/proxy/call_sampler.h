// One CPU sampler shared by every profiled call in flight (per-call header,
// all-calls mode, job profiles). Calls overlap in time, so each call opens a
// window [start, end] on the node's clock (CLOCK_MONOTONIC, which both the
// eBPF probe and the ptrace sampler stamp samples with) and receives every
// sample of the node whose time falls inside it. A call's window keeps them
// with their threads, so that closing it can keep only the thread that
// served the call when that is known (serving_thread.h); otherwise, and for
// job windows, the whole node: two calls that overlap both get the samples
// of the overlap.
//
// The sampler (eBPF, else ptrace) starts with the first window and stops
// `linger` after the last one closes, so a busy proxy does not load the probe
// for every call and an idle one leaves nothing attached to the node. Samples
// are unwound and symbolized on a thread of this class's own, once each,
// whatever the number of windows that take them.
//
// CPython nodes get Python frames in place of the interpreter loop's, and
// threading's thread names, as GET /api/profile's profiles do.
//
// Independent of GET /api/profile's profiler (its own probe set and caches):
// a proxied call's profile never waits for, nor refuses, an API profile.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aggregate/profile.h"
#include "aggregate/python_sampling.h"
#include "aggregate/python_session.h"
#include "capture/ebpf_sampler.h"
#include "capture/ptrace_sampler.h"
#include "common/result.h"
#include "symbolize/kernel_symbols.h"
#include "symbolize/symbolizer.h"
#include "target/node.h"
#include "unwind/module_cache.h"
#include "unwind/unwinder.h"

namespace sonde::proxy {

class CallSampler {
 public:
  struct Window;
  using WindowPtr = std::shared_ptr<Window>;

  CallSampler(int hz, std::chrono::milliseconds linger = std::chrono::seconds(2));
  ~CallSampler();  // stop()
  // Stops the sampler and joins its threads; close() returns at once after
  // it, and close_async() callbacks no longer run. Idempotent.
  void stop();
  CallSampler(const CallSampler&) = delete;
  CallSampler& operator=(const CallSampler&) = delete;

  // A window from now on `node`. Cheap while the sampler runs; otherwise it
  // starts it (loading the probe: tens of milliseconds), so call it from a
  // worker thread unless running() says it is warm.
  // `per_thread`: the window keeps its samples with their threads, so that
  // close() can keep only the thread that served the call once it is known
  // (a call's window is short; a job's is not, and takes the whole node).
  Result<WindowPtr> open(const target::NodeId& node, bool per_thread = false);
  bool running(const target::NodeId& node) const;
  // A window when the sampler already runs on `node`, else nullptr: never
  // blocks on a probe load, so I/O threads may call it.
  WindowPtr open_if_warm(const target::NodeId& node, bool per_thread = false);
  // Marks the window's end now (close() and close_async() keep a marked end).
  void end(const WindowPtr& window);
  // Ends the window and returns its profile once every sample up to its end
  // is unwound (one poll of the ring later); `only_tid` (per-thread windows):
  // that thread's samples only, 0 for all. Blocks: worker threads only.
  aggregate::Profile close(const WindowPtr& window, pid_t only_tid = 0);
  // The same without waiting: `done` gets the profile on the resolver's
  // thread once it is complete (keep it short: post the work elsewhere).
  void close_async(const WindowPtr& window, pid_t only_tid, std::function<void(aggregate::Profile)> done);

 private:
  void resolver_loop();
  Result<void> start_locked(const target::NodeId& node);
  WindowPtr add_window_locked(const target::NodeId& node, bool per_thread);
  aggregate::Profile finish_locked(Window& w);

  const int hz_;
  const std::chrono::milliseconds linger_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // samples queued, windows opened or closed, stop
  std::condition_variable resolved_;  // the resolver passed a watermark
  std::deque<capture::Sample> queue_;
  uint64_t queue_dropped_ = 0;
  std::list<WindowPtr> windows_;
  std::unique_ptr<capture::EbpfSampler> ebpf_;
  std::unique_ptr<capture::PtraceSampler> ptrace_;
  // CPython nodes: the interpreter and its thread table, per sampler start
  // (shared with the resolver, which reads code objects with it).
  std::shared_ptr<aggregate::PythonSession> python_;
  std::shared_ptr<aggregate::PythonSampling> python_sampling_;
  target::NodeId node_{};
  std::string sampler_name_;
  uint64_t generation_ = 0;           // bumped on every (re)start: the resolver resets its caches
  uint64_t drained_ns_ = 0;           // every sample stamped before this is in the windows
  std::chrono::steady_clock::time_point idle_since_;
  bool stopping_ = false;
  bool starting_ = false;             // a start is loading the probe (mu_ released meanwhile)
  std::thread resolver_;

  // Resolver-thread state.
  unwind::ModuleCache modules_;
  unwind::Unwinder unwinder_;
  symbolize::Symbolizer symbolizer_;
  std::unique_ptr<symbolize::KernelSymbols> kernel_;
};

}  // namespace sonde::proxy
