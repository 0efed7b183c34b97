#include "target/remote_call.h"

#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "capture/ptrace_errors.h"
#include "capture/tracee.h"
#include "target/maps.h"
#include "target/node_symbol.h"
#include "target/procfs.h"
#include "target/sigframe.h"
#include "target/thread_choice.h"

namespace sonde::target {

using capture::monotonic_ns;
using Clock = std::chrono::steady_clock;

const char* phase_name(CallPhase p) {
  switch (p) {
    case CallPhase::stopped: return "stopped";
    case CallPhase::frame_written: return "frame_written";
    case CallPhase::started: return "started";
    case CallPhase::returned: return "returned";
    case CallPhase::restored: return "restored";
  }
  return "?";
}

namespace {

constexpr size_t kRedZone = 128;                // System V ABI: below sp, leaf functions' own
constexpr uint64_t kStackRoom = 64 * 1024;      // the callee's own stack use below the frame
constexpr auto kStopBound = std::chrono::milliseconds(200);

Result<void> get_regs(pid_t tid, user_regs_struct* r) {
  iovec io{r, sizeof *r};
  if (::ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) == 0) return {};
  return fail(errno == ESRCH ? ErrorCode::no_node : ErrorCode::internal,
              "cannot read the registers of thread " + std::to_string(tid) + ": " + std::strerror(errno));
}

bool rw_node(pid_t pid, uint64_t addr, void* buf, size_t n, bool write) {
  iovec local{buf, n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  ssize_t r = write ? ::process_vm_writev(pid, &local, 1, &remote, 1, 0)
                    : ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  return r == static_cast<ssize_t>(n);
}

// Polls waitpid for `tid` until `deadline`: the status, or -1 on timeout.
// A stop usually comes within microseconds (an interrupt, a statistics
// function's return): poll without yielding for the first millisecond (a
// yield or a sleep on a loaded machine gives the CPU away for a time slice,
// which the thread would then spend stopped), then sleep in short steps.
Result<int> wait_for(pid_t tid, Clock::time_point deadline) {
  auto start = Clock::now();
  long pause_us = 20;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL | WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(ErrorCode::no_node, "thread " + std::to_string(tid) + " exited during the call");
    if (r == tid) {
      if (WIFEXITED(status) || WIFSIGNALED(status))
        return fail(ErrorCode::no_node, "thread " + std::to_string(tid) + " exited during the call");
      if (WIFSTOPPED(status)) return status;
      continue;
    }
    auto now = Clock::now();
    if (now >= deadline) return -1;
    if (now - start < std::chrono::microseconds(1000)) continue;
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    if (pause_us < 200) pause_us *= 2;
  }
}

bool is_syscall_stop(int status) { return WSTOPSIG(status) == (SIGTRAP | 0x80); }
bool is_event_stop(int status) { return (status >> 16) == PTRACE_EVENT_STOP; }

Result<uint64_t> blocked_signals(pid_t pid, pid_t tid, bool* shadow_stack) {
  auto text = read_task_file(pid, tid, "status");
  if (!text) return std::unexpected(text.error());
  *shadow_stack = false;
  uint64_t mask = 0;
  bool found = false;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text->size() : nl + 1;
    if (line.rfind("SigBlk:", 0) == 0) {
      mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      found = true;
    }
    if (line.rfind("x86_Thread_features:", 0) == 0 && line.find("shstk") != std::string::npos)
      *shadow_stack = true;
  }
  if (!found) return fail(ErrorCode::internal, "no SigBlk in the status of thread " + std::to_string(tid));
  return mask;
}

}  // namespace

struct Session::State {
  pid_t pid = 0, tid = 0;
  RemoteCallOptions opts;
  uint64_t trampoline = 0;
  user_regs_struct home{};          // the thread's own registers, as they are now
  std::vector<uint8_t> xstate;      // its FPU/xstate (NT_X86_XSTATE)
  uint64_t sigmask = 0;
  uint64_t frame_addr = 0, fpstate_addr = 0, top = 0;
  std::vector<uint8_t> original;    // node bytes [frame_addr, top) before we wrote
  // Its module and symbol caches are freed with the session, after the
  // detach: freeing them takes milliseconds the thread must not be stopped.
  std::unique_ptr<ThreadChooser> chooser = std::make_unique<ThreadChooser>();
  bool attached = false;
  bool wrote = false;               // `original` must be put back
  bool usable = false;              // the thread is in a ptrace stop at home
  uint64_t stop_began = 0;
  uint64_t first_stop = 0;          // when the call's seize began (for away_ns)

  void phase(CallPhase p) const {
    if (opts.on_phase) opts.on_phase(p);
  }
  void stop_now(CallRecord& rec) { (void)rec; stop_began = monotonic_ns(); }
  void run_now(CallRecord& rec) {
    if (stop_began) rec.stopped_ns += monotonic_ns() - stop_began;
    stop_began = 0;
  }
  // Lets the thread go as it is: whatever it runs, its way back is in
  // place. `sig`: a signal the stop was delivering, handed on.
  void detach(CallRecord& rec, int sig = 0) {
    if (!attached) return;
    ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
    run_now(rec);
    if (first_stop) rec.away_ns = monotonic_ns() - first_stop;
    attached = false;
    usable = false;
  }
  // The call overran or something unexpected stopped the thread mid-call:
  // stop it (bounded) only to detach; the frame stays, the thread finishes
  // the function and restores itself. If it does not stop, the kernel
  // detaches it when this agent thread exits.
  void abandon(CallRecord& rec) {
    if (!attached) return;
    ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    auto st = wait_for(tid, Clock::now() + kStopBound);
    if (!st) {
      attached = false;
      usable = false;
      return;
    }
    if (*st == -1) {
      usable = false;
      return;  // left to the exit of this thread
    }
    int sig = (!is_syscall_stop(*st) && !is_event_stop(*st)) ? WSTOPSIG(*st) : 0;
    detach(rec, sig);
  }
};

Session::~Session() { close(); }

namespace {
// Seizes s.tid and waits for its interrupt stop (bounded).
Result<void> seize_and_stop(Session::State& s) {
  // TRACESYSGOOD only marks syscall stops, which we ask for only while the
  // call runs (PTRACE_SYSCALL): the thread's own behaviour is unchanged.
  if (::ptrace(PTRACE_SEIZE, s.tid, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD)) != 0)
    return std::unexpected(capture::attach_error(s.tid, errno));
  s.attached = true;
  uint64_t first = monotonic_ns();
  ::ptrace(PTRACE_INTERRUPT, s.tid, nullptr, nullptr);
  for (;;) {
    auto st = wait_for(s.tid, Clock::now() + kStopBound);
    if (!st) {
      s.attached = false;
      return std::unexpected(st.error());
    }
    if (*st == -1) return fail(ErrorCode::io, "thread " + std::to_string(s.tid) + " did not stop in time");
    if (is_event_stop(*st)) break;
    // A signal raced our interrupt: hand it on, the interrupt still comes.
    ::ptrace(PTRACE_CONT, s.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(*st))));
  }
  s.stop_began = first;
  s.usable = true;  // at home: detaching now restarts its wait as usual
  return {};
}
}  // namespace

Result<void> Session::open(pid_t pid, const RemoteCallOptions& o) {
  s_ = std::make_unique<State>();
  State& s = *s_;
  s.pid = pid;
  s.opts = o;
  auto maps = read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  auto tramp = find_sigreturn_trampoline(pid, *maps);
  if (!tramp) return std::unexpected(tramp.error());
  s.trampoline = tramp->address;
  prepare_sigframes();
  // The choice reads each thread while it runs on; the thread chosen is
  // checked again once seized for the call (same registers, same top of
  // stack). A thread that woke up meanwhile is chosen again (warm caches).
  ThreadChooser& chooser = *s.chooser;
  // A thread seen running (woken between two waits) or that left its wait
  // before the seize is tried again, a few times, a little later.
  constexpr int kAttempts = 5;
  for (int attempt = 0;; ++attempt) {
    auto choice = chooser.choose(pid, o.tid);
    if (!choice) {
      if (attempt + 1 >= kAttempts || !chooser.transient()) return std::unexpected(choice.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * (attempt + 1)));
      continue;
    }
    s.tid = choice->tid;
    record_.tid = s.tid;
    record_.thread_why = choice->why;
    if (auto r = seize_and_stop(s); !r) return r;
    if (auto r = get_regs(s.tid, &s.home); !r) return r;
    std::vector<uint8_t> top(choice->stack_top.size());
    if (s.home.rip == choice->regs.rip && s.home.rsp == choice->regs.rsp &&
        s.home.orig_rax == choice->regs.orig_rax && restarts_by_reexecuting(s.home) &&
        rw_node(pid, s.home.rsp, top.data(), top.size(), false) && top == choice->stack_top)
      break;
    s.detach(record_);  // untouched: it restarts its wait as usual
    if (attempt + 1 >= kAttempts)
      return fail(ErrorCode::conflict, "thread " + std::to_string(s.tid) +
                                           " kept leaving the wait it was checked in before the call could start; "
                                           "nothing was injected (try again)");
  }
  s.first_stop = s.stop_began;
  s.xstate.resize(64 * 1024);
  iovec io{s.xstate.data(), s.xstate.size()};
  if (::ptrace(PTRACE_GETREGSET, s.tid, reinterpret_cast<void*>(NT_X86_XSTATE), &io) != 0)
    return fail(ErrorCode::internal, std::string("cannot read the FPU/xstate of the thread: ") + std::strerror(errno));
  s.xstate.resize(io.iov_len);
  bool shstk = false;
  auto mask = blocked_signals(pid, s.tid, &shstk);
  if (!mask) return std::unexpected(mask.error());
  if (shstk)
    return fail(ErrorCode::conflict, "thread " + std::to_string(s.tid) +
                                            " runs with a shadow stack (CET): an injected call is not supported");
  s.sigmask = *mask;

  // Layout, from sp down: red zone, data area, xstate (64-aligned), frame
  // (8 mod 16: the callee's return-address slot), then the callee's stack.
  s.top = (s.home.rsp - kRedZone) & ~uint64_t{63};
  data_size_ = o.data_bytes;
  data_addr_ = (s.top - data_size_) & ~uint64_t{63};
  s.fpstate_addr = (data_addr_ - (s.xstate.size() + 4)) & ~uint64_t{63};
  s.frame_addr = ((s.fpstate_addr - kSigframeSize) & ~uint64_t{15}) - 8;
  const Mapping* m = maps->find(s.home.rsp);
  if (!m || !m->writable || (m->path != "[stack]" && s.frame_addr < m->start + kStackRoom))
    return fail(ErrorCode::conflict, "thread " + std::to_string(s.tid) +
                                            " has too little stack below its stack pointer for an injected call");
  s.original.resize(s.top - s.frame_addr);
  if (!rw_node(pid, s.frame_addr, s.original.data(), s.original.size(), false))
    return fail(ErrorCode::io, "cannot read the thread's stack below its stack pointer");
  s.phase(CallPhase::stopped);
  return {};
}

Result<void> Session::call(uint64_t fn, const std::vector<uint64_t>& args, std::vector<uint8_t>& data,
                           const std::string& what) {
  State& s = *s_;
  if (!s.usable) return fail(ErrorCode::conflict, "the injected-call session has ended");
  if (args.size() > 6 || data.size() > data_size_)
    return fail(ErrorCode::bad_request, "an injected call takes at most 6 arguments and " +
                                            std::to_string(data_size_) + " bytes of data");
  FrameImage img;
  if (!build_sigframe(s.frame_addr, s.fpstate_addr, s.trampoline, s.home, s.xstate, s.sigmask, &img))
    return fail(ErrorCode::conflict, "the thread's FPU/xstate has no layout the kernel's signal return accepts");
  // One write of the whole scratch space: frame, xstate, data; the rest as it was.
  std::vector<uint8_t> image = s.original;
  std::memcpy(image.data(), img.frame.data(), img.frame.size());
  std::memcpy(image.data() + (s.fpstate_addr - s.frame_addr), img.fpstate.data(), img.fpstate.size());
  std::memcpy(image.data() + (data_addr_ - s.frame_addr), data.data(), data.size());
  s.wrote = true;
  if (!rw_node(s.pid, s.frame_addr, image.data(), image.size(), true))
    return fail(ErrorCode::io, "cannot write the call's frame below the thread's stack pointer");
  s.phase(CallPhase::frame_written);

  user_regs_struct r = s.home;
  r.rip = fn;
  r.rsp = s.frame_addr;
  decltype(r.rdi)* argregs[6] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9};
  for (size_t i = 0; i < args.size(); ++i) *argregs[i] = args[i];
  r.rax = 0;              // no vector arguments (variadic callees read al)
  r.orig_rax = ~0ull;     // not in a syscall any more: no restart on resume
  r.eflags &= ~0x400ull;  // DF clear at a call, as the ABI requires
  iovec io{&r, sizeof r};
  if (::ptrace(PTRACE_SETREGSET, s.tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0)
    return fail(ErrorCode::internal, std::string("cannot set the call's registers: ") + std::strerror(errno));
  // From here the thread is in the call; if anything goes wrong it returns
  // through the frame by itself.
  s.usable = false;
  if (::ptrace(PTRACE_SYSCALL, s.tid, nullptr, nullptr) != 0) {
    s.attached = false;
    return fail(ErrorCode::no_node, "thread " + std::to_string(s.tid) + " exited as the call started");
  }
  s.run_now(record_);
  ++record_.calls;
  s.phase(CallPhase::started);

  auto deadline = Clock::now() + s.opts.timeout;
  for (;;) {
    auto st = wait_for(s.tid, deadline);
    if (!st) {
      s.attached = false;
      return std::unexpected(st.error());
    }
    if (*st == -1) {
      s.abandon(record_);
      return fail(ErrorCode::io, what + " did not return within " + std::to_string(s.opts.timeout.count()) +
                                          " ms; sonde let the thread go: it finishes the call and restores itself");
    }
    if (is_event_stop(*st)) {
      // A group-stop (SIGSTOP & co.) or a stop we did not ask for: let go.
      s.stop_now(record_);
      s.abandon(record_);
      return fail(ErrorCode::conflict, what + " was stopped by a signal; sonde let the thread go, it restores "
                                              "itself when continued");
    }
    if (!is_syscall_stop(*st)) {
      // A signal for the thread: delivered now, its handler runs on top of the call.
      ::ptrace(PTRACE_SYSCALL, s.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(*st))));
      continue;
    }
    user_regs_struct now{};
    if (auto g = get_regs(s.tid, &now); !g) {
      s.attached = false;
      return g;
    }
    if (now.orig_rax != 15 || now.rsp != s.frame_addr + 8) {
      ::ptrace(PTRACE_SYSCALL, s.tid, nullptr, nullptr);  // a syscall the function makes
      continue;
    }
    break;  // rt_sigreturn entry: the function returned into the trampoline
  }
  s.stop_now(record_);
  bool read_ok = rw_node(s.pid, data_addr_, data.data(), data.size(), false);
  s.phase(CallPhase::returned);
  // Let rt_sigreturn run and stop at its exit: the thread has its own
  // registers again and can be detached, or used for the next call.
  ::ptrace(PTRACE_SYSCALL, s.tid, nullptr, nullptr);
  s.run_now(record_);
  auto st = wait_for(s.tid, Clock::now() + kStopBound);
  if (!st) {
    s.attached = false;
    return std::unexpected(st.error());
  }
  s.stop_now(record_);
  user_regs_struct back{};
  if (*st == -1 || !is_syscall_stop(*st) || !get_regs(s.tid, &back)) {
    s.abandon(record_);
    return fail(ErrorCode::internal, "the thread did not stop after its signal return; sonde let it go");
  }
  user_regs_struct want = resume_registers(s.home);
  if (back.rip != want.rip || back.rsp != want.rsp || back.rbx != want.rbx || back.rbp != want.rbp ||
      back.r12 != want.r12 || back.r15 != want.r15) {
    spdlog::error("injected call on thread {}: registers after the signal return differ from the saved ones "
                  "(rip {:#x} vs {:#x})", s.tid, back.rip, want.rip);
  }
  s.home = back;
  s.usable = true;
  s.phase(CallPhase::restored);
  if (!read_ok) return fail(ErrorCode::io, "cannot read the call's results from the node");
  return {};
}

void Session::close() {
  if (!s_) return;
  State& s = *s_;
  if (s.attached && s.usable) {
    // At home: the scratch bytes are no longer needed by anyone; put back
    // what was there, then let the thread go.
    if (s.wrote) rw_node(s.pid, s.frame_addr, s.original.data(), s.original.size(), true);
    s.detach(record_);
  } else if (s.attached) {
    s.abandon(record_);
  }
  s_.reset();
}

Result<CallRecord> run_remote_calls(pid_t pid, const RemoteCallOptions& options,
                                    const std::function<Result<void>(Session&)>& body) {
  Result<CallRecord> out = fail(ErrorCode::internal, "injected call did not run");
  // ptrace ties the tracee to this short-lived thread: whatever happens, its
  // exit detaches the node's thread.
  std::thread worker([&] {
    Session s;
    uint64_t t0 = monotonic_ns();
    auto opened = s.open(pid, options);
    Result<void> r = opened ? body(s) : opened;
    s.close();
    s.record_.total_ns = monotonic_ns() - t0;
    const CallRecord& rec = s.record_;
    if (rec.tid != 0)
      spdlog::info("injected call ({}): process {} thread {}: {} call(s), thread stopped {:.3f} ms, away from its "
                   "own code {:.3f} ms, {:.3f} ms in all with the thread choice{}{}",
                   options.purpose.empty() ? "remote call" : options.purpose, pid, rec.tid, rec.calls,
                   rec.stopped_ns / 1e6, rec.away_ns / 1e6, rec.total_ns / 1e6, r ? "" : ": ",
                   r ? "" : r.error().message);
    else
      spdlog::warn("injected call ({}) into process {} not made: {}",
                   options.purpose.empty() ? "remote call" : options.purpose, pid, r ? "" : r.error().message);
    if (r) out = rec;
    else out = std::unexpected(r.error());
  });
  worker.join();
  return out;
}

}  // namespace sonde::target
