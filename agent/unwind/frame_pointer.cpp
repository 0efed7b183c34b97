#include "unwind/frame_pointer.h"

#include <cstring>

namespace sonde::unwind {

namespace {
bool stack_word(const capture::Snapshot& s, uint64_t addr, uint64_t& out) {
  if (addr < s.stack_start || addr - s.stack_start > s.stack.size() ||
      s.stack.size() - (addr - s.stack_start) < 8)
    return false;
  std::memcpy(&out, s.stack.data() + (addr - s.stack_start), 8);
  return true;
}
}  // namespace

void walk_frame_pointers(const capture::Snapshot& snap, uint64_t bp, uint64_t min_sp,
                         size_t max_frames, UnwoundStack& out) {
  while (out.frames.size() < max_frames) {
    if (bp < min_sp || (bp & 7) != 0) return;
    uint64_t next = 0, ret = 0;
    if (!stack_word(snap, bp, next) || !stack_word(snap, bp + 8, ret)) return;
    if (ret == 0) {
      out.complete = true;
      return;
    }
    out.frames.push_back(Frame{ret, true});
    out.used_frame_pointers = true;
    if (next == 0) {
      out.complete = true;
      return;
    }
    if (next <= bp) return;  // frames must go up the stack
    bp = next;
  }
}

}  // namespace sonde::unwind
