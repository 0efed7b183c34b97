// The names Python code gave its threads (threading.Thread.name), read from
// the node: sys.modules['threading']._active maps each thread's ident
// (threading.get_ident(), the thread state's thread_id) to its Thread, whose
// _name holds the name. A thread that threading does not know (started by C
// code) has none; so has every thread of a node that never imported
// threading. Nothing is stopped: a name read mid-change is the old or the new
// one, or missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "memory/remote_memory.h"
#include "python/py_dict.h"
#include "python/py_runtime.h"
#include "python/py_threads.h"

namespace sonde::python {

// thread_id -> name, for the threads of one interpreter.
Result<std::unordered_map<uint64_t, std::string>> read_thread_names(const memory::RemoteMemory& mem,
                                                                    const PyRuntime& rt, uint64_t interp,
                                                                    KeyHints* hints = nullptr);

// OS tid -> name for thread states (each interpreter read once). Kept across
// reads for its hints: a warm read compares key addresses (a few reads per
// dict) where a cold one reads every key of sys.modules and of each
// Thread's attributes. Names are a nicety: an interpreter whose names cannot
// be read is skipped (logged at debug level).
class ThreadNameReader {
 public:
  std::unordered_map<pid_t, std::string> read(const memory::RemoteMemory& mem, const PyRuntime& rt,
                                              const std::vector<PyThread>& threads);

 private:
  KeyHints hints_;
};

}  // namespace sonde::python
