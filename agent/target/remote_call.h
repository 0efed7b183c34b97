// The injected call: runs ONE function of the node on one of its threads,
// through ptrace, with nothing written to the node's code (DESIGN.md §3: it
// executes code in the node, so it is opt-in: --allow-inject).
//
// How the node is protected:
//  - the thread is chosen by thread_choice.h: blocked in a restartable wait,
//    outside the allocator and the locks it needs; it is re-checked (same
//    registers, same top of stack) once seized for the call;
//  - the called function returns into libc's signal-return trampoline
//    (__restore_rt: rt_sigreturn) with a signal frame below the red zone
//    (sp - 128 and lower, dead memory by the ABI) holding the thread's own
//    registers, FPU/xstate and signal mask, with its interrupted syscall set
//    up to restart (sigframe.h). So the thread restores itself whether the
//    agent is there or not: a kill -9 of the agent at any point, a timeout,
//    or a detach mid-call all end with the thread back in its wait;
//  - the frame is written before the registers are switched, in one
//    PTRACE_SETREGSET: the thread runs either its own code or the call with
//    its way back in place, never a half state;
//  - every stop is bounded; the call as a whole by `timeout`, after which the
//    agent detaches and lets the thread finish and restore itself;
//  - the bytes the agent wrote below the stack pointer are put back after
//    rt_sigreturn has run;
//  - a Session runs on a short-lived thread of the agent (run_remote_calls),
//    so a tracee that cannot be detached is detached by the kernel when that
//    thread exits.
//
// What a call can return: the function's return value is lost (rax is
// overwritten by the trampoline), so results come back through memory: a
// data area in the same scratch space, copied in before the call and read
// back after (mallctl's oldp/oldlenp, mallinfo2's hidden struct pointer).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

// Points a test can stop at (RemoteCallOptions::on_phase), in order.
enum class CallPhase {
  stopped,        // thread seized and checked; nothing written yet
  frame_written,  // frame and data written below the red zone; registers untouched
  started,        // registers switched to the call, thread resumed: the function runs
  returned,       // the function returned: stopped at rt_sigreturn's entry
  restored,       // rt_sigreturn ran: the thread has its own registers back
};
const char* phase_name(CallPhase p);

struct RemoteCallOptions {
  std::chrono::milliseconds timeout{1000};  // one call, from resume to return
  pid_t tid = 0;                            // 0: choose (thread_choice.h)
  size_t data_bytes = 4096;                 // size of the data area
  std::string purpose;                      // for the log line: "jemalloc stats"
  std::function<void(CallPhase)> on_phase;  // tests only
};

// What the log and the report say about a session.
struct CallRecord {
  pid_t tid = 0;
  std::string thread_why;       // thread_choice's reason
  int calls = 0;
  uint64_t stopped_ns = 0;      // thread in a ptrace stop, all calls
  uint64_t away_ns = 0;         // from the call's first stop to detach: not running its own code
  uint64_t total_ns = 0;        // the whole session, thread choice included
};

class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Node address of the data area (data_bytes long): arguments may point into it.
  uint64_t data_address() const { return data_addr_; }
  size_t data_size() const { return data_size_; }

  // Calls fn(args...) (at most 6 integer arguments) with `data` (at most
  // data_size() bytes) copied to data_address() first; on return `data` holds
  // the area as the function left it. A failed call ends the session: later
  // calls fail at once (the thread may still be in the function).
  Result<void> call(uint64_t fn, const std::vector<uint64_t>& args, std::vector<uint8_t>& data,
                    const std::string& what);

  const CallRecord& record() const { return record_; }

  struct State;

 private:
  friend Result<CallRecord> run_remote_calls(pid_t, const RemoteCallOptions&,
                                             const std::function<Result<void>(Session&)>&);
  Session() = default;
  Result<void> open(pid_t pid, const RemoteCallOptions& o);
  void close();

  std::unique_ptr<State> s_;
  uint64_t data_addr_ = 0;
  size_t data_size_ = 0;
  CallRecord record_;
};

// Opens a session on a thread of `pid` (chosen or options.tid), runs `body`
// with it, restores and detaches, all on a short-lived agent thread. Returns
// the record (also logged), or the first error: the choice refused (with its
// reasons), the node gone, or what `body` returned.
Result<CallRecord> run_remote_calls(pid_t pid, const RemoteCallOptions& options,
                                    const std::function<Result<void>(Session&)>& body);

}  // namespace sonde::target
