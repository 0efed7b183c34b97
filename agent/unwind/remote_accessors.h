// libunwind's remote address space over a Snapshot (registers + stack copy)
// and the node's module files: the unwind runs offline, after the thread was
// let go, without touching the node (no libunwind-ptrace).
#pragma once

#include <libunwind.h>

#include "capture/snapshot.h"
#include "unwind/process_view.h"

namespace sonde::unwind {

// The `arg` libunwind hands to every accessor during one unwind.
struct UnwindSession {
  const capture::Snapshot* snap = nullptr;
  ProcessView* view = nullptr;
};

// The accessor table for unw_create_addr_space: memory reads come from the
// stack copy, else from the file behind the address's mapping; registers
// from the snapshot; unwind info from the module's .eh_frame_hdr table.
unw_accessors_t* snapshot_accessors();

}  // namespace sonde::unwind
