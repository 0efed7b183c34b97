// The fallback when there is no CFI for a pc or libunwind gives up: follow
// the rbp chain (saved rbp at [rbp], return address at [rbp+8]) inside the
// stack copy only. Each link must lie in the copy and point higher than the
// last, so a garbage rbp (code built without frame pointers) ends the walk
// instead of inventing frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "capture/snapshot.h"
#include "unwind/frame.h"

namespace sonde::unwind {

// Appends return addresses to `out` starting from frame pointer `bp`, not
// below `min_sp`, until out.frames holds max_frames. Sets out.complete when
// the chain ends with a saved rbp of 0 (the ABI's end marker).
void walk_frame_pointers(const capture::Snapshot& snap, uint64_t bp, uint64_t min_sp,
                         size_t max_frames, UnwoundStack& out);

}  // namespace sonde::unwind
