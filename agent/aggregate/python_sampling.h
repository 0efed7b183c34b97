// What a CPU sampler needs to put Python frames (and threading's thread
// names) in the samples of a CPython node. Shared by GET /api/profile's
// profiler and the proxy's per-call sampler, whichever sampler runs:
//  - eBPF: the probe reads each tick's frame chain itself, from the thread
//    state of the ticked thread (probe() + the tid -> thread state map that
//    refresh() hands it);
//  - ptrace: the fallback sampler reads the chain while it holds the thread
//    stopped for its stack copy (ptrace_reader()), so native and Python
//    frames are of the same instant.
// refresh() and wants_refresh() belong to one thread at a time (the
// profiler's loop, or the proxy sampler's push on the sampler's thread);
// name() and the ptrace reader may run on others: the table between them is
// locked, and the reader has a memory reader of its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "aggregate/python_session.h"
#include "capture/ebpf_sampler.h"
#include "python/py_thread_names.h"

namespace sonde::aggregate {

class PythonSampling {
 public:
  explicit PythonSampling(const PythonSession& py);
  // The probe's offsets for this interpreter (SamplerOptions::python).
  capture::PythonProbe probe() const;
  // Reads the node's thread states now, for the ptrace reader and for the
  // probe (returned: hand them to EbpfSampler::set_python_threads); reads
  // threading's names when the set of threads changed (or every few seconds).
  // Empty when the thread list could not be read.
  std::vector<std::pair<pid_t, uint64_t>> refresh();
  // For PtraceSampler::start: reads a stopped thread's frame chain; false
  // for a thread with no Python thread state.
  std::function<bool(pid_t, python::RawStack*)> ptrace_reader() const;
  // threading's name for the thread, "" when it has none.
  std::string name(pid_t tid) const;
  // A sample of `tid` arrived: true when refresh() should run now, because
  // the thread was not in the table at the last refresh (a thread just
  // started, like a threaded server's thread for a new connection, would
  // otherwise miss its Python frames for up to a refresh period). A thread
  // is sampled before CPython records its OS tid (it does so once the
  // thread runs): only a thread still unknown 100 ms after its first sample
  // is taken for one that runs no Python, and asks no more.
  bool wants_refresh(pid_t tid);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::chrono::steady_clock::time_point names_read_{}, refreshed_{};
  std::unordered_map<pid_t, std::chrono::steady_clock::time_point> unseen_;  // tid -> first sample
  std::unordered_set<pid_t> not_python_;
  python::ThreadNameReader name_reader_;
};

// Hands refresh()'s thread states to the probe (a failure is logged: the
// samples then carry native frames only).
void give_python_threads(capture::EbpfSampler& ebpf, const std::vector<std::pair<pid_t, uint64_t>>& threads);

}  // namespace sonde::aggregate
