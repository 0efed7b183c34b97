#include "aggregate/sample_stacks.h"

#include "python/py_merge.h"

namespace sonde::aggregate {

SampleStacks::SampleStacks(unwind::ModuleCache& modules, unwind::Unwinder& unwinder,
                           symbolize::Symbolizer& symbolizer, const symbolize::KernelSymbols* kernel)
    : modules_(modules), unwinder_(unwinder), symbolizer_(symbolizer), kernel_(kernel) {}

Result<void> SampleStacks::reset(pid_t pid) {
  auto maps = target::read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  pid_ = pid;
  maps_ = std::move(*maps);
  view_ = std::make_unique<unwind::ProcessView>(pid_, maps_, modules_);
  maps_read_ = std::chrono::steady_clock::now();
  pc_frames_.clear();
  return {};
}

// A pc outside every mapping: the node mapped new code (dlopen, a JIT)
// since the maps were read. Once a second at most: a garbage pc from a
// broken unwind must not make every sample re-read /proc.
void SampleStacks::refresh_maps() {
  auto now = std::chrono::steady_clock::now();
  if (now - maps_read_ < std::chrono::seconds(1)) return;
  maps_read_ = now;
  auto maps = target::read_maps(pid_);
  if (!maps) return;
  maps_ = std::move(*maps);
  view_ = std::make_unique<unwind::ProcessView>(pid_, maps_, modules_);
  pc_frames_.clear();  // an address may now mean other code
}

const std::vector<Frame>& SampleStacks::user_frames(uint64_t pc, bool return_address) {
  uint64_t key = pc | (return_address ? (1ull << 63) : 0);
  if (auto it = pc_frames_.find(key); it != pc_frames_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  return pc_frames_[key] = symbolizer_.symbolize(pid_, maps_, pc, return_address);
}

Frame SampleStacks::kernel_frame(uint64_t address) {
  if (auto it = kernel_frames_.find(address); it != kernel_frames_.end()) return it->second;
  Frame f;
  f.module = "[kernel]";
  f.address = address;
  if (kernel_) {
    if (auto hit = kernel_->lookup(address)) {
      f.function = hit->symbol->name;
      f.offset = hit->offset;
      if (!hit->symbol->module.empty()) f.module = "[" + hit->symbol->module + "]";
    }
  }
  return kernel_frames_[address] = f;
}

const std::vector<Frame>& SampleStacks::frames(const capture::Sample& sample) {
  out_.clear();
  const bool python = code_ && sample.python_thread;
  if (python && python_only_) {
    // Python frames alone: no unwind at all.
    for (auto& g : code_->groups(sample.python)) out_.insert(out_.end(), g.begin(), g.end());
    return out_;
  }
  for (uint64_t a : sample.kernel_stack) out_.push_back(kernel_frame(a));
  if (!view_) return out_;
  if (!view_->place(sample.snapshot.regs.ip())) refresh_maps();
  auto stack = unwinder_.unwind(sample.snapshot, *view_);
  native_.clear();
  for (const auto& f : stack.frames) {
    const auto& fs = user_frames(f.pc, f.return_address);
    native_.insert(native_.end(), fs.begin(), fs.end());
  }
  if (python) {
    auto merged = python::merge_frames(native_, code_->groups(sample.python), false);
    out_.insert(out_.end(), merged.begin(), merged.end());
  } else {
    out_.insert(out_.end(), native_.begin(), native_.end());
  }
  return out_;
}

}  // namespace sonde::aggregate
