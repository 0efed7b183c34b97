#include "python/py_merge.h"

namespace sonde::python {

bool is_eval_frame(const symbolize::SymbolFrame& f) {
  return !f.python && f.function.rfind("_PyEval_EvalFrameDefault", 0) == 0;
}

std::vector<symbolize::SymbolFrame> merge_frames(const std::vector<symbolize::SymbolFrame>& native,
                                                 const std::vector<std::vector<symbolize::SymbolFrame>>& groups,
                                                 bool python_only) {
  std::vector<symbolize::SymbolFrame> out;
  if (python_only) {
    for (const auto& g : groups) out.insert(out.end(), g.begin(), g.end());
    return out;
  }
  // Eval frames: the real (not inlined) frame of _PyEval_EvalFrameDefault.
  std::vector<size_t> evals;
  for (size_t i = 0; i < native.size(); ++i)
    if (is_eval_frame(native[i]) && !native[i].inlined) evals.push_back(i);
  size_t next_group = 0;
  size_t e = 0;
  for (size_t i = 0; i < native.size(); ++i) {
    // Frames inlined into the eval loop at the eval frame's address are its
    // internals: they go with it.
    size_t j = i;
    while (j < native.size() && native[j].inlined && native[j].address == native[i].address) ++j;
    bool eval_here = e < evals.size() && evals[e] == j && j < native.size() && native[j].address == native[i].address;
    if (!eval_here) {
      out.push_back(native[i]);
      continue;
    }
    bool last_eval = e + 1 == evals.size();
    ++e;
    size_t take_until = last_eval ? groups.size() : std::min(groups.size(), next_group + 1);
    bool any = false;
    for (; next_group < take_until; ++next_group) {
      out.insert(out.end(), groups[next_group].begin(), groups[next_group].end());
      any = any || !groups[next_group].empty();
    }
    if (!any) out.insert(out.end(), native.begin() + long(i), native.begin() + long(j) + 1);  // keep it native
    i = j;
  }
  // No eval frame unwound at all: the Python frames are outer than all we saw.
  for (; next_group < groups.size(); ++next_group) out.insert(out.end(), groups[next_group].begin(), groups[next_group].end());
  return out;
}

}  // namespace sonde::python
