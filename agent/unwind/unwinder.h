// Offline unwinding: a Snapshot (registers + stack copy) and the node's ELF
// files in, code addresses out. Uses libunwind's remote API over our own
// accessors (remote_accessors.h), falls back to frame pointers where there is
// no CFI (frame_pointer.h). Knows nothing of ptrace: eBPF samples, which
// carry the same Snapshot, are unwound by the same code.
//
// Typical use, one worker thread:
//   ModuleCache cache;                      // long-lived
//   Unwinder unwinder;                      // long-lived, one per thread
//   ProcessView view(pid, maps, cache);     // per capture of one process
//   for (auto& snap : snapshots) stacks.push_back(unwinder.unwind(snap, view));
#pragma once

#include <libunwind.h>

#include <cstddef>

#include "capture/snapshot.h"
#include "unwind/frame.h"
#include "unwind/process_view.h"

namespace sonde::unwind {

struct UnwindOptions {
  size_t max_frames = 256;  // deeper stacks are cut (UnwoundStack::complete = false)
};

class Unwinder {
 public:
  explicit Unwinder(UnwindOptions options = {});
  ~Unwinder();
  Unwinder(const Unwinder&) = delete;
  Unwinder& operator=(const Unwinder&) = delete;

  // Innermost frame first: the snapshot's pc, then return addresses. Stops
  // at the outermost frame, a zero pc, a repeated (pc, sp) (a loop), or
  // max_frames. Never fails: a snapshot whose unwind info is missing still
  // gives its pc (and what the rbp chain gives).
  // Not thread-safe: one thread at a time per Unwinder (libunwind's address
  // space and its per-ip cache belong to it), and `view` is used by that
  // thread only during the call.
  UnwoundStack unwind(const capture::Snapshot& snap, ProcessView& view);

 private:
  UnwindOptions options_;
  unw_addr_space_t as_ = nullptr;
  uint64_t last_view_serial_ = 0;
};

}  // namespace sonde::unwind
