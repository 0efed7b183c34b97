// What unwinding yields: the code addresses of one thread's stack.
#pragma once

#include <cstdint>
#include <vector>

namespace sonde::unwind {

struct Frame {
  uint64_t pc = 0;
  // True for every frame but the innermost (and but a frame interrupted by a
  // signal): pc is a return address, the call is at pc-1, so a symbolizer
  // must look up pc-1 (a call at the very end of a function returns past it).
  bool return_address = false;
};

struct UnwoundStack {
  std::vector<Frame> frames;  // innermost first; never empty for a snapshot with a pc
  // The walk reached the outermost frame (the CFI of _start/clone3 says so,
  // or the frame-pointer chain ended at 0); false when it stopped early
  // (no unwind info, stack copy too short, depth limit).
  bool complete = false;
  // Some frames came from following rbp because CFI was missing or failed.
  bool used_frame_pointers = false;
};

}  // namespace sonde::unwind
