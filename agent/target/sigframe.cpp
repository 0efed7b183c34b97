#include "target/sigframe.h"

#include <cstddef>
#include <cstring>

#include <cpuid.h>

namespace sonde::target {

namespace {

// The kernel's x86_64 layout (arch/x86/include/uapi/asm/sigcontext.h,
// asm/ucontext.h, asm/sigframe.h). Spelled out here because glibc's
// ucontext_t has a 128-byte sigset_t and extra fields after it.
struct KSigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
  uint64_t eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};
struct KStack {
  uint64_t ss_sp;
  int32_t ss_flags;
  int32_t pad;
  uint64_t ss_size;
};
struct KUcontext {
  uint64_t uc_flags;
  uint64_t uc_link;
  KStack uc_stack;
  KSigcontext uc_mcontext;
  uint64_t uc_sigmask;
};
struct KRtSigframe {
  uint64_t pretcode;
  KUcontext uc;
  uint8_t info[128];
};
static_assert(sizeof(KSigcontext) == 256);
static_assert(offsetof(KUcontext, uc_mcontext) == 40);
static_assert(sizeof(KUcontext) == 304);
static_assert(sizeof(KRtSigframe) == kSigframeSize);
static_assert(offsetof(KRtSigframe, uc) + offsetof(KUcontext, uc_mcontext) == kUcMcontextOffset);

constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;
constexpr uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
constexpr size_t kSwReservedOffset = 464;  // fx_sw_bytes inside the FXSAVE area
constexpr size_t kXsaveHeaderEnd = 512 + 64;
constexpr uint64_t kXtileData = 1ull << 18;

// struct _fpx_sw_bytes (uapi/asm/sigcontext.h): 48 bytes at kSwReservedOffset.
struct FxSwBytes {
  uint32_t magic1, extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FxSwBytes) == 48);

// Each XSAVE component's end (offset + size) in the standard format, from
// CPUID leaf 0xD, for the components this CPU enables (XCR0). Read once per
// process: CPUID traps to the hypervisor in a VM or sandbox (hundreds of
// microseconds each here), which must not happen while a thread is stopped.
struct XsaveLayout {
  uint64_t xcr0 = 0;
  uint32_t end[64] = {};
};
const XsaveLayout& xsave_layout() {
  static const XsaveLayout layout = [] {
    XsaveLayout l;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    l.xcr0 = (uint64_t{hi} << 32) | lo;
    for (unsigned i = 2; i < 63; ++i) {
      if (!(l.xcr0 & (1ull << i))) continue;
      unsigned a = 0, b = 0, c = 0, d = 0;
      __cpuid_count(0xd, i, a, b, c, d);
      l.end[i] = a ? a + b : 0;
    }
    return l;
  }();
  return layout;
}

// Size of the standard-format XSAVE area holding `features`: the end of the
// highest one. 0 when a feature is one this CPU does not enable.
uint32_t standard_xsave_size(uint64_t features) {
  const XsaveLayout& l = xsave_layout();
  if (features & ~l.xcr0) return 0;
  uint32_t end = kXsaveHeaderEnd;
  for (unsigned i = 2; i < 63; ++i)
    if ((features & (1ull << i)) && l.end[i] > end) end = l.end[i];
  return end;
}

}  // namespace

void prepare_sigframes() { (void)xsave_layout(); }

bool restarts_by_reexecuting(const user_regs_struct& r) {
  auto rax = static_cast<int64_t>(r.rax);
  return static_cast<int64_t>(r.orig_rax) >= 0 &&
         (rax == kERestartSys || rax == kERestartNoIntr || rax == kERestartNoHand);
}

user_regs_struct resume_registers(const user_regs_struct& r) {
  user_regs_struct out = r;
  if (restarts_by_reexecuting(r)) {
    out.rax = r.orig_rax;
    out.rip = r.rip - 2;  // `syscall` is 2 bytes
  }
  out.orig_rax = ~0ull;  // what rt_sigreturn leaves: no syscall to restart
  return out;
}

bool build_sigframe(uint64_t frame_addr, uint64_t fpstate_addr, uint64_t trampoline, const user_regs_struct& r,
                    const std::vector<uint8_t>& xstate, uint64_t sigmask, FrameImage* out) {
  if (frame_addr % 16 != 8 || fpstate_addr % 64 != 0) return false;
  // ptrace gives the XSAVE image in standard format with XCR0 in the first
  // software-reserved bytes; a signal frame needs the kernel's fx_sw_bytes
  // there instead (magic, sizes, features), or the kernel takes it as a bare
  // FXSAVE image and resets AVX and later state.
  if (xstate.size() < kXsaveHeaderEnd) return false;
  uint64_t xcr0 = 0, xstate_bv = 0;
  std::memcpy(&xcr0, xstate.data() + kSwReservedOffset, 8);
  std::memcpy(&xstate_bv, xstate.data() + 512, 8);
  // AMX tile data is a per-process opt-in of variable size: a thread using
  // it is not supported (its tiles would be reset).
  if (xstate_bv & kXtileData) return false;
  const uint64_t features = xcr0 & ~kXtileData;
  const uint32_t size = standard_xsave_size(features);
  if (size < kXsaveHeaderEnd || size > xstate.size()) return false;

  const user_regs_struct v = resume_registers(r);
  KRtSigframe f{};
  f.pretcode = trampoline;
  f.uc.uc_flags = kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs;
  // An invalid ss_flags makes rt_sigreturn's sigaltstack restore fail
  // (EINVAL, ignored by the kernel): the thread keeps its alternate signal
  // stack, which we cannot read from outside.
  f.uc.uc_stack.ss_flags = 0x7fff;
  KSigcontext& sc = f.uc.uc_mcontext;
  sc.r8 = v.r8, sc.r9 = v.r9, sc.r10 = v.r10, sc.r11 = v.r11;
  sc.r12 = v.r12, sc.r13 = v.r13, sc.r14 = v.r14, sc.r15 = v.r15;
  sc.rdi = v.rdi, sc.rsi = v.rsi, sc.rbp = v.rbp, sc.rbx = v.rbx;
  sc.rdx = v.rdx, sc.rax = v.rax, sc.rcx = v.rcx, sc.rsp = v.rsp, sc.rip = v.rip;
  sc.eflags = v.eflags;
  sc.cs = static_cast<uint16_t>(v.cs);
  sc.ss = static_cast<uint16_t>(v.ss);
  sc.fpstate = fpstate_addr;
  f.uc.uc_sigmask = sigmask;
  out->frame.resize(sizeof f);
  std::memcpy(out->frame.data(), &f, sizeof f);
  out->fpstate.assign(xstate.begin(), xstate.begin() + size);
  FxSwBytes sw{kFpXstateMagic1, size + 4, features, size, {}};
  std::memcpy(out->fpstate.data() + kSwReservedOffset, &sw, sizeof sw);
  const auto* m2 = reinterpret_cast<const uint8_t*>(&kFpXstateMagic2);
  out->fpstate.insert(out->fpstate.end(), m2, m2 + 4);
  return true;
}

}  // namespace sonde::target
