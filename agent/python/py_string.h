// A str object of the node, read as UTF-8: code object names and files,
// dict keys, thread names. Only compact strings (what the interpreter makes
// for identifiers and for str values built at run time); anything else, or
// an object that is not a str, is an error, never garbage text.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_runtime.h"

namespace sonde::python {

inline constexpr long kMaxString = 4096;  // code points

Result<std::string> read_str(const memory::RemoteMemory& mem, const PyRuntime& rt, uint64_t object);

}  // namespace sonde::python
