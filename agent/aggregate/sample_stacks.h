// One CPU sample (eBPF or ptrace) -> its symbolized stack, innermost first:
// kernel frames (module "[kernel]", from the sample's kernel stack) above the
// user frames (unwound from the Snapshot, then symbolized).
//
// Built to keep up with 999 Hz on a busy machine: the node's maps are read
// once per profile (again at most once a second when a pc falls outside
// them: a library was loaded), the ProcessView lives as long as those maps,
// and every pc's frames are cached (a hot loop gives the same few hundred
// pcs over and over), so a warm sample costs one unwind and some map
// lookups. Not thread-safe: one profile at a time owns it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "aggregate/stack_dump.h"
#include "capture/ebpf_sampler.h"
#include "python/py_frames.h"
#include "symbolize/kernel_symbols.h"
#include "symbolize/symbolizer.h"
#include "unwind/module_cache.h"
#include "unwind/process_view.h"
#include "unwind/unwinder.h"

namespace sonde::aggregate {

class SampleStacks {
 public:
  SampleStacks(unwind::ModuleCache& modules, unwind::Unwinder& unwinder, symbolize::Symbolizer& symbolizer,
               const symbolize::KernelSymbols* kernel);

  // Starts on process `pid`: reads its maps, forgets the pc cache.
  Result<void> reset(pid_t pid);
  // CPython nodes: Python frames of samples that carry them replace the
  // interpreter loop's frames (python/py_merge.h); python_only keeps them alone.
  void set_python(python::CodeReader* code, bool python_only) {
    code_ = code;
    python_only_ = python_only;
  }
  // Readable state of the maps (for the Python session).
  const target::Maps& maps() const { return maps_; }
  // The sample's frames, innermost first; valid until the next call.
  const std::vector<Frame>& frames(const capture::Sample& sample);

  uint64_t pc_cache_hits() const { return hits_; }
  uint64_t pc_cache_misses() const { return misses_; }

 private:
  void refresh_maps();
  const std::vector<Frame>& user_frames(uint64_t pc, bool return_address);
  Frame kernel_frame(uint64_t address);

  unwind::ModuleCache& modules_;
  unwind::Unwinder& unwinder_;
  symbolize::Symbolizer& symbolizer_;
  const symbolize::KernelSymbols* kernel_;
  pid_t pid_ = 0;
  target::Maps maps_;
  std::unique_ptr<unwind::ProcessView> view_;
  std::chrono::steady_clock::time_point maps_read_{};
  // pc (bit 63: a return address) -> its frames (inlined ones first).
  std::unordered_map<uint64_t, std::vector<Frame>> pc_frames_;
  std::unordered_map<uint64_t, Frame> kernel_frames_;
  std::vector<Frame> out_, native_;
  python::CodeReader* code_ = nullptr;
  bool python_only_ = false;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace sonde::aggregate
