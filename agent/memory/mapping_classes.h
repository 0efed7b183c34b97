// What each mapping of the node is for, so the report can say where the
// resident memory goes: malloc heaps, thread stacks (with their thread),
// libraries, other files, shared memory, other anonymous memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "memory/proc_memory.h"
#include "memory/thread_stacks.h"

namespace sonde::memory {

enum class MappingKind {
  heap,            // [heap]: the brk heap (glibc's main arena)
  arena_heap,      // a heap of a glibc thread arena (heap_info), from the walk
  mmapped_chunk,   // glibc chunks of mmap_threshold or more, one mapping each
  thread_stack,
  library,         // a shared object or the executable
  file,            // any other file
  shared_memory,   // MAP_SHARED anonymous, /dev/shm, SysV, memfd
  anonymous,       // other private anonymous memory (also another allocator's)
  kernel,          // [vdso], [vvar], [vsyscall]
};

const char* kind_name(MappingKind k);

// Ranges that the allocator walk knows the owner of.
struct KnownRange {
  uint64_t start = 0, end = 0;
  MappingKind kind = MappingKind::anonymous;
  int arena = -1;  // arena index for arena heaps
};

struct ClassifiedMapping {
  const SmapsEntry* entry = nullptr;
  MappingKind kind = MappingKind::anonymous;
  pid_t tid = 0;         // thread stacks: the thread (0: unknown)
  int arena = -1;
  std::string label;     // for people: "thread stack (tid 123)", the path, ...
  std::string method;    // how it was classified: "procfs", "glibc walk", "procfs sp", "guard page"
};

// `exe` is the node's executable path (as in its maps) so it counts as a
// library-like mapped program, not "other file".
std::vector<ClassifiedMapping> classify_mappings(const std::vector<SmapsEntry>& entries, pid_t pid,
                                                 const std::vector<ThreadSp>& threads,
                                                 const std::vector<KnownRange>& known,
                                                 const std::string& exe);

}  // namespace sonde::memory
