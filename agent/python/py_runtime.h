// The CPython interpreter inside the node: which module holds _PyRuntime (the
// executable, or libpython for a --enable-shared build), its version, and the
// layout to read it with. Everything is read through /proc/PID/root and
// process_vm_readv: nothing is loaded into the node, nothing is stopped.
//
// locate_python() answers:
//  - not_found: the node is no CPython (no _PyRuntime anywhere): not an
//    error for callers, whose stacks stay native;
//  - bad_request: it is a CPython sonde cannot read (3.10 and older, 3.14+,
//    free-threaded), or the layout does not fit (the checks below); the
//    message names the version and what is supported.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "python/py_layout.h"
#include "python/py_object_layout.h"
#include "target/maps.h"

namespace sonde::python {

struct PyRuntime {
  pid_t pid = 0;
  std::string module;         // the file holding _PyRuntime, as the node sees it
  uint64_t module_start = 0;  // its first mapping (identifies this load)
  std::string version;        // "3.12.1"
  uint64_t version_hex = 0;   // PY_VERSION_HEX
  uint64_t runtime = 0;       // node address of _PyRuntime
  uint64_t code_type = 0;     // node address of PyCode_Type (0 if not found)
  uint64_t unicode_type = 0;  // node address of PyUnicode_Type (0 if not found)
  uint64_t dict_type = 0;     // ... PyDict_Type
  uint64_t module_type = 0;   // ... PyModule_Type
  PyLayout layout;
  std::optional<PyObjectLayout> objects;  // dicts and attributes (thread names)
};

// Supported minor versions, for messages.
inline constexpr const char* kSupportedVersions = "3.11, 3.12 and 3.13";

Result<PyRuntime> locate_python(pid_t pid, const target::Maps& maps);

}  // namespace sonde::python
