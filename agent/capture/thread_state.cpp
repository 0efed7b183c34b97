#include "capture/thread_state.h"

#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sonde::capture {

Result<void> read_registers(pid_t tid, Snapshot& snap) {
  user_regs_struct r{};
  iovec io{&r, sizeof r};
  if (::ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0) {
    int err = errno;
    if (err == ESRCH) return fail(ErrorCode::no_node, "thread " + std::to_string(tid) + " exited during capture");
    return fail(ErrorCode::internal, "cannot read registers of thread " + std::to_string(tid) + ": " +
                                         std::strerror(err));
  }
  // DWARF register numbers for x86_64 (System V psABI, figure 3.36).
  uint64_t* d = snap.regs.dwarf;
  d[0] = r.rax;
  d[1] = r.rdx;
  d[2] = r.rcx;
  d[3] = r.rbx;
  d[4] = r.rsi;
  d[5] = r.rdi;
  d[6] = r.rbp;
  d[7] = r.rsp;
  d[8] = r.r8;
  d[9] = r.r9;
  d[10] = r.r10;
  d[11] = r.r11;
  d[12] = r.r12;
  d[13] = r.r13;
  d[14] = r.r14;
  d[15] = r.r15;
  d[16] = r.rip;
  snap.in_kernel = static_cast<int64_t>(r.orig_rax) >= 0;
  return {};
}

uint64_t stack_extent(pid_t pid, target::Maps& maps, uint64_t sp, size_t max_bytes) {
  const target::Mapping* m = maps.find(sp);
  if (!m) {
    // A thread started after we read the maps: its stack is new.
    if (auto fresh = target::read_maps(pid)) maps = std::move(*fresh);
    m = maps.find(sp);
  }
  if (!m) return 0;
  uint64_t len = m->end - sp;
  return len > max_bytes ? max_bytes : len;
}

Result<size_t> copy_stack(pid_t tid, uint64_t sp, uint64_t len, uint8_t* into) {
  if (len == 0) return size_t{0};
  iovec local{into, len};
  iovec remote{reinterpret_cast<void*>(sp), len};
  ssize_t n = ::process_vm_readv(tid, &local, 1, &remote, 1, 0);
  if (n < 0) {
    int err = errno;
    if (err == ESRCH) return fail(ErrorCode::no_node, "thread " + std::to_string(tid) + " exited during capture");
    return fail(err == EPERM ? ErrorCode::permission : ErrorCode::io,
                "cannot copy the stack of thread " + std::to_string(tid) + ": " + std::strerror(err));
  }
  return static_cast<size_t>(n);
}

}  // namespace sonde::capture
