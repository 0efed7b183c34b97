#include "python/py_layout.h"

#include <cstring>

namespace sonde::python {

namespace {

const PyLayout kTable[] = {
#include "python/py_offsets_table.inc"
};

}  // namespace

const PyLayout* table_layout(long major, long minor) {
  for (const auto& l : kTable)
    if (l.major == major && l.minor == minor) return &l;
  return nullptr;
}

// _Py_DebugOffsets of 3.13 is a cookie then uint64 words in a fixed order
// (Include/internal/pycore_runtime.h); the word indexes below follow it.
Result<PyLayout> layout_from_debug_offsets(const std::string& bytes, uint64_t py_version_hex) {
  if (bytes.size() < kDebugOffsetsBytes) return fail(ErrorCode::internal, "short _Py_DebugOffsets read");
  if (std::memcmp(bytes.data(), "xdebugpy", 8) != 0)
    return fail(ErrorCode::bad_request, "_PyRuntime does not start with the _Py_DebugOffsets cookie \"xdebugpy\"");
  auto w = [&](int index) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + 8 * index, 8);
    return v;
  };
  if ((w(1) >> 16) != (py_version_hex >> 16))
    return fail(ErrorCode::bad_request, "_Py_DebugOffsets names another version than Py_Version");
  if (w(2) != 0)
    return fail(ErrorCode::bad_request,
                "this is a free-threaded (no-GIL) CPython build, which sonde does not read; use the default build");
  PyLayout l;
  l.major = long(py_version_hex >> 24);
  l.minor = long((py_version_hex >> 16) & 0xff);
  l.runtime_interpreters_head = long(w(5));
  l.interp_next = long(w(8));
  l.interp_threads_head = long(w(9));
  l.interp_modules = long(w(11));
  l.interp_gil_ptr = long(w(14));
  l.gil_locked = long(w(17) - w(15));
  l.gil_last_holder = long(w(18) - w(15));
  l.tstate_next = long(w(21));
  l.tstate_interp = long(w(22));
  l.tstate_current_frame = long(w(23));
  l.tstate_thread_id = long(w(24));
  l.tstate_native_thread_id = long(w(25));
  l.frame_previous = long(w(29));
  l.frame_code = long(w(30));
  l.frame_instr = long(w(31));
  l.frame_size = long(w(32));
  l.frame_owner = long(w(33));
  l.owner_cstack = 3;  // FRAME_OWNED_BY_CSTACK, unchanged since 3.12
  l.code_filename = long(w(35));
  l.code_name = long(w(36));
  l.code_qualname = long(w(37));
  l.code_linetable = long(w(38));
  l.code_firstlineno = long(w(39));
  l.code_adaptive = long(w(43));
  l.object_type = long(w(45));
  l.bytes_size = long(w(65));
  l.bytes_sval = long(w(66));
  l.unicode_state = long(w(68));
  l.unicode_length = long(w(69));
  l.unicode_ascii_size = long(w(70));
  l.unicode_compact_size = long(w(70) + 16);  // + utf8_length + utf8 (PyCompactUnicodeObject)
  // Offsets past a few KiB mean we read something else than the table.
  for (long v : {l.runtime_interpreters_head, l.interp_threads_head, l.interp_gil_ptr, l.tstate_current_frame,
                 l.tstate_native_thread_id, l.frame_previous, l.frame_code, l.frame_instr, l.frame_owner,
                 l.code_filename, l.code_linetable, l.code_adaptive, l.gil_locked, l.gil_last_holder})
    if (v < 0 || v > 1 << 20) return fail(ErrorCode::bad_request, "_Py_DebugOffsets holds implausible offsets");
  if (l.frame_size > 256) return fail(ErrorCode::bad_request, "_Py_DebugOffsets holds an implausible frame size");
  return l;
}

}  // namespace sonde::python
