// What a capture hands to the unwinder: one thread's registers and a copy of
// the live part of its user stack. Both samplers (ptrace and eBPF) produce
// it, so nothing downstream knows how it was taken.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace sonde::capture {

// x86_64 user registers in DWARF numbering order (rax, rdx, rcx, rbx, rsi,
// rdi, rbp, rsp, r8..r15, rip): what CFI rules refer to.
struct Registers {
  uint64_t dwarf[17] = {};
  uint64_t ip() const { return dwarf[16]; }
  uint64_t sp() const { return dwarf[7]; }
  uint64_t bp() const { return dwarf[6]; }
};

struct Snapshot {
  pid_t pid = 0;
  pid_t tid = 0;
  Registers regs;
  uint64_t stack_start = 0;       // node address of stack[0] (the stack pointer at capture)
  std::vector<uint8_t> stack;     // bytes [stack_start, stack_start + stack.size())
  uint64_t stopped_ns = 0;        // how long the thread was stopped (0 for eBPF samples)
  bool in_kernel = false;         // the sample landed in a syscall / kernel code
};

}  // namespace sonde::capture
