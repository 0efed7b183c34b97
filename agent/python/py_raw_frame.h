// A Python frame as read at the instant of a capture or a sample: pointers
// only, resolved to names and lines later (python/py_frames.h). Its own
// header because the eBPF sampler (capture/) fills it too.
#pragma once

#include <cstdint>
#include <vector>

namespace sonde::python {

struct RawFrame {
  uint64_t code = 0;    // the code object; 0 for an entry marker
  uint64_t instr = 0;   // the current instruction
  // This frame is the last (outermost) one run by one _PyEval_EvalFrameDefault
  // call: 3.11's is_entry frame, or (code == 0) 3.12+'s C-stack shim frame.
  bool ends_call = false;
};

// One thread's frames, innermost first. `complete` is false when the walk
// stopped on a bad read or its bound.
struct RawStack {
  std::vector<RawFrame> frames;
  bool complete = true;
};

}  // namespace sonde::python
