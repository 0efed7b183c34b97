#include "target/thread_choice.h"

#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <elf.h>

#include "capture/thread_state.h"
#include "capture/tracee.h"
#include "symbolize/symbolizer.h"
#include "target/maps.h"
#include "target/procfs.h"
#include "target/sigframe.h"
#include "unwind/module_cache.h"
#include "unwind/process_view.h"
#include "unwind/unwinder.h"

namespace sonde::target {

namespace {

// Waits the kernel restarts after an interruption; their names for messages.
// Waits that swap the signal mask while they block (rt_sigsuspend, pselect6,
// ppoll and epoll_pwait with a mask) are left out: /proc shows the temporary
// mask, and a frame holding it would leave the thread with it for good.
// rt_sigtimedwait fails with EINTR rather than restart, so it is out too.
const std::map<long, const char*>& restartable_waits() {
  static const std::map<long, const char*> m = {
      {SYS_futex, "futex"},         {SYS_epoll_wait, "epoll_wait"},     {SYS_epoll_pwait, "epoll_pwait"},
      {SYS_poll, "poll"},           {SYS_ppoll, "ppoll"},               {SYS_select, "select"},
      {SYS_nanosleep, "nanosleep"}, {SYS_clock_nanosleep, "clock_nanosleep"},
      {SYS_read, "read"},           {SYS_readv, "readv"},               {SYS_recvfrom, "recvfrom"},
      {SYS_recvmsg, "recvmsg"},     {SYS_accept, "accept"},             {SYS_accept4, "accept4"},
      {SYS_wait4, "wait4"},         {SYS_waitid, "waitid"},             {SYS_pause, "pause"},
  };
  return m;
}

// The argument of a wait that points to a temporary signal mask (-1: none).
int sigmask_argument(long nr) {
  if (nr == SYS_ppoll) return 3;
  if (nr == SYS_epoll_pwait) return 4;
  return -1;
}

constexpr size_t kStackCopy = 256 * 1024;
constexpr size_t kStackTop = 512;  // bytes compared again when the call starts

struct Probe {
  user_regs_struct regs{};
  capture::Snapshot snap;
};

// Stops `tid` for its registers and a stack copy (as a capture does).
Result<Probe> probe(pid_t pid, pid_t tid, Maps& maps) {
  capture::Tracee t(tid);
  if (auto s = t.seize_and_interrupt(); !s) return std::unexpected(s.error());
  if (auto w = t.wait_stop(std::chrono::milliseconds(200)); !w) return std::unexpected(w.error());
  Probe p;
  p.snap.pid = pid;
  p.snap.tid = tid;
  iovec io{&p.regs, sizeof p.regs};
  if (::ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0)
    return fail(ErrorCode::no_node, "thread " + std::to_string(tid) + " exited");
  if (auto r = capture::read_registers(tid, p.snap); !r) return std::unexpected(r.error());
  uint64_t len = capture::stack_extent(pid, maps, p.regs.rsp, kStackCopy);
  p.snap.stack.resize(len);
  auto copied = capture::copy_stack(tid, p.regs.rsp, len, p.snap.stack.data());
  t.release();
  if (!copied) return std::unexpected(copied.error());
  p.snap.stack.resize(*copied);
  p.snap.stack_start = p.regs.rsp;
  return p;
}

// The thread's syscall and its arguments from /proc/PID/task/TID/syscall
// ("nr arg1 ... arg6 sp pc", hex): "" when blocked in one, else why not.
std::string syscall_state(pid_t pid, pid_t tid, long* nr, uint64_t args[6]) {
  auto text = read_text_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  if (!text) return "gone";
  if (text->rfind("running", 0) == 0) return "running";
  char* p = nullptr;
  *nr = std::strtol(text->c_str(), &p, 10);
  if (*nr < 0) return "stopped outside a syscall";
  for (int i = 0; i < 6; ++i) args[i] = std::strtoull(p, &p, 16);
  return "";
}

std::string comm_of(pid_t pid, pid_t tid) {
  auto c = read_text_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  if (!c) return "?";
  std::string s = *c;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool has_prefix(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

std::string refusal_for_frame(const std::string& function, const std::string& module) {
  for (const char* lib : {"jemalloc", "tcmalloc", "mimalloc"})
    if (module.find(lib) != std::string::npos) return std::string("inside the allocator (") + lib + ")";
  static const char* exact[] = {"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
                                "aligned_alloc", "memalign", "valloc", "pvalloc", "cfree", "malloc_usable_size",
                                "malloc_trim", "malloc_info", "malloc_stats", "mallinfo", "mallinfo2", "mallopt",
                                "mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
                                "mallctl", "mallctlnametomib", "mallctlbymib", "malloc_stats_print"};
  for (const char* e : exact)
    if (function == e) return "inside the allocator (" + function + ")";
  for (const char* p : {"_int_", "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
                        "__libc_memalign", "__malloc", "malloc_", "je_", "arena_", "tcache_", "sysmalloc",
                        "systrim", "tcmalloc", "mi_", "_mi_"})
    if (has_prefix(function, p)) return "inside the allocator (" + function + ")";
  // Locks the called function may need that the allocator does not own:
  // the loader's (lazy binding, dlopen), fork's (atfork handlers lock malloc).
  for (const char* p : {"_dl_", "dl_", "__dl", "dlopen", "dlclose", "dlsym", "fork", "__libc_fork", "_Fork",
                        "__run_fork_handlers", "__pthread_once", "pthread_once"})
    if (has_prefix(function, p)) return "holds or waits for a lock the call may need (" + function + ")";
  return "";
}

// Function names are all the allocator test needs: no DWARF lines or
// inlines (reading libc's debug info for them took most of a cold choice).
static symbolize::SymbolizerOptions names_only() {
  symbolize::SymbolizerOptions o;
  o.source_lines = false;
  return o;
}

struct ThreadChooser::Caches {
  unwind::ModuleCache cache;
  unwind::Unwinder unwinder;
  symbolize::Symbolizer symbolizer{names_only()};
};
ThreadChooser::ThreadChooser() : c_(std::make_unique<Caches>()) {}
ThreadChooser::~ThreadChooser() = default;

Result<ThreadChoice> ThreadChooser::choose(pid_t pid, pid_t only_tid) {
  auto tids = list_tasks(pid);
  if (!tids) return std::unexpected(tids.error());
  if (only_tid != 0 && std::find(tids->begin(), tids->end(), only_tid) == tids->end())
    return fail(ErrorCode::not_found, "thread " + std::to_string(only_tid) + " is not a thread of process " +
                                          std::to_string(pid) + " (see /proc/" + std::to_string(pid) + "/task)");
  auto maps = read_maps(pid);
  if (!maps) return std::unexpected(maps.error());
  auto& cache = c_->cache;
  auto& unwinder = c_->unwinder;
  auto& symbolizer = c_->symbolizer;
  std::string reasons;
  transient_ = false;
  auto refuse = [&](pid_t tid, const std::string& why) {
    reasons += "\n  tid " + std::to_string(tid) + " (" + comm_of(pid, tid) + "): " + why;
  };
  // Threads other than the main one first: the main thread is usually the
  // one serving (event loop), a helper thread's pause costs less.
  std::vector<pid_t> order;
  for (pid_t t : *tids)
    if (t != pid) order.push_back(t);
  order.push_back(pid);
  for (pid_t tid : order) {
    if (only_tid != 0 && tid != only_tid) continue;
    long nr = -1;
    uint64_t args[6] = {};
    std::string state = syscall_state(pid, tid, &nr, args);
    if (!state.empty()) {
      if (state == "running") transient_ = true;  // a waiting thread between two waits
      refuse(tid, state);
      continue;
    }
    auto name = restartable_waits().find(nr);
    if (name == restartable_waits().end()) {
      refuse(tid, "in syscall " + std::to_string(nr) + ", not a wait the kernel restarts as it was");
      continue;
    }
    if (int a = sigmask_argument(nr); a >= 0 && args[a] != 0) {
      refuse(tid, std::string("in ") + name->second + " with a temporary signal mask");
      continue;
    }
    auto p = probe(pid, tid, *maps);
    if (!p) {
      transient_ = true;
      refuse(tid, "could not be stopped: " + p.error().message);
      continue;
    }
    if (!restarts_by_reexecuting(p->regs)) {
      refuse(tid, std::string("in ") + name->second + " in a state a signal frame cannot restart exactly (rax " +
                      std::to_string(static_cast<int64_t>(p->regs.rax)) +
                      (static_cast<int64_t>(p->regs.rax) == -516 ? ": a timed wait, it would end early with EINTR)" : ")"));
      continue;
    }
    unwind::ProcessView view(pid, *maps, cache);
    auto stack = unwinder.unwind(p->snap, view);
    if (!stack.complete) {
      refuse(tid, std::string("in ") + name->second + ", but its stack does not unwind to the end, so it cannot be "
                                                  "shown to be outside the allocator");
      continue;
    }
    std::string why_not;
    for (const auto& f : stack.frames) {
      for (const auto& sf : symbolizer.symbolize(pid, *maps, f.pc, f.return_address)) {
        why_not = refusal_for_frame(sf.function, sf.module);
        if (!why_not.empty()) break;
      }
      if (!why_not.empty()) break;
    }
    if (!why_not.empty()) { refuse(tid, std::string("in ") + name->second + ", but " + why_not); continue; }
    ThreadChoice c;
    c.tid = tid;
    c.regs = p->regs;
    c.stack_top.assign(p->snap.stack.begin(),
                       p->snap.stack.begin() + static_cast<long>(std::min(kStackTop, p->snap.stack.size())));
    c.why = "tid " + std::to_string(tid) + " (" + comm_of(pid, tid) + "): blocked in " + name->second + ", " +
            std::to_string(stack.frames.size()) + " frames, none in the allocator or a lock it needs";
    return c;
  }
  return fail(ErrorCode::conflict, "no thread of process " + std::to_string(pid) +
                                       " can run an injected call safely (a thread must be blocked in a restartable "
                                       "wait, outside the allocator and its locks):" + reasons);
}

}  // namespace sonde::target
