/* Prints the struct offsets sonde reads in a CPython 3.11 or 3.12 process as
 * one C++ initializer of sonde::python::PyLayout (agent/python/py_layout.h).
 * Compiled by gen.sh against one version's own headers with Py_BUILD_CORE:
 * the offsets are facts of those headers, nothing here is copied from them.
 * 3.13 and later publish the same facts in _Py_DebugOffsets at run time. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030D0000
#error "offsets.c is for 3.11 and 3.12; 3.13+ publish _Py_DebugOffsets"
#endif

#define F(name, value) printf("    .%s = %ld,\n", name, (long)(value))

int main(void) {
  printf("  // CPython %s (headers of %s)\n", PY_VERSION, HEADERS_FROM);
  printf("  PyLayout{\n");
  F("major", PY_MAJOR_VERSION);
  F("minor", PY_MINOR_VERSION);
  F("runtime_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x030C0000
  /* 3.11: one GIL in the runtime. */
  F("runtime_gil", offsetof(_PyRuntimeState, ceval.gil));
  F("interp_gil_ptr", -1);
#else
  /* 3.12: each interpreter points at the GIL it uses. */
  F("runtime_gil", -1);
  F("interp_gil_ptr", offsetof(PyInterpreterState, ceval.gil));
#endif
  F("interp_next", offsetof(PyInterpreterState, next));
  F("interp_threads_head", offsetof(PyInterpreterState, threads.head));
  F("gil_locked", offsetof(struct _gil_runtime_state, locked));
  F("gil_last_holder", offsetof(struct _gil_runtime_state, last_holder));
  F("tstate_next", offsetof(PyThreadState, next));
  F("tstate_interp", offsetof(PyThreadState, interp));
  F("tstate_cframe", offsetof(PyThreadState, cframe));
  F("cframe_current_frame", offsetof(_PyCFrame, current_frame));
  F("tstate_current_frame", -1);
  F("tstate_thread_id", offsetof(PyThreadState, thread_id));
  F("tstate_native_thread_id", offsetof(PyThreadState, native_thread_id));
  F("frame_previous", offsetof(_PyInterpreterFrame, previous));
  F("frame_code", offsetof(_PyInterpreterFrame, f_code));
  F("frame_instr", offsetof(_PyInterpreterFrame, prev_instr));
  F("frame_owner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
  F("frame_is_entry", offsetof(_PyInterpreterFrame, is_entry));
  F("owner_cstack", -1);
#else
  F("frame_is_entry", -1);
  F("owner_cstack", FRAME_OWNED_BY_CSTACK);
#endif
  F("frame_size", offsetof(_PyInterpreterFrame, localsplus));
  F("code_filename", offsetof(PyCodeObject, co_filename));
  F("code_name", offsetof(PyCodeObject, co_name));
  F("code_qualname", offsetof(PyCodeObject, co_qualname));
  F("code_linetable", offsetof(PyCodeObject, co_linetable));
  F("code_firstlineno", offsetof(PyCodeObject, co_firstlineno));
  F("code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
  F("object_type", offsetof(PyObject, ob_type));
  F("bytes_size", offsetof(PyVarObject, ob_size));
  F("bytes_sval", offsetof(PyBytesObject, ob_sval));
  F("unicode_state", offsetof(PyASCIIObject, state));
  F("unicode_length", offsetof(PyASCIIObject, length));
  F("unicode_ascii_size", sizeof(PyASCIIObject));
  F("unicode_compact_size", sizeof(PyCompactUnicodeObject));
  printf("  },\n");
  return 0;
}
