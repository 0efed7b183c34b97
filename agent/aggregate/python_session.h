// A CPython node as the stack dumper and the profiler see it: the
// interpreter located once (python/py_runtime.h), a memory reader, and the
// code object cache that makes a warm dump cheap. Kept while the pid stays
// the same; located again when reads fail (the node restarted).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_frames.h"
#include "python/py_runtime.h"
#include "python/py_thread_names.h"
#include "target/maps.h"

namespace sonde::aggregate {

struct PythonSession {
  explicit PythonSession(python::PyRuntime r) : rt(std::move(r)), mem(rt.pid), code(mem, rt) {}
  python::PyRuntime rt;
  memory::RemoteMemory mem;
  python::CodeReader code;
  python::ThreadNameReader names;
};

// The session for `pid`: `current` when it still fits, else a new one.
// not_found: no CPython in the node (native stacks only); bad_request: a
// CPython sonde cannot read (the message says which and why).
Result<PythonSession*> python_session(std::unique_ptr<PythonSession>& current, pid_t pid, const target::Maps& maps);

}  // namespace sonde::aggregate
