// Where the node's memory goes: one report that the heap route, the CLI and
// the JSON share. It combines what the kernel says (procfs: pmem, smaps) with
// what glibc's own structures say (the read-only arena walk), and says for
// every figure which of the two produced it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "memory/glibc_locate.h"
#include "memory/glibc_injected.h"
#include "memory/glibc_walk.h"
#include "memory/jemalloc_stats.h"
#include "memory/mapping_classes.h"
#include "memory/proc_memory.h"

namespace sonde::memory {

// The methods, as the report names them.
inline constexpr const char* kProcfs = "procfs";
inline constexpr const char* kGlibcWalk = "glibc walk";
// Figures from a call run inside the node (--allow-inject): jemalloc's
// mallctl, or glibc's mallinfo2() when libc has no debug info.
inline constexpr const char* kInjectedCall = "injected call";

struct SummaryLine {
  std::string key;      // stable JSON name: "glibc_in_use", "thread_stacks", ...
  std::string name;     // for people
  int64_t bytes = 0;
  std::string method;   // kProcfs, kGlibcWalk
  bool summed = true;   // part of the total accounted for
  std::string unit = "bytes";  // or "percent" (then `percent` holds it)
  double percent = 0;
};

struct TopMapping {
  uint64_t start = 0, end = 0;
  std::string perms;
  uint64_t size = 0, rss = 0, pss = 0, anonymous = 0, swap = 0;
  std::string kind, label, method;
  pid_t tid = 0;
  int arena = -1;
};

struct HeapReport {
  pid_t pid = 0;
  target::MemoryInfo pmem;
  SmapsRollup rollup;
  bool rollup_from_kernel = false;
  AllocatorGuess allocator;
  std::optional<GlibcHeap> glibc;   // absent: glibc_note says why
  std::string glibc_note;           // e.g. which package gives libc's debug info
  std::optional<InjectedMallinfo> glibc_injected;  // mallinfo2() run in the node (no debug info)
  std::optional<JemallocStats> jemalloc;           // mallctl run in the node
  std::string jemalloc_note;        // why there is no jemalloc figure
  std::vector<std::string> notes;   // other things the reader must know
  std::vector<SummaryLine> summary;
  int64_t total_accounted = 0;
  int64_t unaccounted = 0;          // rss - total_accounted
  std::vector<TopMapping> top;
  uint64_t mappings = 0;            // how many mappings the node has
  uint64_t mmapped_chunks_found = 0, mmapped_chunk_bytes_found = 0;
  double took_ms = 0;
};

// The injected call (target/remote_call.h): off unless the operator allows
// it (--allow-inject), since it runs code of the node on one of its threads.
struct InjectOptions {
  bool allowed = false;
  std::chrono::milliseconds timeout{1000};  // each call
};

struct HeapOptions {
  GlibcOptions glibc;
  InjectOptions inject;
  size_t top = 20;          // top mappings listed
};

// Reads everything; fails only when the node cannot be read at all (gone,
// no permission). A missing piece (no libc debug info, another allocator)
// leaves its figures out and says why in glibc_note / notes.
Result<HeapReport> build_heap_report(pid_t pid, const HeapOptions& options);

// The allocator part alone (for /api/status/debugmallocstats): the glibc
// walk, or the reason there is none.
struct MallocStatsReport {
  pid_t pid = 0;
  AllocatorGuess allocator;
  std::optional<GlibcHeap> glibc;
  std::string glibc_note;
  std::optional<InjectedMallinfo> glibc_injected;
  std::optional<JemallocStats> jemalloc;  // detailed: per arena and size class
  std::string jemalloc_note;
  std::vector<std::string> notes;
};
Result<MallocStatsReport> build_malloc_stats(pid_t pid, const GlibcOptions& options,
                                             const InjectOptions& inject = {});

}  // namespace sonde::memory
