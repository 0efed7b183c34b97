// What a CPU sampler needs to put Python frames (and threading's thread
// names) in the samples of a CPython node. Shared by GET /api/profile's
// profiler and the proxy's per-call sampler, whichever sampler runs:
//  - eBPF: the probe reads each tick's frame chain itself, from the thread
//    state of the ticked thread (probe() + the tid -> thread state map that
//    refresh() hands it);
//  - ptrace: the fallback sampler reads the chain while it holds the thread
//    stopped for its stack copy (ptrace_reader()), so native and Python
//    frames are of the same instant.
// refresh() runs on the caller's thread every few hundred milliseconds; the
// ptrace reader runs on the sampler's thread: the table between them is
// locked, and the reader has a memory reader of its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "aggregate/python_session.h"
#include "capture/ebpf_sampler.h"

namespace sonde::aggregate {

class PythonSampling {
 public:
  explicit PythonSampling(const PythonSession& py);
  // The probe's offsets for this interpreter (SamplerOptions::python).
  capture::PythonProbe probe() const;
  // Reads the node's thread states now and gives them to the probe (when
  // `ebpf`) and to the ptrace reader; reads threading's names when the set
  // of threads changed (or every few seconds).
  void refresh(capture::EbpfSampler* ebpf);
  // For PtraceSampler::start: reads a stopped thread's frame chain; false
  // for a thread with no Python thread state.
  std::function<bool(pid_t, python::RawStack*)> ptrace_reader() const;
  // threading's name for the thread, "" when it has none.
  std::string name(pid_t tid) const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::chrono::steady_clock::time_point names_read_{};
};

}  // namespace sonde::aggregate
