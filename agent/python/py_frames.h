// One thread's Python frames, read from outside in two steps:
//  1. read_raw_frames(): the chain of _PyInterpreterFrame from the thread
//     state (code object and instruction pointers, entry markers). It is the
//     part that races with the running thread, so it is small and done while
//     the thread is stopped (stack dumps) or as soon as a sample arrives;
//  2. CodeReader::frames(): code objects -> names, file, line, at leisure:
//     a code object does not change while it lives, and it is cached.
// A frame read that looks wrong (pointer out of range, not a code object,
// a chain longer than kMaxFrames) ends the chain: a short stack rather than a
// wrong frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_raw_frame.h"
#include "python/py_runtime.h"
#include "symbolize/symbol_frame.h"

namespace sonde::python {

inline constexpr int kMaxFrames = 1024;

RawStack read_raw_frames(const memory::RemoteMemory& mem, const PyRuntime& rt, uint64_t tstate);

struct CodeInfo {
  std::string name, qualname, filename;
  int first_line = 0;
  std::string linetable;
  uint64_t header_sig = 0;  // the pointers it was read from, to notice reuse of the address
  uint64_t checked_in = 0;  // the CodeReader pass that last checked it
  std::unordered_map<long, int> lines;  // bytecode offset -> line, as decoded
};

// Resolves code objects to names and lines; keeps them across calls. A
// cached code object is checked against its header once per pass (a stack
// dump, or a fraction of a second of profile), so an address reused by
// another code object is read again.
class CodeReader {
 public:
  CodeReader(const memory::RemoteMemory& mem, const PyRuntime& rt) : mem_(mem), rt_(rt) {}
  // Python frames grouped by _PyEval_EvalFrameDefault call, innermost call
  // first, each group innermost frame first. A frame whose code object
  // cannot be read is dropped.
  std::vector<std::vector<symbolize::SymbolFrame>> groups(const RawStack& stack);
  // Lookups that had to read a code object again (for tests and benches).
  uint64_t misses() const { return misses_; }
  // Starts a pass: each cached code object is checked again at its next use.
  void new_pass() { ++pass_; }

 private:
  CodeInfo* code(uint64_t address);
  const memory::RemoteMemory& mem_;
  const PyRuntime& rt_;
  std::unordered_map<uint64_t, std::unique_ptr<CodeInfo>> cache_;
  uint64_t misses_ = 0;
  uint64_t pass_ = 1;
};

}  // namespace sonde::python
