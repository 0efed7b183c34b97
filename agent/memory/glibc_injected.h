// glibc's mallinfo2() run inside the node by an injected call
// (target/remote_call.h; only with --allow-inject): the fallback when libc
// has no debug info, so the read-only walk (glibc_walk.h) cannot find
// main_arena or the struct layouts. mallinfo2 returns its struct by a hidden
// pointer (rdi), which points into the call's data area.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "common/result.h"
#include "memory/glibc_walk.h"
#include "target/maps.h"
#include "target/remote_call.h"

namespace sonde::memory {

struct InjectedMallinfo {
  Mallinfo2 totals;
  std::string libc_path;
  target::CallRecord call;
};

// Fails when the node's libc has no mallinfo2 (glibc before 2.33), no
// thread can run the call (the message lists each and why), or the call fails.
Result<InjectedMallinfo> injected_mallinfo2(pid_t pid, const target::Maps& maps,
                                            std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

}  // namespace sonde::memory
