// The signal frame an injected call returns through (remote_call.h): the
// bytes of an x86_64 `struct rt_sigframe` whose ucontext holds a thread's own
// registers, signal mask and FPU/xstate, so that libc's signal-return
// trampoline (`mov $15,%rax; syscall`, i.e. rt_sigreturn) puts the thread
// back exactly where it was. Pure data: nothing here touches a process.
#pragma once

#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sonde::target {

// The kernel's syscall-restart codes (include/linux/errno.h), as rax holds
// them (negated) while a thread interrupted in a syscall is stopped.
inline constexpr int64_t kERestartSys = -512, kERestartNoIntr = -513, kERestartNoHand = -514,
                         kERestartRestartBlock = -516;

// True when the thread, resumed now with no handler to run, would restart
// its syscall by re-executing the `syscall` instruction (rax = orig_rax,
// rip -= 2): the only in-syscall state a frame can reproduce exactly.
// (-ERESTART_RESTARTBLOCK cannot: rt_sigreturn resets the thread's restart
// block, so a timed sleep would end early with EINTR.)
bool restarts_by_reexecuting(const user_regs_struct& r);

// The registers the thread resumes with after rt_sigreturn: `r` with the
// kernel's no-handler restart applied (see above); otherwise `r` unchanged.
user_regs_struct resume_registers(const user_regs_struct& r);

// Sizes and offsets of the frame (static_asserted against the kernel ABI in
// sigframe.cpp).
inline constexpr size_t kSigframeSize = 8 + 304 + 128;  // pretcode, ucontext, siginfo
inline constexpr size_t kUcMcontextOffset = 8 + 40;      // from the frame start

// Reads the CPU's XSAVE layout (CPUID, slow under a hypervisor) once per
// process; call it before stopping a thread, so build_sigframe() does not.
void prepare_sigframes();

// Builds the frame at node address `frame_addr` (must be 8 mod 16: the
// called function sees it as its return-address slot) and the xstate image
// at `fpstate_addr` (64-byte aligned, as XRSTOR requires).
//  trampoline: the return address (libc's __restore_rt)
//  r:          the thread's registers as the stop showed them
//  xstate:     NT_X86_XSTATE as PTRACE_GETREGSET gave it (XSAVE layout, whose
//              software-reserved bytes carry the kernel's FP_XSTATE_MAGIC1
//              and size); the FP_XSTATE_MAGIC2 word is appended
//  sigmask:    the thread's blocked set (rt_sigreturn installs it)
// Fails (empty result) when `xstate` does not carry the kernel's magic.
struct FrameImage {
  std::vector<uint8_t> frame;    // kSigframeSize bytes for frame_addr
  std::vector<uint8_t> fpstate;  // xstate + 4 bytes for fpstate_addr
};
bool build_sigframe(uint64_t frame_addr, uint64_t fpstate_addr, uint64_t trampoline, const user_regs_struct& r,
                    const std::vector<uint8_t>& xstate, uint64_t sigmask, FrameImage* out);

}  // namespace sonde::target
