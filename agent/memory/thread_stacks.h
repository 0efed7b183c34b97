// Which mapping is which thread's stack. /proc/PID/task/TID/stat's kstkesp
// is 0 on modern kernels, so we use what the kernel does still say:
//   * the main thread's stack is the mapping the kernel names [stack];
//   * a thread blocked in a system call shows its user stack pointer in
//     /proc/PID/task/TID/syscall (the next-to-last field, also for "-1 sp
//     pc" when it is stopped outside a call): the mapping holding that sp is
//     its stack (glibc allocates each thread's stack as one mapping);
//   * a thread that is running at that instant has no sp there: its stack
//     is found, if at all, by classify_mappings()'s guard-page rule.
// Reading these files stops nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonde::memory {

struct ThreadSp {
  pid_t tid = 0;
  uint64_t sp = 0;  // 0: unknown (running, or unreadable)
};

// The stack pointer from a /proc/.../syscall line; nullopt for "running".
std::optional<uint64_t> sp_from_syscall_line(const std::string& line);

// One entry per thread of `pid`.
std::vector<ThreadSp> read_thread_sps(pid_t pid);

}  // namespace sonde::memory
