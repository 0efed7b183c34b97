#include "unwind/process_view.h"

#include <atomic>

namespace sonde::unwind {

namespace {
std::atomic<uint64_t> next_serial{1};
}

ProcessView::ProcessView(pid_t pid, target::Maps maps, ModuleCache& cache)
    : pid_(pid), serial_(next_serial++), maps_(std::move(maps)), cache_(cache), places_(maps_.mappings.size()),
      resolved_(maps_.mappings.size(), false) {}

const ProcessView::Place* ProcessView::place(uint64_t addr) {
  if (last_ && last_->mapping->contains(addr)) return last_;
  const target::Mapping* m = maps_.find(addr);
  if (!m) return nullptr;
  size_t i = static_cast<size_t>(m - maps_.mappings.data());
  Place& p = places_[i];
  if (!resolved_[i]) {
    resolved_[i] = true;
    p.mapping = m;
    if (m->is_file() && m->readable) {
      if (auto mod = cache_.get(pid_, *m)) {
        if (auto bias = mod->bias_for(*m)) {
          p.module = mod.get();
          p.bias = *bias;
          held_.push_back(std::move(mod));
        }
      }
    }
  }
  last_ = &p;
  return &p;
}

bool ProcessView::read_file_backed(uint64_t addr, void* out, size_t n) {
  const Place* p = place(addr);
  if (!p || !p->module) return false;
  const target::Mapping& m = *p->mapping;
  if (n > m.end - addr) return false;  // never read across into another mapping
  return p->module->read(addr - m.start + m.offset, out, n);
}

}  // namespace sonde::unwind
