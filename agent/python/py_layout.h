// Where CPython keeps what a stack reader needs: the struct offsets of one
// minor version (3.11, 3.12, 3.13). 3.11 and 3.12 come from a table generated
// from their own headers (tools/python_offsets/gen.sh -> py_offsets_table.inc);
// 3.13 publishes them itself in _Py_DebugOffsets at the start of _PyRuntime.
// -1 marks a field the version does not have.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sonde::python {

struct PyLayout {
  long major = 0, minor = 0;
  long runtime_interpreters_head = -1;
  long runtime_gil = -1;        // 3.11: the GIL struct inside _PyRuntime
  long interp_gil_ptr = -1;     // 3.12+: the interpreter's pointer to its GIL struct
  long interp_next = -1;
  long interp_threads_head = -1;
  long interp_modules = -1;     // 3.13+ (published); 3.11, 3.12: in PyObjectLayout
  long gil_locked = -1;         // inside the GIL struct
  long gil_last_holder = -1;
  long tstate_next = -1;
  long tstate_interp = -1;
  long tstate_cframe = -1;      // 3.11, 3.12: tstate->cframe->current_frame
  long cframe_current_frame = -1;
  long tstate_current_frame = -1;  // 3.13: tstate->current_frame
  long tstate_thread_id = -1;   // pthread_t
  long tstate_native_thread_id = -1;  // the OS tid
  long frame_previous = -1;
  long frame_code = -1;         // f_code (3.11, 3.12), f_executable (3.13)
  long frame_instr = -1;        // prev_instr (3.11, 3.12), instr_ptr (3.13): the current instruction
  long frame_owner = -1;
  long frame_is_entry = -1;     // 3.11: the first frame of one _PyEval_EvalFrameDefault call
  long owner_cstack = -1;       // 3.12+: the owner value of the C-stack shim frame each call pushes
  long frame_size = -1;         // bytes to read of one _PyInterpreterFrame (up to localsplus)
  long code_filename = -1;
  long code_name = -1;
  long code_qualname = -1;
  long code_linetable = -1;
  long code_firstlineno = -1;
  long code_adaptive = -1;      // the bytecode, inline in the code object
  long object_type = -1;
  long bytes_size = -1;
  long bytes_sval = -1;
  long unicode_state = -1;
  long unicode_length = -1;
  long unicode_ascii_size = -1;    // data of a compact ASCII string starts here
  long unicode_compact_size = -1;  // data of another compact string starts here
};

// The generated table's entry for 3.11 or 3.12, or null.
const PyLayout* table_layout(long major, long minor);

// 3.13+: the layout from the _Py_DebugOffsets bytes read at _PyRuntime.
// Fails (with the reason) when the cookie or version does not match.
Result<PyLayout> layout_from_debug_offsets(const std::string& bytes, uint64_t py_version_hex);
// How many bytes of _PyRuntime layout_from_debug_offsets() needs.
inline constexpr size_t kDebugOffsetsBytes = 73 * 8;

}  // namespace sonde::python
