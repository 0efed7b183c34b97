// A stack dump of every thread of the node: what the renderers (html, json,
// text) read. Built by dump_stacks() from captured, unwound and symbolized
// threads; frames innermost first; unknown facts stay empty (DESIGN.md §1).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "symbolize/symbol_frame.h"

namespace sonde::aggregate {

using Frame = symbolize::SymbolFrame;

struct ThreadStack {
  pid_t tid = 0;
  std::string name;
  char state = '?';
  std::string state_name;      // "sleeping", ...
  std::string wait;            // "futex wait", "read on fd 3 (pipe:[1])", ... or ""
  double cpu_user_s = 0, cpu_system_s = 0;
  uint64_t stopped_us = 0;     // how long this thread was stopped for the capture
  bool in_kernel = false;      // stopped inside a system call
  bool complete = true;        // the unwind reached the outermost frame
  std::string error;           // set when the thread could not be captured (frames empty)
  std::vector<Frame> frames;   // innermost first; inlined frames before their caller
  std::vector<std::string> kernel_stack;  // /proc/PID/task/TID/stack when readable
  bool python = false;         // a CPython thread state runs on this thread
  bool holds_gil = false;      // ... and it held the GIL when read
  std::string python_name;     // threading's name for it ("" when threading does not know it)
};

struct StackDump {
  pid_t pid = 0;
  std::string exe;
  std::vector<std::string> cmdline;
  std::string captured_at;     // ISO 8601 UTC
  std::string mode;            // "per-thread" or "consistent"
  double wall_ms = 0;          // whole dump: capture + unwind + symbolize
  std::string python_version;  // "3.12.1" when the node is a CPython sonde reads
  std::string python_error;    // why its Python frames are not shown ("" when they are, or not Python)
  std::vector<ThreadStack> threads;  // sorted by tid
};

// Threads whose stacks are identical (same functions and modules in order),
// for the HTML page and text output: biggest group first.
struct StackGroup {
  std::vector<const ThreadStack*> threads;
  const ThreadStack* representative = nullptr;
};
std::vector<StackGroup> group_identical(const StackDump& dump);

}  // namespace sonde::aggregate
