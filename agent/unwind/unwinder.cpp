#include "unwind/unwinder.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "unwind/frame_pointer.h"
#include "unwind/remote_accessors.h"

namespace sonde::unwind {

Unwinder::Unwinder(UnwindOptions options) : options_(options) {
  as_ = unw_create_addr_space(snapshot_accessors(), 0);
  // libunwind caches the parsed CFI per ip inside the address space; we
  // flush it whenever the process (ProcessView) changes, see unwind().
  if (as_) unw_set_caching_policy(as_, UNW_CACHE_GLOBAL);
}

Unwinder::~Unwinder() {
  if (as_) unw_destroy_addr_space(as_);
}

UnwoundStack Unwinder::unwind(const capture::Snapshot& snap, ProcessView& view) {
  UnwoundStack out;
  uint64_t pc0 = snap.regs.ip();
  if (pc0 == 0 || options_.max_frames == 0) return out;
  if (view.serial() != last_view_serial_) {
    // The same address may be other code in another process (or after a
    // dlclose): what libunwind cached for the previous view is void.
    if (as_) unw_flush_cache(as_, 0, 0);
    last_view_serial_ = view.serial();
  }

  UnwindSession session{&snap, &view};
  unw_cursor_t cursor;
  if (!as_ || unw_init_remote(&cursor, as_, &session) < 0) {
    out.frames.push_back(Frame{pc0, false});
    walk_frame_pointers(snap, snap.regs.bp(), snap.regs.sp(), options_.max_frames, out);
    return out;
  }

  std::vector<std::pair<uint64_t, uint64_t>> seen;  // (pc, sp) of each frame
  bool after_signal = false;  // a frame interrupted by a signal has an exact pc
  while (out.frames.size() < options_.max_frames) {
    unw_word_t pc = 0, sp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &pc);
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    if (pc == 0) {
      out.complete = true;
      break;
    }
    if (std::find(seen.begin(), seen.end(), std::pair<uint64_t, uint64_t>{pc, sp}) != seen.end()) break;
    seen.emplace_back(pc, sp);
    out.frames.push_back(Frame{pc, !out.frames.empty() && !after_signal});
    after_signal = unw_is_signal_frame(&cursor) > 0;

    int r = unw_step(&cursor);
    if (r == 0) {
      out.complete = true;
      break;
    }
    if (r < 0) {
      // No usable CFI here (or it led outside what we have): try the rbp
      // chain of the current frame, within the stack copy.
      unw_word_t bp = 0;
      unw_get_reg(&cursor, UNW_X86_64_RBP, &bp);
      walk_frame_pointers(snap, bp, sp, options_.max_frames, out);
      break;
    }
  }
  return out;
}

}  // namespace sonde::unwind
