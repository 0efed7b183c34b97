// Takes a stack dump of every thread of the node: capture (copies) ->
// unwind (offline) -> symbolize -> ThreadStacks with their thread facts.
// Long-lived: it keeps the unwinder's and the symbolizer's caches, so a warm
// second dump parses no ELF or DWARF again. One dump at a time (a mutex):
// two captures of one node cannot run at once anyway.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <mutex>

#include "aggregate/stack_dump.h"
#include "common/result.h"
#include "symbolize/symbolizer.h"
#include "unwind/module_cache.h"
#include "unwind/unwinder.h"

namespace sonde::aggregate {

struct DumpOptions {
  bool consistent = false;                // stop all threads at once (a true point in time)
  std::size_t max_stack_bytes = 512 * 1024;
  // CPython nodes (agent/python/): Python frames in place of the interpreter
  // loop's native frames (default), the Python frames alone (python_only:
  // threads without a Python thread state are left out; a node whose Python
  // cannot be read is an error), or native frames only.
  bool python_only = false;
  bool native_only = false;
};

struct PythonSession;  // the interpreter found in the node, and its code cache

class StackDumper {
 public:
  explicit StackDumper(symbolize::SymbolizerOptions symbols = {});
  ~StackDumper();
  Result<StackDump> dump(pid_t pid, const DumpOptions& options);
  symbolize::Symbolizer& symbolizer() { return symbolizer_; }

 private:
  std::mutex mu_;
  unwind::ModuleCache modules_;
  unwind::Unwinder unwinder_;
  symbolize::Symbolizer symbolizer_;
  std::unique_ptr<PythonSession> python_;
};

}  // namespace sonde::aggregate
