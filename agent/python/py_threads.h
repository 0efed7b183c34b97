// The interpreter's thread states (every interpreter, every thread), each
// tied to its OS thread id, and which one holds the GIL. Read with
// process_vm_readv while the node runs: every pointer is checked and every
// list walk is bounded, so a list changing under us gives a short list, never
// a wrong thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_runtime.h"

namespace sonde::python {

struct PyThread {
  uint64_t tstate = 0;     // node address of the PyThreadState
  uint64_t interp = 0;     // its interpreter
  pid_t native_tid = 0;    // the OS thread (0 when the state says none)
  uint64_t thread_id = 0;  // pthread_t, what threading.get_ident() returns
  bool holds_gil = false;
};

// Thread states of every interpreter, in list order; at most 4096.
Result<std::vector<PyThread>> read_threads(const memory::RemoteMemory& mem, const PyRuntime& rt);

// The attach-time check of a layout (used by locate_python): the main
// interpreter exists and its first thread state points back at it.
Result<void> check_layout(const memory::RemoteMemory& mem, const PyRuntime& rt);

// A plausible user-space pointer: non-null, canonical, 8-aligned.
inline bool plausible_pointer(uint64_t p) { return p >= 4096 && p < (1ull << 47) && (p & 7) == 0; }

}  // namespace sonde::python
