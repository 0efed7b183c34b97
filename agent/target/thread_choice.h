// Which thread of the node may run an injected call (remote_call.h), and why
// the others may not (DESIGN.md §3: "refused when the chosen thread is inside
// the allocator or holds a lock it would need").
//
// A thread qualifies when
//  - it is blocked in a restartable wait (futex, epoll, poll, read, sleep...:
//    /proc/PID/task/TID/syscall), never running;
//  - stopped, it shows the restart state a signal frame reproduces exactly
//    (-ERESTARTSYS & co., see sigframe.h);
//  - its stack unwinds to the end and no frame is in the allocator (malloc,
//    free, je_*, arena_*, any frame in a jemalloc/tcmalloc/mimalloc library)
//    or in a place that holds a lock the call could need (the dynamic
//    loader, fork and its atfork handlers).
// Each thread is stopped only for a register read and a stack copy, as a
// stack capture does; unwinding and symbolizing happen after it runs again.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sonde::target {

struct ThreadChoice {
  pid_t tid = 0;
  std::string why;                 // "tid 12: blocked in futex, 6 frames, none in the allocator"
  user_regs_struct regs{};         // as seen at the check: the call re-checks them
  std::vector<uint8_t> stack_top;  // first bytes from sp, re-checked too
};

// The allocator/lock test for one symbolized frame: the reason it refuses, or "".
std::string refusal_for_frame(const std::string& function, const std::string& module);

// Picks a thread (`only_tid` != 0: checks just that one). Fails with
// `conflict` and a message listing every thread and its reason when none fits.
// Keeps the node's modules and symbols between choices, so a second choice
// (the first thread woke up before the call could start) is quick.
class ThreadChooser {
 public:
  ThreadChooser();
  ~ThreadChooser();
  Result<ThreadChoice> choose(pid_t pid, pid_t only_tid);
  // After a refusal: some thread was refused for a passing reason (running
  // between two waits, could not be stopped), so trying again may succeed.
  bool transient() const { return transient_; }

 private:
  struct Caches;
  std::unique_ptr<Caches> c_;
  bool transient_ = false;
};

}  // namespace sonde::target
