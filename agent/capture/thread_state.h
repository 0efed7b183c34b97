// Reading one stopped thread: its registers and one copy of its live stack.
// Only valid while the thread is in a ptrace stop held by the calling OS
// thread (see tracee.h); both are the whole of what a capture takes.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "capture/snapshot.h"
#include "common/result.h"
#include "target/maps.h"

namespace sonde::capture {

// PTRACE_GETREGSET(NT_PRSTATUS) into snap.regs (DWARF order). Sets
// snap.in_kernel when the stop interrupted a system call: orig_rax holds the
// syscall number then, and -1 when the thread was stopped in user code (the
// hint costs nothing, unlike reading /proc/TID/syscall).
Result<void> read_registers(pid_t tid, Snapshot& snap);

// How many bytes of stack to copy for stack pointer sp: up to the end of the
// mapping holding sp, at most max_bytes. Without a mapping for sp (a stack
// the maps we read do not know yet) `maps` is reread once; still none: 0
// (the unwinder then has only registers).
uint64_t stack_extent(pid_t pid, target::Maps& maps, uint64_t sp, size_t max_bytes);

// One process_vm_readv of [sp, sp + len) of thread tid into `into` (which
// holds len bytes). Returns the bytes read: a short read (a fault part-way)
// keeps what was read.
Result<size_t> copy_stack(pid_t tid, uint64_t sp, uint64_t len, uint8_t* into);

}  // namespace sonde::capture
