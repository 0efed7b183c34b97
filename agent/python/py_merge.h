// Native + Python frames as the thread really runs them: each native
// _PyEval_EvalFrameDefault frame (with the helpers inlined into it at the
// same address) is replaced by the Python frames that call ran, so a stack
// reads native -> Python -> native. CPython 3.11+ runs several Python frames
// in one C call; the groups come from the entry markers (py_frames.h).
#pragma once

#include <string_view>
#include <vector>

#include "symbolize/symbol_frame.h"

namespace sonde::python {

// The interpreter loop's native frame (also its ".cold" part).
bool is_eval_frame(const symbolize::SymbolFrame& f);

// native: innermost first, inlined frames before their caller. groups:
// innermost call first (CodeReader::groups). Groups are matched to eval
// frames innermost first; when the native unwind found fewer eval frames
// (it stopped early), the remaining Python frames go where the last one was,
// or at the outer end when it found none. python_only: the Python frames alone.
std::vector<symbolize::SymbolFrame> merge_frames(const std::vector<symbolize::SymbolFrame>& native,
                                                 const std::vector<std::vector<symbolize::SymbolFrame>>& groups,
                                                 bool python_only);

}  // namespace sonde::python
