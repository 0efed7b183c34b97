#include "aggregate/python_sampling.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include "python/py_thread_names.h"
#include "python/py_threads.h"

namespace sonde::aggregate {

namespace {

// threading's names change rarely (a rename); new threads are noticed at once.
constexpr std::chrono::seconds kNamesMaxAge{5};
// A new thread's samples read the table again at most this often.
constexpr std::chrono::milliseconds kNewThreadRefresh{20};
// How long a new thread may run before CPython has recorded its OS tid.
constexpr std::chrono::milliseconds kPythonGrace{100};

}  // namespace

struct PythonSampling::Shared {
  explicit Shared(const python::PyRuntime& r) : rt(r), mem(r.pid), reader_mem(r.pid) {}
  const python::PyRuntime rt;
  memory::RemoteMemory mem;         // refresh()'s thread
  memory::RemoteMemory reader_mem;  // the ptrace sampler's thread
  mutable std::mutex mu;
  std::unordered_map<pid_t, uint64_t> tstates;  // OS tid -> thread state
  std::unordered_map<pid_t, std::string> names;
};

PythonSampling::PythonSampling(const PythonSession& py) : shared_(std::make_shared<Shared>(py.rt)) {}

capture::PythonProbe PythonSampling::probe() const {
  const auto& l = shared_->rt.layout;
  capture::PythonProbe p;
  p.enabled = true;
  p.tstate_cframe = int(l.tstate_cframe);
  p.cframe_current_frame = int(l.cframe_current_frame);
  p.tstate_current_frame = int(l.tstate_current_frame);
  p.frame_previous = int(l.frame_previous);
  p.frame_code = int(l.frame_code);
  p.frame_instr = int(l.frame_instr);
  p.frame_owner = int(l.frame_owner);
  p.frame_is_entry = int(l.frame_is_entry);
  p.owner_cstack = int(l.owner_cstack);
  p.frame_bytes = int(l.frame_size);
  return p;
}

std::vector<std::pair<pid_t, uint64_t>> PythonSampling::refresh() {
  std::vector<std::pair<pid_t, uint64_t>> pairs;
  auto threads = python::read_threads(shared_->mem, shared_->rt);
  if (!threads) return pairs;
  std::unordered_map<pid_t, uint64_t> tstates;
  for (const auto& t : *threads)
    if (t.native_tid > 0) {
      tstates[t.native_tid] = t.tstate;
      pairs.emplace_back(t.native_tid, t.tstate);
    }
  const auto now = std::chrono::steady_clock::now();
  for (auto it = unseen_.begin(); it != unseen_.end();) {
    if (tstates.count(it->first)) {
      it = unseen_.erase(it);
    } else if (now - it->second > kPythonGrace) {
      not_python_.insert(it->first);
      it = unseen_.erase(it);
    } else {
      ++it;
    }
  }
  bool changed;
  {
    std::lock_guard lock(shared_->mu);
    changed = tstates != shared_->tstates;
    shared_->tstates = std::move(tstates);
  }
  refreshed_ = now;
  if (changed || now - names_read_ > kNamesMaxAge) {
    // A thread sampled before its thread state named it (CPython fills in
    // the OS tid once the thread runs) gets another chance.
    if (now - names_read_ > kNamesMaxAge) not_python_.clear();
    names_read_ = now;
    auto names = name_reader_.read(shared_->mem, shared_->rt, *threads);
    std::lock_guard lock(shared_->mu);
    shared_->names = std::move(names);
  }
  return pairs;
}

std::function<bool(pid_t, python::RawStack*)> PythonSampling::ptrace_reader() const {
  return [shared = shared_](pid_t tid, python::RawStack* out) {
    uint64_t tstate;
    {
      std::lock_guard lock(shared->mu);
      auto it = shared->tstates.find(tid);
      if (it == shared->tstates.end()) return false;
      tstate = it->second;
    }
    *out = python::read_raw_frames(shared->reader_mem, shared->rt, tstate);
    return true;
  };
}

bool PythonSampling::wants_refresh(pid_t tid) {
  if (not_python_.count(tid)) return false;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->tstates.count(tid)) return false;
  }
  auto now = std::chrono::steady_clock::now();
  unseen_.try_emplace(tid, now);
  return now - refreshed_ >= kNewThreadRefresh;
}

std::string PythonSampling::name(pid_t tid) const {
  std::lock_guard lock(shared_->mu);
  auto it = shared_->names.find(tid);
  return it == shared_->names.end() ? std::string() : it->second;
}

void give_python_threads(capture::EbpfSampler& ebpf, const std::vector<std::pair<pid_t, uint64_t>>& threads) {
  if (threads.empty()) return;  // unread: keep the probe's last set
  if (auto r = ebpf.set_python_threads(threads); !r) spdlog::warn("Python threads for the probe: {}", r.error().message);
}

}  // namespace sonde::aggregate
